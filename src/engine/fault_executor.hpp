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
//  - stacked (stack > 1): the faulty outputs of up to `stack` faults of one run go through the
//    rest of the network as one batch, slice i holding fault i's batch; a slice bit-identical
//    to golden at a cached stage boundary leaves the stack there. A stack size is used once it
//    is verified to give every slice the bits that slice gets alone (else slices run one by one).
// With the same batching and kernels every step sees bit-for-bit the input it would see in a
// full run, so results equal the naive engine's.
#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

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

  // Faults of one run whose faulty activations may share one batch (1: none).
  void set_stack(std::size_t stack) { stack_ = std::max<std::size_t>(stack, 1); }
  std::size_t stack() const { return stack_; }
  // The fault changes its weight's bits as the layer's arithmetic sees them (TF32 emulated:
  // rounded); one that does not is masked on every image without running anything.
  bool changes_weight(const Fault& fault) const;
  // Faults of this layer can share one conv for their channels (one run).
  bool shares_runs(const std::string& layer) const { return plan_.site_of(layer).splice; }
  // Adds the counts of faults[0..n) of one layer (one fault unless they share runs) over the
  // held chunk to counts[0..n).
  void evaluate(const Fault* faults, std::size_t n, Counts* counts);

  double executed_macs() const { return executed_macs_; }
  std::int64_t early_exits() const { return early_exits_; }

 private:
  // The faulty value differs from the original as the layer's arithmetic sees them.
  bool differs(const std::string& layer, float original, float faulty) const;
  void evaluate_whole_stage(const Fault& fault, const FaultSite& site, Counts* counts);
  void evaluate_spliced(const Fault* faults, const std::vector<std::size_t>& live,
                        const std::vector<float>& faulty, const FaultSite& site, Counts* counts);
  std::vector<torch::Tensor> finish_residual(const FaultSite& site, torch::Tensor y, const BatchCache& c,
                                             std::int64_t length, std::size_t k);
  std::vector<torch::Tensor> propagate(torch::Tensor x, std::size_t next, const BatchCache& c,
                                       std::int64_t length, std::size_t k);
  torch::Tensor run_stacked(Step& step, const torch::Tensor& x, std::size_t k, std::int64_t length,
                            const BatchCache& c);
  bool stack_verified(std::size_t k, std::int64_t length, const BatchCache& c);

  Model& model_;
  StagePlan& plan_;
  GoldenCache& cache_;
  std::int64_t batch_;
  NonFiniteRule rule_;
  std::size_t stack_ = 1;
  std::unordered_map<std::int64_t, bool> stack_verified_;  // by stacked images
  double executed_macs_ = 0;
  std::int64_t early_exits_ = 0;
};

}  // namespace dnnfi
