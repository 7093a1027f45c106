#include "dnnfi/numerics.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>
#include <torch/version.h>

#include <cstring>
#include <map>
#include <regex>
#include <utility>

#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

// CUDA's float32 precision through whichever interface the LibTorch at hand has. Each overload
// is a template whose calls depend on its parameter, so a build compiles only the ones its
// at::Context supports (a feature test, no version table); the legacy flags are the fallback.
namespace float32_api {

// Sets (unless `set` is empty) and reads back the precision of CUDA's "conv", "rnn" and "matmul".
using Setting = std::optional<std::pair<std::string, std::string>>;  // conv/rnn, matmul

// Legacy: allow_tf32 flags. Before LibTorch 2.9, "not allowed" is IEEE.
template <typename Context>
void set_legacy(Context& context, const Setting& set) {
  if (!set) return;
  context.setAllowTF32CuDNN(set->first == "tf32");
  context.setAllowTF32CuBLAS(set->second == "tf32");
}

#if TORCH_VERSION_MAJOR >= 2
// LibTorch 2.10 declares str2backend & co. in at; a call with a dependent argument finds them
// through this directive when they exist, and fails substitution when they do not.
using namespace at;
template <typename T>
std::string dependent_text(std::string s) {
  return s;
}

// LibTorch 2.10 on: keyed by enums.
template <typename Context>
auto set_or_read(Context& context, const Setting& set, int)
    -> decltype(precision2str(context.float32Precision(str2backend(dependent_text<Context>("cuda")),
                                                       str2op(dependent_text<Context>("conv")))),
                CudaFloat32Precision()) {
  const auto cuda = str2backend(dependent_text<Context>("cuda"));
  // The legacy setters first, so that the legacy flags agree with what follows (LibTorch
  // checks that they do when asked without an operator).
  set_legacy(context, set);
  if (set) {
    for (const char* op : {"conv", "rnn"})
      context.setFloat32Precision(cuda, str2op(dependent_text<Context>(op)),
                                  str2precision(dependent_text<Context>(set->first)));
    context.setFloat32Precision(cuda, str2op(dependent_text<Context>("matmul")),
                                str2precision(dependent_text<Context>(set->second)));
  }
  return {"float32 precision (enums)",
          precision2str(context.float32Precision(cuda, str2op(dependent_text<Context>("conv")))),
          precision2str(context.float32Precision(cuda, str2op(dependent_text<Context>("matmul"))))};
}

// LibTorch 2.9: keyed by strings.
template <typename Context>
auto set_or_read(Context& context, const Setting& set, long)
    -> decltype(std::string(context.float32Precision(dependent_text<Context>("cuda"),
                                                     dependent_text<Context>("conv"))),
                context.setFloat32Precision(dependent_text<Context>("cuda"), dependent_text<Context>("conv"),
                                            dependent_text<Context>("ieee")),
                CudaFloat32Precision()) {
  set_legacy(context, set);
  if (set) {
    for (const char* op : {"conv", "rnn"}) context.setFloat32Precision("cuda", op, set->first);
    context.setFloat32Precision("cuda", "matmul", set->second);
  }
  return {"float32 precision (strings)", std::string(context.float32Precision("cuda", "conv")),
          std::string(context.float32Precision("cuda", "matmul"))};
}
#endif

template <typename Context>
CudaFloat32Precision set_or_read(Context& context, const Setting& set, ...) {
  set_legacy(context, set);
  return {"legacy TF32 flags", context.allowTF32CuDNN() ? "tf32" : "ieee",
          context.allowTF32CuBLAS() ? "tf32" : "ieee"};
}

CudaFloat32Precision set_or_read(const Setting& set) { return set_or_read(at::globalContext(), set, 0); }

}  // namespace float32_api

constexpr std::uint32_t kDropped = 0x1FFF;  // the 13 mantissa bits TF32 does not keep

std::uint32_t round_tf32_bits(std::uint32_t bits) {
  if ((bits & 0x7F800000u) == 0x7F800000u) return bits;  // infinity or NaN
  // Adding half an ulp (less one, plus the kept lowest bit) carries into the kept bits exactly
  // when the dropped part is above half, or at half with an odd kept part; a carry out of the
  // mantissa raises the exponent, up to infinity.
  return (bits + 0xFFFu + ((bits >> 13) & 1u)) & ~kDropped;
}

torch::Tensor round_tf32_op(const torch::Tensor& x) { return round_tf32(x); }

bool is_convolution(const torch::jit::Node* node) {
  static const std::vector<c10::Symbol> kinds = {
      c10::Symbol::fromQualString("aten::_convolution"), c10::Symbol::fromQualString("aten::convolution"),
      c10::Symbol::fromQualString("aten::conv1d"), c10::Symbol::fromQualString("aten::conv2d"),
      c10::Symbol::fromQualString("aten::conv3d")};
  return std::find(kinds.begin(), kinds.end(), node->kind()) != kinds.end();
}

