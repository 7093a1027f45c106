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
#include "dnnfi/names.hpp"

namespace dnnfi {

// How 4-D weights and activations lie in memory. Kernels differ by layout, so the last bits of
// an activation (and masked counts) do too: nchw gives what a plain eager PyTorch loop over the
// TorchScript file gives, nhwc what a channels_last loop gives.
enum class Layout { kNchw, kNhwc };
inline constexpr Named<Layout> kLayoutNames[] = {{Layout::kNchw, "nchw"}, {Layout::kNhwc, "nhwc"}};
// Measured on the CPU (bench/RESULTS.md, "Layout"): channels_last is oneDNN's native layout.
inline constexpr Layout kDefaultLayout = Layout::kNhwc;

struct Numerics {
  bool tf32 = false;  // --tf32 on: TF32 convolutions (CUDA only); Default: off, IEEE FP32 convs and matmuls
  std::string emulate_tf32;  // --emulate-tf32 REGEX: conv layers whose operands are rounded; Default: none
};

// "fp32", "tf32 (cudnn)" or "fp32, tf32 emulated in REGEX": how logs and provenance say it.
std::string describe(const Numerics& numerics);
// The same on `device`, with what the CUDA context reports it runs (set_cuda_float32_precision):
// "fp32 (cuda conv ieee, matmul ieee)".
std::string describe(const Numerics& numerics, const torch::Device& device);

// What CUDA convolutions (cuDNN) and matmuls (cuBLAS) were set to, as the context reads back.
struct CudaFloat32Precision {
  std::string api;     // which of LibTorch's interfaces this build uses (float32_precision_api)
  std::string conv;    // "ieee" or "tf32"
  std::string matmul;  // "ieee" or "tf32"
};
// Sets CUDA's float32 precision: TF32 convolutions with `tf32`, else IEEE; matmuls IEEE (as
// PyTorch's default). LibTorch 2.9 and later need the float32-precision API for IEEE: their
// legacy flag setAllowTF32CuDNN(false) only marks the conv precision "none" (inherited). Older
// ones have the legacy flags only. Works without a GPU (it sets flags); returns the read-back.
CudaFloat32Precision set_cuda_float32_precision(bool tf32);
// The read-back alone.
CudaFloat32Precision cuda_float32_precision();
// "float32 precision (enums)" (LibTorch 2.10 on), "float32 precision (strings)" (2.9) or
// "legacy TF32 flags": the interface this build was compiled against.
std::string float32_precision_api();

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
