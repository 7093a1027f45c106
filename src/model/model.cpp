#include "dnnfi/model.hpp"

#include <torch/csrc/jit/runtime/graph_executor.h>

#include <set>

#include "dnnfi/errors.hpp"
#include "dnnfi/numerics.hpp"

namespace dnnfi {

namespace {
bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A conv (1d/2d/3d) or linear module of torch.nn, scripted or traced (whose type names carry a
// ___torch_mangle_N part).
bool is_injectable_module(const torch::jit::Module& module) {
  const auto type = module.type()->name();
  if (!type) return false;
  const auto qualified = type->qualifiedName();
  const auto name = type->name();
  return qualified.find("torch.nn.modules.") != std::string::npos &&
         (name == "Conv1d" || name == "Conv2d" || name == "Conv3d" || name == "Linear");
}
}  // namespace

ModelInfo discover_model_info(const torch::jit::Module& module, const std::string& name) {
  ModelInfo info;
  info.name = name;
  info.checkpoint = "torchscript";
  info.sequential = true;  // tried; the staged engine verifies it against forward() and falls back
  std::set<std::string> injectable;
  for (const auto& m : module.named_modules())
    if (!m.name.empty() && is_injectable_module(m.value)) injectable.insert(m.name);
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (!ends_with(p.name, ".weight")) continue;
    const auto owner = p.name.substr(0, p.name.size() - 7);
    if (injectable.count(owner) && p.value.scalar_type() == torch::kFloat)
      info.layers.push_back(Layer{owner, p.value.sizes().vec(), 0});
  }
  if (info.layers.empty())
    throw InputError(name + ": no conv or linear layer with a float32 weight found in the module");
  return info;
}

std::vector<Layer> parameter_layers(const torch::jit::Module& module,
                                    const std::vector<Layer>& weight_layers) {
  std::set<std::string> weights;
  for (const auto& layer : weight_layers) weights.insert(layer.name + ".weight");
  std::vector<Layer> layers;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (p.value.scalar_type() != torch::kFloat) continue;
    const bool weight = weights.count(p.name) > 0;
    layers.push_back(Layer{weight ? p.name.substr(0, p.name.size() - 7) : p.name, p.value.sizes().vec(), 0});
  }
  return layers;
}

Model::Model(torch::jit::Module module, ModelInfo info, torch::Device device, bool channels_last)
    : module_(std::move(module)), info_(std::move(info)), device_(device), channels_last_(channels_last) {
  torch::NoGradGuard no_grad;
  for (const auto& p : module_.named_parameters(/*recurse=*/true)) {
    p.value.set_requires_grad(false);
    if (channels_last_ && p.value.dim() == 4)
      p.value.set_data(p.value.contiguous(at::MemoryFormat::ChannelsLast));
    params_[p.name] = p.value;
    for (auto* table : {&weights_, &biases_}) {
      const std::string suffix = table == &weights_ ? ".weight" : ".bias";
      if (p.name.size() > suffix.size() &&
          p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0)
        (*table)[p.name.substr(0, p.name.size() - suffix.size())] = p.value;
    }
  }
  for (const auto& layer : info_.layers) {
    auto it = weights_.find(layer.name);
    if (it == weights_.end() || it->second.sizes().vec() != layer.shape ||
        it->second.scalar_type() != torch::kFloat)
      throw ResourceError("the exported model does not match its model info at layer " + layer.name +
                          "; delete the export (" + info_.name + "-" + info_.dataset + ".*) to re-export it");
  }
}

torch::jit::Module load_module(const std::filesystem::path& file, const torch::Device& device) {
  if (!std::filesystem::exists(file)) throw ResourceError(file.string() + ": no such TorchScript file");
  try {
    auto module = torch::jit::load(file.string(), device);
    module.eval();
    return module;
  } catch (const c10::Error& e) {
    throw ResourceError(file.string() + ": cannot be loaded as TorchScript (" + e.what_without_backtrace() +
                        "); save it with torch.jit.save(torch.jit.trace(model, example), FILE) or "
                        "torch.jit.script (a zoo export: delete it and dnnfi exports it again)");
  }
}

Model Model::load(const ModelFiles& files, const torch::Device& device, const Numerics& numerics,
                  bool channels_last) {
  auto module = load_module(files.torchscript, device);
  ModelInfo info = files.info.empty() ? discover_model_info(module, files.torchscript.stem().string())
                                      : read_model_info(files.info);
  // Run graphs as exported: no profiling-driven rewrites that could change kernels between
  // the golden and the faulty passes.
  torch::jit::setGraphExecutorOptimize(false);
  Model model(std::move(module), std::move(info), device, channels_last);
  if (!numerics.emulate_tf32.empty()) {
    model.tf32_list_ = emulate_tf32(model.module_, model.info_, numerics.emulate_tf32);
    model.tf32_layers_.insert(model.tf32_list_.begin(), model.tf32_list_.end());
  }
  return model;
}

torch::Tensor Model::prepare_input(const torch::Tensor& batch) const {
  auto x = batch.to(device_);
  return channels_last_ ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
}

torch::Tensor Model::forward(const torch::Tensor& batch) { return module_.forward({batch}).toTensor(); }

torch::Tensor Model::weight(const std::string& layer) const {
  if (auto it = weights_.find(layer); it != weights_.end()) return it->second;
  if (auto it = params_.find(layer); it != params_.end()) return it->second;
  throw InputError("the model has no injectable layer or parameter '" + layer + "'");
}

torch::Tensor Model::bias(const std::string& layer) const {
  auto it = biases_.find(layer);
  return it == biases_.end() ? torch::Tensor() : it->second;
}

float Model::computed_value(const std::string& layer, float stored) const {
  return rounds_tf32(layer) ? round_tf32(stored) : stored;
}

torch::Tensor element(torch::Tensor tensor, const std::vector<std::int64_t>& index) {
  for (auto i : index) tensor = tensor.select(/*dim=*/0, i);
  return tensor;
}

void store_bits(const torch::Tensor& slot, float value) {
  torch::NoGradGuard no_grad;
  // from_blob + copy_ move raw bits, so NaN payloads and signed zeros survive on every device.
  slot.copy_(torch::from_blob(&value, {}, torch::kFloat));
}

ScopedFault::ScopedFault(const Model& model, const Fault& fault)
    : slot_(element(model.weight(fault.layer), fault.index)) {
  original_ = slot_.to(torch::kCPU).item<float>();
  faulty_ = apply_fault(original_, fault.bits, fault.model);
  store_bits(slot_, faulty_);
}

ScopedFault::~ScopedFault() { store_bits(slot_, original_); }

}  // namespace dnnfi
