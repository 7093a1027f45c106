#include "windows.hpp"

#include <algorithm>
#include <limits>

#include "batches.hpp"

namespace dnnfi {
namespace {

// First and last index of the true entries of a 1-d bool tensor; nullopt when none.
std::optional<std::pair<std::int64_t, std::int64_t>> true_range(const torch::Tensor& flags) {
  const auto where = flags.nonzero().flatten().to(torch::kCPU);
  if (where.numel() == 0) return std::nullopt;
  return std::make_pair(where[0].item<std::int64_t>(), where[-1].item<std::int64_t>());
}

}  // namespace

Rect Rect::united(const Rect& o) const {
  return {std::min(y0, o.y0), std::max(y1, o.y1), std::min(x0, o.x0), std::max(x1, o.x1)};
}

std::optional<Rect> differing_pixels(const torch::Tensor& a, const torch::Tensor& b) {
  const auto pixels = a.view(torch::kInt32).ne(b.view(torch::kInt32)).any(0).any(0);  // [H, W]
  const auto rows = true_range(pixels.any(1));
  if (!rows) return std::nullopt;
  const auto cols = true_range(pixels.any(0));
  return Rect{rows->first, rows->second + 1, cols->first, cols->second + 1};
}

bool window_gives(const torch::Tensor& y, const Rect& w, const Rect& out, std::int64_t sy, std::int64_t sx,
                  const torch::Tensor& full) {
  const auto in_y = out.within(w, sy, sx);
  return y.defined() && y.dim() == 4 && in_y.y0 >= 0 && in_y.x0 >= 0 && in_y.y1 <= y.size(2) &&
         in_y.x1 <= y.size(3) && bit_equal(in_y.of(y), out.of(full));
}

std::int64_t Footprint::Axis::first(std::int64_t p) const {
  const auto r = static_cast<std::size_t>(p % stride);
  return lo[r] + (p - ref[r]) / stride;
}

std::int64_t Footprint::Axis::last(std::int64_t p) const {
  const auto r = static_cast<std::size_t>(p % stride);
  return hi[r] + (p - ref[r]) / stride;
}

std::optional<Footprint> Footprint::measure(const StageFn& stage, const torch::Tensor& image) {
  if (image.dim() != 4 || image.size(0) != 1) return std::nullopt;
  const auto base = stage(image);
  if (base.dim() != 4 || base.size(0) != 1 || base.size(2) == 0 || base.size(3) == 0) return std::nullopt;
  Footprint f;
  f.y_ = {image.size(2), base.size(2), image.size(2) / base.size(2), {}, {}, {}};
  f.x_ = {image.size(3), base.size(3), image.size(3) / base.size(3), {}, {}, {}};
  for (auto* axis : {&f.y_, &f.x_}) {
    if (axis->stride < 1 || axis->in != axis->stride * axis->out) return std::nullopt;
    axis->ref.assign(static_cast<std::size_t>(axis->stride), -1);
    axis->lo = axis->hi = axis->ref;
  }
  const auto residues = std::max(f.y_.stride, f.x_.stride);
  for (std::int64_t k = 0; k < residues; ++k) {
    const std::int64_t py = std::min(f.y_.in / 2 + k, f.y_.in - 1),
                       px = std::min(f.x_.in / 2 + k, f.x_.in - 1);
    std::optional<Rect> reach;
    for (const float value : {std::numeric_limits<float>::quiet_NaN(), 3e38F, -3e38F}) {
      auto probe = image.clone();
      probe.narrow(2, py, 1).narrow(3, px, 1).fill_(value);
      const auto out = stage(probe);
      if (out.sizes() != base.sizes()) return std::nullopt;
      if (const auto r = differing_pixels(out, base)) reach = reach ? reach->united(*r) : *r;
    }
    if (!reach) return std::nullopt;
    const auto ry = static_cast<std::size_t>(py % f.y_.stride),
               rx = static_cast<std::size_t>(px % f.x_.stride);
    f.y_.ref[ry] = py, f.y_.lo[ry] = reach->y0, f.y_.hi[ry] = reach->y1 - 1;
    f.x_.ref[rx] = px, f.x_.lo[rx] = reach->x0, f.x_.hi[rx] = reach->x1 - 1;
  }
  for (const auto* axis : {&f.y_, &f.x_})
    if (std::find(axis->ref.begin(), axis->ref.end(), -1) != axis->ref.end()) return std::nullopt;
  return f;
}

Rect Footprint::affected(const Rect& in) const {
  const auto along = [](const Axis& a, std::int64_t p0, std::int64_t p1) {
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    for (std::int64_t p = p0; p < p1; ++p) lo = std::min(lo, a.first(p)), hi = std::max(hi, a.last(p));
    return std::make_pair(std::max<std::int64_t>(lo, 0), std::min(hi + 1, a.out));
  };
  const auto [y0, y1] = along(y_, in.y0, in.y1);
  const auto [x0, x1] = along(x_, in.x0, in.x1);
  return {y0, std::max(y0, y1), x0, std::max(x0, x1)};
}

Rect Footprint::needed(const Rect& out) const {
  const auto along = [](const Axis& a, std::int64_t o0, std::int64_t o1) {
    std::int64_t lo = a.in, hi = -1;
    for (std::int64_t p = 0; p < a.in; ++p)
      if (a.last(p) >= o0 && a.first(p) < o1) lo = std::min(lo, p), hi = std::max(hi, p);
    if (hi < lo) return std::make_pair<std::int64_t, std::int64_t>(0, 0);
    return std::make_pair(lo - lo % a.stride, hi + 1);
  };
  const auto [y0, y1] = along(y_, out.y0, out.y1);
  const auto [x0, x1] = along(x_, out.x0, out.x1);
  return {y0, y1, x0, x1};
}

}  // namespace dnnfi
