#pragma once
// Which job runs a campaign's faults: one per fault target, each over the shared propagation.
// make_fault_job is the one place that chooses by target; a new target is a new FaultJob and a
// case there.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "dnnfi/fault.hpp"
#include "dnnfi/outcome.hpp"
#include "dnnfi/word_format.hpp"
#include "propagation.hpp"

namespace dnnfi {

// What the shortcuts did over a campaign, for the engine's closing log lines.
struct ShortcutTally {
  std::int64_t early_exits = 0;          // batches (stack slices) that left early, equal to golden
  std::int64_t images_masked_early = 0;  // images of activation faults found equal to golden alone
  std::size_t windows_checked = 0, windows_passed = 0;  // window shapes, per stage and batch length
  std::set<std::string> full_conv_layers;               // layers whose splice failed its check
};

class FaultJob {
 public:
  virtual ~FaultJob() = default;
  // False for a fault that changes nothing the network computes with: masked on every image
  // without running anything.
  virtual bool needs_inference(const Fault& fault) const = 0;
  // Faults of this layer can share one run.
  virtual bool shares_runs(const std::string& layer) const = 0;
  // Adds the counts of faults[0..n) of one layer (one fault unless they share runs) over the
  // held chunk to counts[0..n).
  virtual void evaluate(const Fault* faults, std::size_t n, Counts* counts) = 0;
  // Adds what the job's own shortcuts did.
  virtual void tally(ShortcutTally& tally) const = 0;
};

std::unique_ptr<FaultJob> make_fault_job(FaultTarget target, Propagation& propagation);

// The propagation's part of the tally, and the job's.
ShortcutTally tally(const Propagation& propagation, const FaultJob& job);

}  // namespace dnnfi
