#pragma once
#include <torch/torch.h>

#include "dnnfi/dataset.hpp"

namespace dnnfi {

// Float32 images already scaled to 0..1, normalized per channel (nothing when no mean/std).
inline torch::Tensor normalize_scaled(torch::Tensor x, const Normalization& n) {
  if (n.mean.empty() && n.std.empty()) return x;
  auto mean = torch::tensor(n.mean, torch::kFloat).view({1, -1, 1, 1});
  auto std = torch::tensor(n.std, torch::kFloat).view({1, -1, 1, 1});
  return x.sub_(mean).div_(std);
}

// N x C x H x W uint8 pixels to float32 model inputs, with the same float32 operations in the
// same order as torchvision's ToTensor + Normalize.
inline torch::Tensor normalize(const torch::Tensor& pixels, const Normalization& n) {
  return normalize_scaled(pixels.to(torch::kFloat).div_(255), n);
}

}  // namespace dnnfi
