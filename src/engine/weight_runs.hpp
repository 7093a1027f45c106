#pragma once
// Weight faults: a run of faults of one layer over the chunk the golden cache holds.
//  - a conv weight fault changes one output channel, so that channel alone is recomputed on the
//    cached golden input (a conv with a few output channels gives bit-for-bit those channels of
//    the full conv) and spliced into the cached golden conv output; faults of one run share
//    that conv, one weight row each;
//  - a fault that leaves its weight's bits unchanged (stuck-at a bit already at that value) is
//    masked on every image without running anything;
//  - a batch whose faulty channel is bit-identical to golden is masked as a whole there.
// The splice is checked before use, per layer, number of channels and batch length: the
// few-channel conv must give those channels of the golden conv output bit for bit; where it
// does not, the layer's faults run the full conv, as golden did, and take its whole output (one
// log line). Other weights (no splice) rerun their whole stage.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "fault_job.hpp"

namespace dnnfi {

class WeightRuns final : public FaultJob {
 public:
  explicit WeightRuns(Propagation& propagation)
      : propagation_(propagation),
        model_(propagation.model()),
        plan_(propagation.plan()),
        cache_(propagation.cache()),
        batch_(propagation.batch()),
        rule_(propagation.rule()) {}

  // The fault changes its weight's bits as the layer's arithmetic sees them (TF32 emulated:
  // rounded).
  bool needs_inference(const Fault& fault) const override;
  bool shares_runs(const std::string& layer) const override { return plan_.site_of(layer).splice; }
  void evaluate(const Fault* faults, std::size_t n, Counts* counts) override;
  void tally(ShortcutTally& tally) const override { tally.full_conv_layers = full_conv_layers_; }

 private:
  // The faulty value differs from the original as the layer's arithmetic sees them.
  bool differs(const std::string& layer, float original, float faulty) const;
  void evaluate_spliced(const Fault* faults, const std::vector<std::size_t>& live,
                        const std::vector<float>& faulty, const FaultSite& site, Counts* counts);
  // The few-channel conv of a splice (perturbed in tests).
  torch::Tensor splice_conv(const std::string& layer, const torch::Tensor& input,
                            const torch::Tensor& rows_weight, const torch::Tensor& bias);
  bool splice_verified(const std::string& layer, const torch::Tensor& input, const torch::Tensor& golden_out,
                       const std::vector<std::int64_t>& rows, const torch::Tensor& bias);

  Propagation& propagation_;
  Model& model_;
  StagePlan& plan_;
  GoldenCache& cache_;
  std::int64_t batch_;
  NonFiniteRule rule_;
  CheckedOnce<std::tuple<std::string, std::size_t, std::int64_t>> splice_checks_;  // layer, channels, images
  std::set<std::string> full_conv_layers_;  // splices that failed: spliced no more
};

}  // namespace dnnfi
