#pragma once
// Activation faults: one fault at a time over the chunk the golden cache holds, restarting from
// its layer's cached golden output with one element changed in every image.
//  - each image is compared with golden at the first cached stage after the fault and masked
//    there on its own (a ReLU drops many changes);
//  - the rest are gathered across batches into batches of the length they came from, as far as
//    an image's activations do not depend on its place in the batch. Checked per stage and
//    batch length on golden activations in reverse order: images are gathered up to the first
//    stage that fails (a matmul's last rows), then go back to their places;
//  - while the change covers part of a feature map, the rest of the faulty block runs on the
//    window of its input that the changed outputs read (later stages: Propagation::window).
//    Checked per block, window shape and batch length: the window's outputs must equal those of
//    the full block on golden activations; where they do not, whole maps.
// A fault of a layer whose output is not spliced (a linear layer) reruns its whole stage with
// the model's injector.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "fault_job.hpp"

namespace dnnfi {

class ActivationRuns final : public FaultJob {
 public:
  explicit ActivationRuns(Propagation& propagation)
      : propagation_(propagation),
        plan_(propagation.plan()),
        cache_(propagation.cache()),
        batch_(propagation.batch()),
        rule_(propagation.rule()) {}

  // An activation fault's effect depends on the images: only running them tells.
  bool needs_inference(const Fault&) const override { return true; }
  bool shares_runs(const std::string&) const override { return false; }
  void evaluate(const Fault* faults, std::size_t n, Counts* counts) override;
  void tally(ShortcutTally& tally) const override;

 private:
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
  void evaluate_activation(const Fault& fault, const FaultSite& site, Counts* counts);
  void run_gathered(Gathered& g, std::size_t from, std::int64_t length, bool last,
                    std::vector<GoneBack>& back, CountSums& sums);
  // The stage up to which an image's activations from stage `from` on do not depend on its place
  // in a batch of `length`.
  std::size_t gathered_until(std::size_t from, std::int64_t length, const BatchCache& c);
  // Golden input of stage s in window w for images of the chunk, in the stage's memory format.
  torch::Tensor golden_window(std::size_t s, const std::vector<std::int64_t>& images, const Rect& w);
  torch::Tensor rest_of_block(const FaultSite& site, torch::Tensor y, const torch::Tensor& shortcut,
                              std::int64_t oy, std::int64_t ox);
  std::optional<Rect> rest_window(const FaultSite& site, const Fault& fault, const BatchCache& c,
                                  torch::Tensor* x);

  Propagation& propagation_;
  StagePlan& plan_;
  GoldenCache& cache_;
  std::int64_t batch_;
  NonFiniteRule rule_;
  CheckedOnce<std::pair<std::size_t, std::int64_t>, std::size_t> gathered_until_;  // by stage, images
  CheckedOnce<std::pair<std::size_t, std::size_t>, std::optional<Footprint>>
      rest_footprints_;  // by stage, child
  // By stage, child, window shape, images.
  CheckedOnce<std::tuple<std::size_t, std::size_t, std::int64_t, std::int64_t, std::int64_t>> rest_checks_;
  std::int64_t images_masked_early_ = 0;
};

}  // namespace dnnfi
