#pragma once
// A loaded TorchScript model with its model info, and patching single weights in place.
#include <torch/script.h>

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/model_info.hpp"
#include "dnnfi/numerics.hpp"
#include "dnnfi/word_format.hpp"

namespace dnnfi {

class ScopedActivationFault;  // model/activations.hpp

// A TorchScript export and the model info beside it; without one (empty `info`) the model info
// is found in the module itself (discover_model_info).
struct ModelFiles {
  std::filesystem::path torchscript, info;
};

// Loads a TorchScript file in eval mode, with a message saying how to save one when it cannot.
torch::jit::Module load_module(const std::filesystem::path& file, const torch::Device& device);
// The model info of a TorchScript module of one's own: its conv (1d/2d/3d) and linear weights in
// parameter order, named as PyTorch names its modules ("features.3"). Nothing else is known:
// no input shape, classes or structure beyond the children (the staged engine verifies them).
ModelInfo discover_model_info(const torch::jit::Module& module, const std::string& name);
// Every float parameter as an injectable layer (--params all), in parameter order: conv/linear
// weights (`weight_layers`) by their module's name, the others by their own full name
// ("conv1.bias", "bn1.weight").
std::vector<Layer> parameter_layers(const torch::jit::Module& module,
                                    const std::vector<Layer>& weight_layers);

class Model {
 public:
  // Loads an export onto `device` in eval mode with gradients off, its --emulate-tf32 layers
  // rewritten before anything runs (a TorchScript method keeps the graph of its first call).
  // With `channels_last` 4-D weights (and the inputs the engines feed) use NHWC, oneDNN's
  // native layout. `space` says what faults hit: every injectable weight is stored in its
  // format (golden is the model with the stored values), and with activation targets every
  // injectable layer's output gets its fault point. A quantized TorchScript model is refused.
  static Model load(const ModelFiles& files, const torch::Device& device, const Numerics& numerics = {},
                    bool channels_last = true, const FaultSpace& space = {});

  const ModelInfo& info() const { return info_; }
  torch::jit::Module& module() { return module_; }
  const torch::Device& device() const { return device_; }
  // Puts a batch on the model's device in the model's memory format.
  torch::Tensor prepare_input(const torch::Tensor& batch) const;
  torch::Tensor forward(const torch::Tensor& batch);
  // The weight parameter of an injectable layer, or a parameter by its full name ("conv1.bias",
  // with --params all); it shares storage with the module.
  torch::Tensor weight(const std::string& layer) const;
  // Its bias, undefined when the layer has none.
  torch::Tensor bias(const std::string& layer) const;

  // The layers whose convolutions round their operands to TF32 (--emulate-tf32), in order.
  const std::vector<std::string>& tf32_layers() const { return tf32_list_; }
  bool rounds_tf32(const std::string& layer) const { return tf32_layers_.count(layer) > 0; }
  // A weight value as the layer's arithmetic sees it (rounded where TF32 is emulated).
  float computed_value(const std::string& layer, float stored) const;

  // What faults hit, and the injector the engines call: the value a weight fault leaves in its
  // element, the stored word of `stored` (its format; int8 with its channel's scale) faulted.
  const FaultSpace& space() const { return space_; }
  float faulty_value(const Fault& fault, float stored) const;
  // The int8 scale of a layer's output channel (1 for other formats).
  float scale(const std::string& layer, std::int64_t channel) const;
  // With activation targets: each injectable layer with the shape of its output for one image,
  // found by running `example` (a batch of the model's input) once. Layers whose output no fault
  // can reach (a parameter inside MultiheadAttention, a module a fused op computed, one that did
  // not run) are left out with a warning naming each and why; none reachable is an InputError.
  std::vector<Layer> activation_targets(const torch::Tensor& example);

 private:
  Model(torch::jit::Module module, ModelInfo info, torch::Device device, bool channels_last);
  torch::jit::Module module_;
  ModelInfo info_;
  torch::Device device_;
  bool channels_last_;
  std::unordered_map<std::string, torch::Tensor> weights_, biases_;  // by module name
  std::unordered_map<std::string, torch::Tensor> params_;            // every parameter, by full name
  std::vector<std::string> tf32_list_;                               // --emulate-tf32
  std::unordered_set<std::string> tf32_layers_;
  FaultSpace space_;
  std::unordered_map<std::string, std::vector<float>> scales_;    // int8: per output channel
  std::vector<std::pair<std::string, std::string>> unreachable_;  // activation targets: layer, why not
};

// A 0-dim view of one element of `tensor` by PyTorch index (whatever its memory format).
torch::Tensor element(torch::Tensor tensor, const std::vector<std::int64_t>& index);
// Stores `value` into a 0-dim view with its exact bits (NaN payloads, signed zeros) on any device.
void store_bits(const torch::Tensor& slot, float value);

// Applies one fault (with its own fault model) for the lifetime of the object: to its weight,
// whose exact original bits are restored afterwards (also on exceptions), or, with activation
// targets, to its layer's output in every forward.
class ScopedFault {
 public:
  ScopedFault(const Model& model, const Fault& fault);
  ~ScopedFault();
  ScopedFault(const ScopedFault&) = delete;
  ScopedFault& operator=(const ScopedFault&) = delete;
  float original() const { return original_; }
  float faulty() const { return faulty_; }

 private:
  torch::Tensor slot_;  // a 0-dim view of the faulted weight (undefined for an activation fault)
  float original_ = 0, faulty_ = 0;
  std::unique_ptr<ScopedActivationFault> activation_;
};

}  // namespace dnnfi
