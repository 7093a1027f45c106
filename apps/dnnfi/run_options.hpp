#pragma once
// The options of a campaign, shared by `run` and `slurm` (which runs them as array tasks): parsed
// into one CampaignRequest.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "dnnfi/commands.hpp"

namespace dnnfi::cli {

struct RunOptions {
  CampaignRequest request;
  std::string fault_model, shard;
  std::string non_finite{to_string(kDefaultNonFiniteRule)};
  std::string replay;
  IterativeOptions iterative;
  std::string engine{to_string(CampaignOptions{}.engine)};
  std::string memory;
  std::string faults_file, output;
  bool quiet = false;
  CLI::Option* margin = nullptr;
  CLI::Option* threads = nullptr;
};

void add_run_options(CLI::App* cmd, const std::shared_ptr<RunOptions>& opts);
// The parsed options as the library takes them.
CampaignRequest campaign_request(const RunOptions& opts);

}  // namespace dnnfi::cli
