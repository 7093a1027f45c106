#pragma once
// What every engine does the same way: batching the test set in order, and bit-for-bit equality.
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "dnnfi/dataset.hpp"
#include "dnnfi/model.hpp"

namespace dnnfi {

// Calls body(start, length) for consecutive batches of `batch` images, the last one holding
// the remainder: golden and faulty passes must batch identically (kernels depend on it).
template <typename F>
void for_each_batch(std::int64_t count, std::int64_t batch, F&& body) {
  for (std::int64_t start = 0; start < count; start += batch) body(start, std::min(batch, count - start));
}

// Images [start, start + length) on the model's device in its memory format.
inline torch::Tensor device_batch(const Dataset& data, const Model& model, std::int64_t start,
                                  std::int64_t length) {
  return model.prepare_input(data.images.narrow(/*dim=*/0, start, length));
}

// Bit-for-bit equality (NaN payloads and signed zeros included). Tensors in one dense layout
// on the CPU are compared with memcmp, which stops at the first difference: most faulty
// activations differ from golden early on.
inline bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  if (a.device().is_cpu() && b.device().is_cpu() && a.strides() == b.strides() &&
      a.is_non_overlapping_and_dense())
    return std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()) == 0;
  return a.view(torch::kInt32).equal(b.view(torch::kInt32));
}

// Per image (dim 0), whether a and b are bit-for-bit equal: a bool tensor on a's device. Dense
// CPU tensors whose images are contiguous blocks (NCHW or channels_last) compare image by image
// with memcmp, which stops at the first difference.
inline torch::Tensor images_equal(const torch::Tensor& a, const torch::Tensor& b) {
  const auto n = a.size(0);
  if (a.device().is_cpu() && b.device().is_cpu() && a.sizes() == b.sizes() && a.strides() == b.strides() &&
      a.scalar_type() == b.scalar_type() && a.is_non_overlapping_and_dense() && n > 0 &&
      a.stride(0) * n == a.numel()) {
    auto same = torch::empty({n}, torch::kBool);
    auto* out = same.data_ptr<bool>();
    const auto bytes = static_cast<std::size_t>(a.stride(0)) * a.element_size();
    const auto* pa = static_cast<const char*>(a.data_ptr());
    const auto* pb = static_cast<const char*>(b.data_ptr());
    for (std::int64_t i = 0; i < n; ++i) out[i] = std::memcmp(pa + i * bytes, pb + i * bytes, bytes) == 0;
    return same;
  }
  return a.view(torch::kInt32).eq(b.view(torch::kInt32)).flatten(1).all(1);
}

// Images `index` of x (dim 0) in x's memory format: channels_last stays channels_last.
inline torch::Tensor select_images(const torch::Tensor& x, const torch::Tensor& index) {
  if (x.dim() == 4 && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast)
    return x.permute({0, 2, 3, 1}).index_select(0, index).permute({0, 3, 1, 2});
  return x.index_select(0, index);
}

}  // namespace dnnfi
