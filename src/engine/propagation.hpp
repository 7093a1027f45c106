#pragma once
// What every job of the staged engine shares: faulty activations carried from where a fault
// restarts (its layer's output, the rest of its residual block) through the stages after it to
// the logits, over the chunk the golden cache holds, and counted against golden.
//  - a batch whose output at a later cached stage boundary is bit-identical to golden is masked
//    as a whole and stops there (an early exit);
//  - stacked (stack > 1): the faulty outputs of up to `stack` faults go through the rest of the
//    network as one batch, slice i holding fault i's batch; a slice bit-identical to golden at a
//    cached stage boundary leaves the stack there;
//  - windows: while a change covers part of a feature map, a later stage runs on the window of
//    its input that the changed outputs read.
// With the same batching and kernels every step sees bit-for-bit the input it would see in a
// full run, so results equal the naive engine's. Checked before first use (shortcuts.hpp):
//  - the stack, per stack size and batch length: every step a stack runs must give each slice
//    the bits it gets alone; where it does not, slices run one by one (one log line);
//  - restarts and early exits: GoldenCache::check_restarts, before the campaign;
//  - windows, per stage, window shape and batch length: the window's outputs must equal those
//    outputs of the full stage on golden activations; where they do not, whole maps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/model.hpp"
#include "dnnfi/outcome.hpp"
#include "golden_cache.hpp"
#include "shortcuts.hpp"
#include "stage_plan.hpp"
#include "windows.hpp"

namespace dnnfi {

// k copies of a batch, one after the other, in its memory format: a stack's golden slices.
torch::Tensor stack_copies(const torch::Tensor& x, std::size_t k);

class Propagation {
 public:
  Propagation(Model& model, StagePlan& plan, GoldenCache& cache, std::int64_t batch, NonFiniteRule rule,
              bool per_image)
      : model_(model), plan_(plan), cache_(cache), batch_(batch), rule_(rule), per_image_(per_image) {}

  Model& model() const { return model_; }
  StagePlan& plan() const { return plan_; }
  GoldenCache& cache() const { return cache_; }
  std::int64_t batch() const { return batch_; }
  NonFiniteRule rule() const { return rule_; }

  // Faults whose faulty activations may share one batch (1: none).
  void set_stack(std::size_t stack) { stack_ = std::max<std::size_t>(stack, 1); }
  std::size_t stack() const { return stack_; }

  // Stages [from, to) on x.
  torch::Tensor run_stages(std::size_t from, std::size_t to, torch::Tensor x);
  // The rest of residual stage site.stage after its main child site.child produced `y` (k slices
  // of `length` images): the stage's output.
  torch::Tensor finish_block(const FaultSite& site, torch::Tensor y, const BatchCache& c, std::int64_t length,
                             std::size_t k);
  // finish_block, then the stages after it.
  std::vector<torch::Tensor> finish_residual(const FaultSite& site, torch::Tensor y, const BatchCache& c,
                                             std::int64_t length, std::size_t k);
  // Faulty logits of each of the k slices of `x` (`length` images each), the input of stage
  // `next`; a slice's are undefined when a later cached stage input is bit-identical to golden
  // (its batch is masked as a whole), and it leaves the stack there.
  std::vector<torch::Tensor> propagate(torch::Tensor x, std::size_t next, const BatchCache& c,
                                       std::int64_t length, std::size_t k);
  // A fault the model applies itself (ScopedFault: to its weight, or to its layer's output) reruns
  // its whole stage from its cached input (or the nearest cached one before it, for a parameter
  // outside the layer table).
  void evaluate_whole_stage(const Fault& fault, const FaultSite& site, Counts* counts);

  // A window of stage s's input whose outputs `out` are all a change inside its input's `changed`
  // part reaches.
  struct StageWindow {
    Rect in, out;
    std::int64_t stride_y = 1, stride_x = 1;
  };
  // nullopt where stage s has no footprint, no window is smaller than the map, or the window
  // fails its check on `sample`'s shapes.
  std::optional<StageWindow> window(std::size_t s, const Rect& changed, const BatchCache& sample);
  // Stage s on `input`, window w.in of its input (`length` images): its outputs w.out.
  torch::Tensor run_window(std::size_t s, const StageWindow& w, const torch::Tensor& input,
                           const BatchCache& sample, std::int64_t length);

  // One fault's sums over the held chunk (its critical images too, when they are asked for).
  CountSums chunk_sums() const { return CountSums(per_image_, cache_.chunk_start(cache_.loaded())); }
  // Adds the counts of the batch at `offset` of the chunk: its logits against golden; undefined
  // logits: the batch left early, masked as a whole.
  void count(CountSums& sums, const torch::Tensor& golden, const torch::Tensor& logits,
             std::int64_t offset) const {
    sums.add(golden, logits.defined() ? logits : golden, rule_, offset);
  }
  // A batch equal to golden before the logits: masked, and counted as an early exit.
  void masked_early(CountSums& sums, const torch::Tensor& golden, std::int64_t offset) {
    ++early_exits_;
    sums.add(golden, golden, rule_, offset);
  }
  void early_exit() { ++early_exits_; }
  void add_macs(double macs) { executed_macs_ += macs; }

  double executed_macs() const { return executed_macs_; }
  std::int64_t early_exits() const { return early_exits_; }
  // Stage window shapes checked, and how many passed.
  std::pair<std::size_t, std::size_t> windows_checked() const {
    return {window_checks_.size(), window_checks_.count(true)};
  }

 private:
  using StepFn = std::function<torch::Tensor(const torch::Tensor&)>;
  torch::Tensor run_stacked(const StepFn& step, const torch::Tensor& x, std::size_t k, std::int64_t length,
                            const BatchCache& c);
  bool stack_verified(std::size_t k, std::int64_t length, const BatchCache& c);
  // How far a change of stage s's input reaches, where windows may be used there: stage s and
  // the next have cached inputs and feature maps. Measured once.
  const Footprint* footprint(std::size_t s);
  // Stage s on window `w` of its input gives outputs `out` of the full stage bit for bit, on
  // this batch's shapes.
  bool window_verified(std::size_t s, const Rect& w, const Rect& out, const BatchCache& c);

  Model& model_;
  StagePlan& plan_;
  GoldenCache& cache_;
  std::int64_t batch_;
  NonFiniteRule rule_;
  bool per_image_;
  std::size_t stack_ = 1;
  CheckedOnce<std::pair<std::size_t, std::int64_t>> stack_checks_;  // by faults, images per slice
  CheckedOnce<std::size_t, std::optional<Footprint>> footprints_;   // by stage
  CheckedOnce<std::tuple<std::size_t, std::int64_t, std::int64_t, std::int64_t>>
      window_checks_;  // by stage, window shape, images
  double executed_macs_ = 0;
  std::int64_t early_exits_ = 0;
};

}  // namespace dnnfi