// Rounds operands 0 (input) and 1 (weight) of every convolution in the graph, nested blocks
// included; returns how many it found.
int round_convolution_operands(torch::jit::Graph& graph) {
  std::vector<torch::jit::Node*> convs;
  std::vector<torch::jit::Block*> blocks{graph.block()};
  while (!blocks.empty()) {
    auto* block = blocks.back();
    blocks.pop_back();
    for (auto* node : block->nodes()) {
      if (is_convolution(node)) convs.push_back(node);
      for (auto* inner : node->blocks()) blocks.push_back(inner);
    }
  }
  static const auto kRound = c10::Symbol::fromQualString("dnnfi::round_tf32");
  for (auto* conv : convs) {
    torch::jit::WithInsertPoint here(conv);
    for (std::size_t operand : {0, 1}) {
      auto* rounded = graph.insert(kRound, {conv->input(operand)});
      conv->replaceInput(operand, rounded);
    }
  }
  return static_cast<int>(convs.size());
}

}  // namespace

TORCH_LIBRARY(dnnfi, m) { m.def("round_tf32(Tensor x) -> Tensor", &round_tf32_op); }

std::string describe(const Numerics& numerics) {
  std::string text = numerics.tf32 ? "tf32 (cudnn)" : "fp32";
  if (!numerics.emulate_tf32.empty()) text += ", tf32 emulated in " + numerics.emulate_tf32;
  return text;
}

std::string describe(const Numerics& numerics, const torch::Device& device) {
  if (!device.is_cuda()) return describe(numerics);
  const auto precision = cuda_float32_precision();
  auto text = fmt::format("{} (cuda conv {}, matmul {})", precision.conv == "tf32" ? "tf32" : "fp32",
                          precision.conv, precision.matmul);
  if (!numerics.emulate_tf32.empty()) text += ", tf32 emulated in " + numerics.emulate_tf32;
  return text;
}

CudaFloat32Precision set_cuda_float32_precision(bool tf32) {
  return float32_api::set_or_read(std::make_pair(std::string(tf32 ? "tf32" : "ieee"), std::string("ieee")));
}

CudaFloat32Precision cuda_float32_precision() { return float32_api::set_or_read(std::nullopt); }

std::string float32_precision_api() { return cuda_float32_precision().api; }

float round_tf32(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits = round_tf32_bits(bits);
  std::memcpy(&value, &bits, sizeof bits);
  return value;
}

torch::Tensor round_tf32(const torch::Tensor& x) {
  TORCH_CHECK(x.scalar_type() == torch::kFloat, "round_tf32 needs a float tensor, got ", x.scalar_type());
  if (x.device().is_cpu() && x.is_non_overlapping_and_dense()) {
    auto out = torch::empty_like(x);  // same strides: element k of one is element k of the other
    const auto* in = static_cast<const std::uint32_t*>(x.data_ptr());
    auto* to = static_cast<std::uint32_t*>(out.data_ptr());
    at::parallel_for(0, x.numel(), 1 << 16, [&](std::int64_t begin, std::int64_t end) {
      for (auto i = begin; i < end; ++i) to[i] = round_tf32_bits(in[i]);
    });
    return out;
  }
  // Any device: the same integer arithmetic as tensor operations.
  const auto bits = x.contiguous(x.suggest_memory_format()).view(torch::kInt32);
  const auto carried = (bits + 0xFFF + bits.bitwise_right_shift(13).bitwise_and(1)).bitwise_and(~0x1FFF);
  return torch::where(x.isfinite(), carried.view(torch::kFloat), x);
}

std::vector<std::string> emulate_tf32(torch::jit::Module& module, const ModelInfo& info,
                                      const std::string& pattern) {
  std::regex regex;
  try {
    regex = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw Error(ExitCode::kUsage,
                "--emulate-tf32 '" + pattern + "' is not a regular expression: " + e.what());
  }
  // Every module instance by its TorchScript class: a class's methods are shared by its instances.
  std::map<const c10::ClassType*, std::vector<std::string>> instances;
  std::map<std::string, torch::jit::Module> by_name;
  for (const auto& child : module.named_modules()) {
    instances[child.value.type().get()].push_back(child.name);
    by_name.emplace(child.name, child.value);
  }
  // A conv layer's weight is (out, in, k...); a linear one's (out, in).
  const auto is_conv = [](const Layer& layer) { return layer.shape.size() >= 3; };
  std::vector<std::string> matched;
  for (const auto& layer : info.layers)
    if (is_conv(layer) && std::regex_search(layer.name, regex)) matched.push_back(layer.name);
  if (matched.empty()) {
    std::string convs;
    for (const auto& layer : info.layers)
      if (is_conv(layer)) convs += (convs.empty() ? "" : ", ") + layer.name;
    throw Error(ExitCode::kUsage, "--emulate-tf32 '" + pattern + "' matches no convolution of " + info.name +
                                      " (its convolutions: " + convs + ")");
  }
  std::map<const c10::ClassType*, std::string> rewritten;
  for (const auto& name : matched) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw Error(ExitCode::kUsage, "--emulate-tf32: the model has no module " + name);
    auto& conv = it->second;
    const auto* type = conv.type().get();
    for (const auto& other : instances[type])
      if (!std::regex_search(other, regex))
        throw Error(ExitCode::kUsage, "--emulate-tf32 '" + pattern + "': " + name +
                                          " shares its TorchScript class with " + other +
                                          ", which the pattern does not match; match both, or export "
                                          "the model with torch.jit.trace (one class per module)");
    if (rewritten.count(type)) continue;
    int found = 0;
    for (const auto& method : conv.get_methods()) found += round_convolution_operands(*method.graph());
    if (found == 0)
      throw Error(ExitCode::kUsage, "--emulate-tf32: " + name + " runs no convolution in its TorchScript");
    rewritten.emplace(type, name);
  }
  return matched;
}

}  // namespace dnnfi
