#include "dnnfi/model.hpp"

#include <spdlog/spdlog.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <algorithm>
#include <set>

#include "activations.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/numerics.hpp"

namespace dnnfi {

namespace {
bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The class name of a torch.nn module (traced or scripted type names carry a ___torch_mangle_N
// part in the qualified name only), or "" for a class of one's own.
std::string torch_nn_class(const torch::jit::Module& module) {
  const auto type = module.type()->name();
  if (!type || type->qualifiedName().find("torch.nn.modules.") == std::string::npos) return "";
  return type->name();
}

// A module whose own forward passes its own `weight` to a linear or convolution op: a subclass
// of nn.Linear or nn.ConvNd of one's own. (A traced module that never ran has no forward.)
bool computes_with_own_weight(const torch::jit::Module& module) {
  const auto forward = module.find_method("forward");
  if (!forward) return false;
  const auto graph = forward->graph();
  for (auto* node : graph->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (kind != "aten::linear" && kind != "aten::conv1d" && kind != "aten::conv2d" &&
        kind != "aten::conv3d" && kind != "aten::_convolution")
      continue;
    if (node->inputs().size() < 2) continue;
    const auto* weight = node->inputs()[1]->node();
    if (weight->kind() == c10::prim::GetAttr && weight->s(c10::attr::name) == "weight" &&
        weight->inputs()[0] == graph->inputs()[0])
      return true;
  }
  return false;
}

// A conv (1d/2d/3d) or linear module: of torch.nn (nn.Linear's subclasses there too, such as
// MultiheadAttention's out_proj, NonDynamicallyQuantizableLinear), or of one's own class whose
// forward computes with its own weight.
bool is_injectable_module(const torch::jit::Module& module) {
  const auto name = torch_nn_class(module);
  if (name == "Conv1d" || name == "Conv2d" || name == "Conv3d" || name == "Linear" ||
      ends_with(name, "Linear"))
    return true;
  return name.empty() && computes_with_own_weight(module);
}

// MultiheadAttention keeps its input projections as bare parameters: in_proj_weight (q, k and v
// stacked), or q_proj_weight / k_proj_weight / v_proj_weight when their sizes differ.
bool is_attention_projection(const std::string& parameter, const std::set<std::string>& attention) {
  const auto dot = parameter.rfind('.');
  if (dot == std::string::npos || !attention.count(parameter.substr(0, dot))) return false;
  const auto leaf = parameter.substr(dot + 1);
  return leaf == "in_proj_weight" || leaf == "q_proj_weight" || leaf == "k_proj_weight" ||
         leaf == "v_proj_weight";
}

// A quantized TorchScript model (quantized::conv2d with packed int8 parameters) keeps its
// weights where no fault can reach them as floats: said, with what to do instead.
void refuse_quantized(const torch::jit::Module& module, const std::string& name) {
  for (const auto& m : module.named_modules())
    for (const auto& method : m.value.get_methods()) {
      std::vector<torch::jit::Block*> blocks{method.graph()->block()};  // nested ifs and loops too
      while (!blocks.empty()) {
        auto* block = blocks.back();
        blocks.pop_back();
        for (auto* node : block->nodes()) {
          if (std::string(node->kind().toQualString()).rfind("quantized::", 0) == 0)
            throw InputError(name + ": a quantized TorchScript model (" + node->kind().toQualString() +
                             " in " + (m.name.empty() ? std::string("the top module") : m.name) +
                             "); dnnfi faults float models: save the float model and give --format int8, "
                             "which stores its weights as symmetric per-channel int8");
          for (auto* inner : node->blocks()) blocks.push_back(inner);
        }
      }
    }
}

// Every injectable weight stored in `format`, in place: golden is then the stored model. int8
// keeps each output channel's scale, max |w| / 127 (1 for a channel of zeros).
std::unordered_map<std::string, std::vector<float>> store_weights(
    const std::unordered_map<std::string, torch::Tensor>& weights, const std::vector<Layer>& layers,
    WordFormat format) {
  std::unordered_map<std::string, std::vector<float>> scales;
  torch::NoGradGuard no_grad;
  for (const auto& layer : layers) {
    auto w = weights.at(layer.name);
    switch (format) {
      case WordFormat::kFp32:
        break;
      case WordFormat::kFp16:
        w.copy_(w.to(torch::kHalf).to(torch::kFloat));
        break;
      case WordFormat::kBf16:
        w.copy_(w.to(torch::kBFloat16).to(torch::kFloat));
        break;
      case WordFormat::kInt8: {
        const auto rows = w.reshape({w.size(0), -1});
        auto scale = std::get<0>(rows.abs().max(/*dim=*/1)) / 127;
        scale = torch::where(scale == 0, torch::ones_like(scale), scale);
        const auto view = std::vector<std::int64_t>(static_cast<std::size_t>(w.dim()), 1);
        auto shape = view;
        shape[0] = w.size(0);
        const auto per_row = scale.reshape(shape);
        // torch.round rounds half to even, as the format specifies.
        w.copy_(torch::clamp(torch::round(w / per_row), -127, 127) * per_row);
        const auto host = scale.to(torch::kCPU).contiguous();
        scales[layer.name].assign(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
        break;
      }
    }
  }
  return scales;
}

}  // namespace

ModelInfo discover_model_info(const torch::jit::Module& module, const std::string& name) {
  ModelInfo info;
  info.name = name;
  info.checkpoint = "torchscript";
  info.sequential = true;  // tried; the staged engine verifies it against forward() and falls back
  std::set<std::string> injectable, attention;
  for (const auto& m : module.named_modules()) {
    if (m.name.empty()) continue;
    if (is_injectable_module(m.value)) injectable.insert(m.name);
    if (torch_nn_class(m.value) == "MultiheadAttention") attention.insert(m.name);
  }
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (p.value.scalar_type() != torch::kFloat) continue;
    if (is_attention_projection(p.name, attention)) {
      info.layers.push_back(Layer{p.name, p.value.sizes().vec(), 0});  // named as PyTorch names it
      continue;
    }
    if (!ends_with(p.name, ".weight")) continue;
    const auto owner = p.name.substr(0, p.name.size() - 7);
    if (injectable.count(owner)) info.layers.push_back(Layer{owner, p.value.sizes().vec(), 0});
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
    // A layer that is a parameter of its own (MultiheadAttention's in_proj_weight).
    if (!weights_.count(layer.name) && params_.count(layer.name)) weights_[layer.name] = params_[layer.name];
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
    refuse_quantized(module, file.string());
    return module;
  } catch (const c10::Error& e) {
    throw ResourceError(file.string() + ": cannot be loaded as TorchScript (" + e.what_without_backtrace() +
                        "); save it with torch.jit.save(torch.jit.trace(model, example), FILE) or "
                        "torch.jit.script (a zoo export: delete it and dnnfi exports it again)");
  }
}

Model Model::load(const ModelFiles& files, const torch::Device& device, const Numerics& numerics,
                  bool channels_last, const FaultSpace& space) {
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
  model.space_ = space;
  model.scales_ = store_weights(model.weights_, model.info_.layers, space.format);
  if (space.target == FaultTarget::kActivations) {
    std::vector<std::string> layers;
    for (const auto& layer : model.info_.layers) layers.push_back(layer.name);
    model.unreachable_ = insert_activation_points(model.module_, layers);
  }
  return model;
}

float Model::scale(const std::string& layer, std::int64_t channel) const {
  const auto it = scales_.find(layer);
  return it == scales_.end() ? 1.0f : it->second.at(static_cast<std::size_t>(channel));
}

float Model::faulty_value(const Fault& fault, float stored) const {
  return apply_fault(space_.format, stored, fault.bits, fault.model, scale(fault.layer, fault.index.at(0)));
}

std::vector<Layer> Model::activation_targets(const torch::Tensor& example) {
  if (space_.target != FaultTarget::kActivations)
    throw Error(ExitCode::kFailure, "activation targets of a model loaded for weight faults");
  torch::InferenceMode inference;
  ActivationProbe probe;
  forward(prepare_input(example));
  std::vector<Layer> targets;
  auto unreachable = unreachable_;
  for (const auto& layer : info_.layers) {
    if (std::any_of(unreachable_.begin(), unreachable_.end(),
                    [&](const auto& u) { return u.first == layer.name; }))
      continue;
    auto shape = probe.shape_of(weight(layer.name));
    if (shape.empty())
      unreachable.emplace_back(layer.name, "it did not run in a forward pass");
    else
      targets.push_back(Layer{layer.name, std::move(shape), 0});
  }
  if (unreachable.empty()) return targets;
  std::string named;
  for (const auto& [layer, why] : unreachable)
    named += (named.empty() ? "" : "; ") + layer + " (" + why + ")";
  if (targets.empty()) throw InputError(info_.name + ": no layer's output can be faulted: " + named);
  // Said, and left out of the activation population: the other layers' outputs are faulted.
  spdlog::warn("{}: activation faults cannot reach {} of {} layers, left out: {}", info_.name,
               unreachable.size(), info_.layers.size(), named);
  return targets;
}

torch::Tensor Model::prepare_input(const torch::Tensor& batch) const {
  auto x = batch.to(device_);
  // Channels-last is a layout of 4-D images; token ids and features stay as they are.
  return channels_last_ && x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
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

ScopedFault::ScopedFault(const Model& model, const Fault& fault) {
  if (model.space().target == FaultTarget::kActivations) {
    activation_ = std::make_unique<ScopedActivationFault>(model.weight(fault.layer), fault);
    return;
  }
  slot_ = element(model.weight(fault.layer), fault.index);
  original_ = slot_.to(torch::kCPU).item<float>();
  faulty_ = model.faulty_value(fault, original_);
  store_bits(slot_, faulty_);
}

ScopedFault::~ScopedFault() {
  if (slot_.defined()) store_bits(slot_, original_);
}

}  // namespace dnnfi
