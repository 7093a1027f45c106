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
//    to golden at a cached stage boundary leaves the stack there.
// With the same batching and kernels every step sees bit-for-bit the input it would see in a
// full run, so results equal the naive engine's. Whether the kernels are the same is a property
// of the device, so each shortcut is checked before its first use, on the batch at hand (full
// and last partial batches have their own shapes), against the computation without it:
//  - the splice, per layer, number of channels and batch length: the few-channel conv must give
//    those channels of the golden conv output bit for bit; where it does not, the layer's faults
//    run the full conv, as golden did, and take its whole output (one log line);
//  - the stack, per stack size and batch length: every step a stack runs must give each slice
//    the bits it gets alone; where it does not, slices run one by one (one log line);
//  - restarts and early exits: GoldenCache::check_restarts, before the campaign;
//  - gathering (activation faults): a fault's images that still differ from golden at the first
//    cached stage after the fault are gathered across batches into batches of the length they
//    came from, so an image's activations must not depend on its place in the batch. Checked
//    per stage and batch length on golden activations in reverse order: images are gathered up
//    to the first stage that fails (a matmul's last rows), then go back to their places;
//  - windows (activation faults): while the change covers part of a feature map, a stage (or
//    the rest of the faulty block) runs on the window of its input that the changed outputs
//    read. Checked per stage, window shape and batch length: the window's outputs must equal
//    those outputs of the full stage on golden activations; where they do not, whole maps.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
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
  bool shares_runs(const std::string& layer) const {
    return model_.space().target == FaultTarget::kWeights && plan_.site_of(layer).splice;
  }
  // Adds the counts of faults[0..n) of one layer (one fault unless they share runs) over the
  // held chunk to counts[0..n).
  void evaluate(const Fault* faults, std::size_t n, Counts* counts);

  double executed_macs() const { return executed_macs_; }
  std::int64_t early_exits() const { return early_exits_; }
  // Images of activation faults found equal to golden on their own, their batch going on.
  std::int64_t images_masked_early() const { return images_masked_early_; }
  // Window shapes checked (per stage or block rest and batch length), and how many passed.
  std::pair<std::size_t, std::size_t> windows_checked() const {
    return {window_checks_.size(), window_checks_.count(true)};
  }
  // Layers whose splice failed its check: their faults run the full conv.
  const std::set<std::string>& full_conv_layers() const { return full_conv_layers_; }

 private:
  using StepFn = std::function<torch::Tensor(const torch::Tensor&)>;
  // The faulty value differs from the original as the layer's arithmetic sees them.
  bool differs(const std::string& layer, float original, float faulty) const;
  void evaluate_whole_stage(const Fault& fault, const FaultSite& site, Counts* counts);
  void evaluate_activation(const Fault& fault, const FaultSite& site, Counts* counts);
  void evaluate_spliced(const Fault* faults, const std::vector<std::size_t>& live,
                        const std::vector<float>& faulty, const FaultSite& site, Counts* counts);
  // Images of one fault that still differ from golden at a stage: their feature maps there in
  // `rect` (golden outside it).
  struct Part {
    std::vector<std::int64_t> image;  // places in the chunk
    torch::Tensor patch;
    Rect rect;
  };
  // Parts from batches of one length, to go on together in batches of that length as far as `until`.
  struct Gathered {
    std::size_t until = 0;
    const BatchCache* sample = nullptr;  // a batch of that length, for checks
    std::deque<Part> parts;
    std::int64_t rows = 0;
  };
  // One batch's images gone back to it at `stage` among golden activations (`rows`).
  struct GoneBack {
    torch::Tensor input, rows;
    std::size_t stage = 0;
  };
  void run_gathered(Gathered& g, std::size_t from, std::int64_t length, bool last,
                    std::vector<GoneBack>& back, CountSums& sums);
  torch::Tensor run_stages(std::size_t from, std::size_t to, torch::Tensor x);
  std::size_t gathered_until(std::size_t from, std::int64_t length, const BatchCache& c);
  // Golden input of stage s in window w for images of the chunk, in the stage's memory format.
  torch::Tensor golden_window(std::size_t s, const std::vector<std::int64_t>& images, const Rect& w);
  // How far a change of stage s's input reaches, where windows may be used there: stage s and
  // the next have cached inputs and feature maps. Measured once.
  const Footprint* footprint(std::size_t s);
  // Stage s on window `w` of its input gives outputs `out` of the full stage bit for bit, on
  // this batch's shapes; checked once per stage, window shape and batch length.
  bool window_verified(std::size_t s, const Rect& w, const Rect& out, const BatchCache& c);
  torch::Tensor rest_of_block(const FaultSite& site, torch::Tensor y, const torch::Tensor& shortcut,
                              std::int64_t oy, std::int64_t ox);
  std::optional<Rect> rest_window(const FaultSite& site, const Fault& fault, const BatchCache& c,
                                  torch::Tensor* x);
  torch::Tensor finish_block(const FaultSite& site, torch::Tensor y, const BatchCache& c, std::int64_t length,
                             std::size_t k);
  std::vector<torch::Tensor> finish_residual(const FaultSite& site, torch::Tensor y, const BatchCache& c,
                                             std::int64_t length, std::size_t k);
  std::vector<torch::Tensor> propagate(torch::Tensor x, std::size_t next, const BatchCache& c,
                                       std::int64_t length, std::size_t k);
  torch::Tensor run_stacked(const StepFn& step, const torch::Tensor& x, std::size_t k, std::int64_t length,
                            const BatchCache& c);
  bool stack_verified(std::size_t k, std::int64_t length, const BatchCache& c);
  // The few-channel conv of a splice (perturbed in tests).
  torch::Tensor splice_conv(const std::string& layer, const torch::Tensor& input,
                            const torch::Tensor& rows_weight, const torch::Tensor& bias);
  bool splice_verified(const std::string& layer, const torch::Tensor& input, const torch::Tensor& golden_out,
                       const std::vector<std::int64_t>& rows, const torch::Tensor& bias);

  Model& model_;
  StagePlan& plan_;
  GoldenCache& cache_;
  std::int64_t batch_;
  NonFiniteRule rule_;
  std::size_t stack_ = 1;
  CheckedOnce<std::pair<std::size_t, std::int64_t>> stack_checks_;  // by faults, images per slice
  CheckedOnce<std::tuple<std::string, std::size_t, std::int64_t>> splice_checks_;  // layer, channels, images
  std::set<std::string> full_conv_layers_;  // splices that failed: spliced no more
  CheckedOnce<std::pair<std::size_t, std::int64_t>, std::size_t> gathered_until_;  // by stage, images
  CheckedOnce<std::size_t, std::optional<Footprint>> footprints_;                  // by stage
  CheckedOnce<std::pair<std::size_t, std::size_t>, std::optional<Footprint>>
      rest_footprints_;  // by stage, child
  // By stage, part (0: the stage; j + 1: its rest after main child j), window shape, images.
  CheckedOnce<std::tuple<std::size_t, std::size_t, std::int64_t, std::int64_t, std::int64_t>> window_checks_;
  double executed_macs_ = 0;
  std::int64_t early_exits_ = 0;
  std::int64_t images_masked_early_ = 0;
};

}  // namespace dnnfi
