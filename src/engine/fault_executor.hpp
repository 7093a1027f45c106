#pragma once
// The per-fault executor of the staged engine: computes a run of faults of one layer over the
// chunk the golden cache holds, restarting each from its layer.
//  - a conv weight fault changes one output channel, so that channel alone is recomputed on the
//    cached golden input (a conv with a few output channels gives bit-for-bit those channels of
//    the full conv) and spliced into the cached golden conv output; faults of one run share
//    that conv, one weight row each;
//  - a fault that leaves its weight's bits unchanged (stuck-at a bit already at that value) is
//    masked on every image without running anything;
//  - a batch whose faulty channel, or whose output at a later cached stage boundary, is
//    bit-identical to golden is masked as a whole and stops there.
// With the same batching and kernels every step sees bit-for-bit the input it would see in a
// full run, so results equal the naive engine's.
#include <cstdint>

#include "dnnfi/fault.hpp"
#include "dnnfi/model.hpp"
#include "dnnfi/outcome.hpp"
#include "golden_cache.hpp"
#include "stage_plan.hpp"

namespace dnnfi {

class FaultExecutor {
 public:
  FaultExecutor(Model& model, StagePlan& plan, GoldenCache& cache, std::int64_t batch, NonFiniteRule rule)
      : model_(model), plan_(plan), cache_(cache), batch_(batch), rule_(rule) {}

  // Faults of this layer can share one conv for their channels (one run).
  bool shares_runs(const std::string& layer) const { return plan_.site_of(layer).splice; }
  // Adds the counts of faults[0..n) of one layer (one fault unless they share runs) over the
  // held chunk to counts[0..n).
  void evaluate(const Fault* faults, std::size_t n, Counts* counts);

  double executed_macs() const { return executed_macs_; }
  std::int64_t early_exits() const { return early_exits_; }

 private:
  void evaluate_whole_stage(const Fault& fault, const FaultSite& site, Counts* counts);
  void evaluate_spliced(const Fault* faults, const std::vector<std::size_t>& live,
                        const std::vector<float>& faulty, const FaultSite& site, Counts* counts);
  torch::Tensor finish_residual(const FaultSite& site, torch::Tensor y, const BatchCache& c,
                                std::int64_t length);
  torch::Tensor propagate(torch::Tensor x, std::size_t next, const BatchCache& c, std::int64_t length);

  Model& model_;
  StagePlan& plan_;
  GoldenCache& cache_;
  std::int64_t batch_;
  NonFiniteRule rule_;
  double executed_macs_ = 0;
  std::int64_t early_exits_ = 0;
};

}  // namespace dnnfi
