#include "fault_job.hpp"

#include <tuple>

#include "activation_runs.hpp"
#include "dnnfi/errors.hpp"
#include "weight_runs.hpp"

namespace dnnfi {

std::unique_ptr<FaultJob> make_fault_job(FaultTarget target, Propagation& propagation) {
  switch (target) {
    case FaultTarget::kWeights:
      return std::make_unique<WeightRuns>(propagation);
    case FaultTarget::kActivations:
      return std::make_unique<ActivationRuns>(propagation);
  }
  throw Error(ExitCode::kFailure, "no job runs faults of target " + std::string(to_string(target)));
}

ShortcutTally tally(const Propagation& propagation, const FaultJob& job) {
  ShortcutTally t;
  t.early_exits = propagation.early_exits();
  std::tie(t.windows_checked, t.windows_passed) = propagation.windows_checked();
  job.tally(t);
  return t;
}

}  // namespace dnnfi
