// Windows of feature maps: where a changed pixel reaches through a stage, measured with impulses,
// and the input window a stage needs for given outputs, checked against convolutions whose reach
// follows from their kernel, stride and padding, and against running the stage on the window.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "engine/windows.hpp"

using namespace dnnfi;

namespace {

torch::Tensor random_image(std::int64_t channels, std::int64_t side) {
  torch::manual_seed(3);
  return torch::randn({1, channels, side, side}).contiguous(at::MemoryFormat::ChannelsLast);
}

// A 3x3 conv with padding 1 and the given stride, then a ReLU (which drops negative changes: the
// impulses must still find every output it can reach).
Footprint::StageFn conv_relu(std::int64_t stride) {
  torch::manual_seed(5);
  const auto weight = torch::randn({4, 4, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast);
  return [weight, stride](const torch::Tensor& x) {
    return torch::relu(at::conv2d(x, weight, {}, {stride, stride}, {1, 1}));
  };
}

}  // namespace

TEST_CASE("a 3x3 conv of stride 1 reaches a pixel's neighbours, and needs them", "[windows]") {
  const auto f = Footprint::measure(conv_relu(1), random_image(4, 16));
  REQUIRE(f);
  CHECK(f->stride_y() == 1);
  CHECK(f->stride_x() == 1);
  CHECK(f->affected({5, 6, 7, 8}) == Rect{4, 7, 6, 9});
  CHECK(f->affected({0, 1, 15, 16}) == Rect{0, 2, 14, 16});  // clipped at the map's edges
  CHECK(f->needed({4, 7, 6, 9}) == Rect{3, 8, 5, 10});
  CHECK(f->needed({0, 16, 0, 16}) == Rect{0, 16, 0, 16});
}

TEST_CASE("a 3x3 conv of stride 2 reaches outputs by the pixel's parity, and its windows start on the grid",
          "[windows]") {
  const auto f = Footprint::measure(conv_relu(2), random_image(4, 16));
  REQUIRE(f);
  CHECK(f->stride_y() == 2);
  // Output o reads inputs 2o-1 .. 2o+1: input 6 reaches output 3 only, input 7 outputs 3 and 4.
  CHECK(f->affected({6, 7, 6, 7}) == Rect{3, 4, 3, 4});
  CHECK(f->affected({7, 8, 7, 8}) == Rect{3, 5, 3, 5});
  // Outputs 3..4 read inputs 5..9; the window starts at 4, on the stride's grid.
  CHECK(f->needed({3, 5, 3, 5}) == Rect{4, 10, 4, 10});
}

TEST_CASE("a stage run on the window it needs gives those outputs of the full stage", "[windows]") {
  for (const std::int64_t stride : {1, 2}) {
    const auto stage = conv_relu(stride);
    const auto image = random_image(4, 16);
    const auto f = Footprint::measure(stage, image);
    REQUIRE(f);
    const Rect out{2, 5, 3, 7};
    const auto w = f->needed(out);
    const auto full = stage(image);
    const auto part = stage(w.of(image).contiguous(at::MemoryFormat::ChannelsLast));
    const auto in_part = out.within(w, f->stride_y(), f->stride_x());
    INFO("stride " << stride);
    REQUIRE(in_part.y1 <= part.size(2));
    REQUIRE(in_part.x1 <= part.size(3));
    CHECK(torch::equal(in_part.of(part), out.of(full)));
  }
}

TEST_CASE("stages whose output is not a map on the input's grid have no footprint", "[windows]") {
  const auto image = random_image(4, 16);
  CHECK_FALSE(Footprint::measure([](const torch::Tensor& x) { return x.flatten(1); }, image));
  // 16 rows onto 5: not a grid of the input's.
  CHECK_FALSE(Footprint::measure(
      [](const torch::Tensor& x) {
        return at::adaptive_avg_pool2d(x, {5, 5});
      },
      image));
  // A change that reaches nothing (the stage ignores its input) is not a footprint either.
  CHECK_FALSE(Footprint::measure([](const torch::Tensor& x) { return torch::zeros_like(x); }, image));
}

TEST_CASE("the differing pixels of two batches are the bounding box over images and channels", "[windows]") {
  auto a = torch::randn({3, 2, 8, 8});
  auto b = a.clone();
  CHECK_FALSE(differing_pixels(a, b));
  b[0][1][2][5] = std::nanf("");
  b[2][0][6][1] = -b[2][0][6][1] - 1;
  CHECK(differing_pixels(a, b) == Rect{2, 7, 1, 6});
  // Bits, not values: -0.0 differs from 0.0.
  auto z = torch::zeros({1, 1, 4, 4});
  auto nz = z.clone();
  nz[0][0][3][3] = -0.0F;
  CHECK(differing_pixels(z, nz) == Rect{3, 4, 3, 4});
}
