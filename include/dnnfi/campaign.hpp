#pragma once
// The campaign loop: resume from the results file, run what is left, append each row.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "dnnfi/engine.hpp"
#include "dnnfi/results.hpp"

namespace dnnfi {

struct CampaignSummary {
  std::size_t faults = 0;   // in this campaign (after sharding and sampling)
  std::size_t resumed = 0;  // rows found in the results file
  std::size_t ran = 0;      // rows computed now
  Counts totals;            // over every row of the campaign present in the file
  double seconds = 0;       // spent running faults now
  double macs = 0;          // conv/linear multiply-accumulates spent now (0: unknown)
  std::int64_t images = 0;  // per fault
  bool complete() const { return resumed + ran == faults; }
};

// Told how a campaign advances; the CLI draws its progress bar from it. Called on the
// thread that runs the campaign.
class CampaignObserver {
 public:
  virtual ~CampaignObserver() = default;
  // Before the first fault runs: the campaign's size and the rows already in the file.
  virtual void started(std::size_t faults, std::size_t resumed) = 0;
  // After each new row: rows done so far (resumed included) and the totals over them.
  virtual void advanced(std::size_t done, const Counts& totals) = 0;
  virtual void finished() = 0;
};

struct LoopOptions {
  std::filesystem::path output;             // results file, resumed when it exists
  std::int64_t images = 0;                  // images per fault, checked against resumed rows
  CampaignObserver* observer = nullptr;     // Default: none
  const std::atomic<bool>* stop = nullptr;  // set asynchronously to stop after the current fault
};

// Runs every fault of `faults` that the results file does not hold yet on `engine`, appending
// each row as it is reported. Resumed rows must match the list (same fault, model and image
// count), or an InputError names the row and the file is left untouched.
CampaignSummary run_fault_loop(const std::vector<Fault>& faults, Engine& engine, const LoopOptions& options);

}  // namespace dnnfi
