#pragma once
// The arithmetic a campaign's convolutions use: full FP32, TF32 on a CUDA device (cuDNN's
// tensor cores), or TF32 emulated on any device by rounding the inputs and weights of chosen
// convolutions before an FP32 convolution. Masked counts depend on it, so it is chosen, logged
// and recorded in the results' provenance.
#include <torch/script.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/model_info.hpp"

namespace dnnfi {

struct Numerics {
  bool tf32 = false;         // --tf32 on: cuDNN may use TF32 (CUDA only); Default: off, FP32
  std::string emulate_tf32;  // --emulate-tf32 REGEX: conv layers whose operands are rounded; Default: none
};

// "fp32", "tf32 (cudnn)" or "fp32, tf32 emulated in REGEX": how logs and provenance say it.
std::string describe(const Numerics& numerics);

// Round to nearest, ties to even, keeping 10 of the 23 mantissa bits (TF32's precision, FP32's
// range); infinities and NaNs pass unchanged, values past TF32's largest round to infinity.
float round_tf32(float value);
// The same for every element of a float tensor, on its device, in its memory format.
torch::Tensor round_tf32(const torch::Tensor& x);

// Rewrites the TorchScript of the conv layers of `info` whose name matches the regex `pattern`
// so that every convolution they run rounds its input and its weight with round_tf32 first.
// Returns the layers rewritten. A usage Error when the pattern is not a regex or matches no
// conv layer, or when a matching layer shares its TorchScript class with one that does not
// match (a scripted model's identical convs do; a traced model's never).
std::vector<std::string> emulate_tf32(torch::jit::Module& module, const ModelInfo& info,
                                      const std::string& pattern);

}  // namespace dnnfi
