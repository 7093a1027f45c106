#include "dnnfi/model.hpp"

#include <torch/csrc/jit/runtime/graph_executor.h>

#include "dnnfi/errors.hpp"

namespace dnnfi {

Model::Model(torch::jit::Module module, ModelInfo info, torch::Device device, bool channels_last)
    : module_(std::move(module)), info_(std::move(info)), device_(device), channels_last_(channels_last) {
  torch::NoGradGuard no_grad;
  for (const auto& p : module_.named_parameters(/*recurse=*/true)) {
    p.value.set_requires_grad(false);
    if (channels_last_ && p.value.dim() == 4)
      p.value.set_data(p.value.contiguous(at::MemoryFormat::ChannelsLast));
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

Model Model::load(const ModelFiles& files, const torch::Device& device, bool channels_last) {
  ModelInfo info = read_model_info(files.info);
  torch::jit::Module module;
  try {
    module = torch::jit::load(files.torchscript.string(), device);
  } catch (const c10::Error& e) {
    throw ResourceError(files.torchscript.string() + ": cannot be loaded as TorchScript (" +
                        e.what_without_backtrace() + "); delete it and dnnfi exports it again");
  }
  module.eval();
  // Run graphs as exported: no profiling-driven rewrites that could change kernels between
  // the golden and the faulty passes.
  torch::jit::setGraphExecutorOptimize(false);
  return Model(std::move(module), std::move(info), device, channels_last);
}

torch::Tensor Model::prepare_input(const torch::Tensor& batch) const {
  auto x = batch.to(device_);
  return channels_last_ ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
}

torch::Tensor Model::forward(const torch::Tensor& batch) { return module_.forward({batch}).toTensor(); }

torch::Tensor Model::weight(const std::string& layer) const {
  auto it = weights_.find(layer);
  if (it == weights_.end()) throw InputError("the model has no injectable layer '" + layer + "'");
  return it->second;
}

torch::Tensor Model::bias(const std::string& layer) const {
  auto it = biases_.find(layer);
  return it == biases_.end() ? torch::Tensor() : it->second;
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
