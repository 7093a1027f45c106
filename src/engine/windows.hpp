#pragma once
// Windows of feature maps. An activation fault changes one element; each later 3x3 conv widens
// the change by a pixel on each side, so for many layers it covers a small window of the map.
// A stage run on that window (with a halo of golden activations around it) gives the changed
// outputs; everything else stays golden. Where a change may reach is measured per stage with
// impulses, and each window shape's result is checked bit for bit against the full stage.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace dnnfi {

// Rows [y0, y1) and columns [x0, x1) of a feature map (dims 2 and 3 of NCHW).
struct Rect {
  std::int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  std::int64_t height() const { return y1 - y0; }
  std::int64_t width() const { return x1 - x0; }
  std::int64_t area() const { return height() * width(); }
  bool operator==(const Rect& o) const { return y0 == o.y0 && y1 == o.y1 && x0 == o.x0 && x1 == o.x1; }
  bool operator!=(const Rect& o) const { return !(*this == o); }
  // The whole map of a feature-map batch.
  static Rect whole(const torch::Tensor& x) { return {0, x.size(2), 0, x.size(3)}; }
  // The smallest rect holding both.
  Rect united(const Rect& o) const;
  // This rect of a stage's output, in the output of the stage run on input window w (stride
  // sy, sx; w's origin on the stride's grid).
  Rect within(const Rect& w, std::int64_t sy, std::int64_t sx) const {
    return {y0 - w.y0 / sy, y1 - w.y0 / sy, x0 - w.x0 / sx, x1 - w.x0 / sx};
  }
  // The window of x (a view).
  torch::Tensor of(const torch::Tensor& x) const { return x.narrow(2, y0, height()).narrow(3, x0, width()); }
};

// The pixels where a and b (NCHW, one shape) differ in any image and channel; nullopt when none do.
std::optional<Rect> differing_pixels(const torch::Tensor& a, const torch::Tensor& b);

// y, a stage run on input window w (stride sy, sx), holds outputs `out` of the full stage, and
// they equal those of `full` (the full stage's output) bit for bit: a window's check.
bool window_gives(const torch::Tensor& y, const Rect& w, const Rect& out, std::int64_t sy, std::int64_t sx,
                  const torch::Tensor& full);

// Which outputs of a stage a change of one input pixel can reach, as a function of the pixel:
// measured on one image with impulses (NaN, +3e38 and -3e38 in every channel of one pixel)
// at pixels of every residue of the stride, near the middle of the map, assuming the stage
// treats every place alike up to its stride (convolutions, norms, pointwise activations,
// residual sums and strided shortcuts do; the window check catches the numerics, not this).
class Footprint {
 public:
  using StageFn = std::function<torch::Tensor(const torch::Tensor&)>;
  // nullopt when the output is not a feature map on a grid of the input's (a pool, a linear
  // layer), or an impulse reached no output.
  static std::optional<Footprint> measure(const StageFn& stage, const torch::Tensor& image);
  // The outputs a change inside `in` may reach.
  Rect affected(const Rect& in) const;
  // The inputs those outputs read, widened so that the window starts on the stride's grid: a
  // stage run on it gives output j of the window as output j + origin / stride of the map.
  Rect needed(const Rect& out) const;
  std::int64_t stride_y() const { return y_.stride; }
  std::int64_t stride_x() const { return x_.stride; }

 private:
  struct Axis {
    std::int64_t in = 0, out = 0, stride = 1;
    std::vector<std::int64_t> ref, lo, hi;  // per residue of the stride: a probed pixel, its output range
    std::int64_t first(std::int64_t p) const;
    std::int64_t last(std::int64_t p) const;
  };
  Axis y_, x_;
};

}  // namespace dnnfi
