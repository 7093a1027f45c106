#pragma once
#include <torch/torch.h>

#include "dnnfi/dataset.hpp"

namespace dnnfi {

// N x C x H x W uint8 pixels to float32 model inputs, with the same float32 operations in the
// same order as torchvision's ToTensor + Normalize.
inline torch::Tensor normalize(const torch::Tensor& pixels, const Normalization& n) {
  auto x = pixels.to(torch::kFloat).div_(255);
  auto mean = torch::tensor(n.mean, torch::kFloat).view({1, -1, 1, 1});
  auto std = torch::tensor(n.std, torch::kFloat).view({1, -1, 1, 1});
  return x.sub_(mean).div_(std);
}

}  // namespace dnnfi
