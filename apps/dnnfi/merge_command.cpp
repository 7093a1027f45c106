// `dnnfi merge`: the parts of one campaign into one results file.
#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "dnnfi/commands.hpp"

namespace dnnfi::cli {

void setup_merge(CLI::App& app) {
  auto options = std::make_shared<MergeOptions>();
  auto* cmd = app.add_subcommand("merge", "the shards of one campaign into one results file, in list order");
  cmd->add_option("-o,--output", options->output, "merged results CSV")->required();
  cmd->add_option("results", options->inputs, "shard results files (each with its .json provenance)")
      ->required();
  cmd->add_flag("--allow-partial", options->allow_partial, "write what is there when faults are missing");
  cmd->callback([options] {
    const auto summary = merge_results(*options);
    fmt::print("merged: {} of {} faults from {} file(s) into {}\n", summary.rows, summary.faults,
               options->inputs.size(), options->output.string());
    if (!summary.missing.empty())
      fmt::print("  {} faults missing (--allow-partial): a run with the same options and -o {} runs them\n",
                 summary.missing.size(), options->output.string());
  });
}

}  // namespace dnnfi::cli
