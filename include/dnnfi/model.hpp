#pragma once
// Zoo models as TorchScript exports: locating or producing the export, its metadata, and
// patching single weights in place.
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

#include "dnnfi/fault.hpp"
#include "dnnfi/zoo.hpp"

namespace dnnfi {

// Where dnnfi looks for and keeps its files; options win over the environment.
struct Locations {
  std::filesystem::path home;                      // DNNFI_HOME; Default: ~/.cache/dnnfi
  std::optional<std::filesystem::path> weights_dir;  // --weights-dir / DNNFI_WEIGHTS_DIR
  std::optional<std::filesystem::path> data_dir;     // --data-dir / DNNFI_DATA_DIR
};
Locations resolve_locations(const std::optional<std::filesystem::path>& weights_dir,
                            const std::optional<std::filesystem::path>& data_dir);

// Geometry of a zero-padded Conv2d, to recompute single output channels.
struct ConvGeometry {
  std::vector<std::int64_t> stride, padding, dilation;
  std::int64_t groups = 1;
};

// A block computing post(main(x) + shortcut(x)), `main` being a plain sequence of children.
struct ResidualPlan {
  std::string block;              // module path, e.g. "layer2.1"
  std::vector<std::string> main;  // child names in order
  std::string shortcut, post;     // child names
};

// The metadata file the exporter writes beside the TorchScript file.
struct ModelMeta {
  std::string name, dataset;
  int classes = 0;
  std::vector<std::int64_t> input;
  std::vector<float> mean, std;
  std::string checkpoint;     // file the weights came from, "none" for a structure-only export
  bool sequential = false;    // forward is the plain sequence of the top-level children
  std::vector<Layer> layers;  // injectable layers in parameter order
  std::unordered_map<std::string, ConvGeometry> convs;  // by layer name
  std::vector<ResidualPlan> residuals;
};
ModelMeta read_model_meta(const std::filesystem::path& path);

struct ModelFiles {
  std::filesystem::path torchscript, meta;
};
// Metadata only (no checkpoint needed): enough for `layers` and `faultlist`.
ModelMeta prepare_model_meta(const ZooEntry& entry, const Locations& where);
// The TorchScript export with the published weights, exporting it on first use.
ModelFiles prepare_model(const ZooEntry& entry, const Locations& where);

class Model {
 public:
  // Loads an export onto `device` in eval mode with gradients off. With `channels_last`
  // 4-D weights (and the inputs the engines feed) use NHWC, oneDNN's native layout.
  static Model load(const ModelFiles& files, const torch::Device& device, bool channels_last = true);

  const ModelMeta& meta() const { return meta_; }
  torch::jit::Module& module() { return module_; }
  const torch::Device& device() const { return device_; }
  // Puts a batch on the model's device in the model's memory format.
  torch::Tensor prepare_input(const torch::Tensor& batch) const;
  torch::Tensor forward(const torch::Tensor& batch);
  // The weight parameter of an injectable layer (shares storage with the module).
  torch::Tensor weight(const std::string& layer) const;
  // Its bias, undefined when the layer has none.
  torch::Tensor bias(const std::string& layer) const;

 private:
  Model(torch::jit::Module module, ModelMeta meta, torch::Device device, bool channels_last);
  torch::jit::Module module_;
  ModelMeta meta_;
  torch::Device device_;
  bool channels_last_;
  std::unordered_map<std::string, torch::Tensor> weights_, biases_;
};

// A 0-dim view of one element of `tensor` by PyTorch index (whatever its memory format).
torch::Tensor element(torch::Tensor tensor, const std::vector<std::int64_t>& index);
// Stores `value` into a 0-dim view with its exact bits (NaN payloads, signed zeros) on any device.
void store_bits(const torch::Tensor& slot, float value);

// Applies one fault to its weight for the lifetime of the object and restores the exact
// original bits afterwards (also on exceptions).
class ScopedFault {
 public:
  ScopedFault(const Model& model, const Fault& fault, FaultModel fault_model);
  ~ScopedFault();
  ScopedFault(const ScopedFault&) = delete;
  ScopedFault& operator=(const ScopedFault&) = delete;
  float original() const { return original_; }
  float faulty() const { return faulty_; }

 private:
  torch::Tensor slot_;  // a 0-dim view of the faulted weight
  float original_, faulty_;
};

// Runs a command (argv[0] is looked up on PATH), inheriting stdio; returns its exit status.
int run_process(const std::vector<std::string>& argv);
// The Python interpreter that has torch (DNNFI_PYTHON, else /usr/bin/python3) and the
// scripts directory (DNNFI_SCRIPTS_DIR, else the source tree's scripts/).
std::string python_interpreter();
std::filesystem::path scripts_dir();

}  // namespace dnnfi
