#pragma once
// What the commands resolve their ModelOptions into: a model source and a data source.
#include "dnnfi/commands.hpp"
#include "dnnfi/dataset.hpp"
#include "dnnfi/model_source.hpp"
#include "dnnfi/zoo.hpp"

namespace dnnfi {

struct Workload {
  Locations where;
  ModelSource model;
  std::string label;                // "resnet20/cifar10" or the TorchScript file, for messages
  const ZooEntry* entry = nullptr;  // the zoo entry of a zoo model (its test set, normalization)
  ModelOptions options;
  // The test set the model is evaluated on (--data, else the zoo's); located (and downloaded)
  // only when asked for.
  DataSource data() const;
  // Its injectable layers (--params: parameters too), in parameter order.
  std::vector<Layer> layers() const;
};

Workload resolve_workload(const ModelOptions& options);

// Runs the first image through the model: its output gives the classes, which the labels must
// fit; images that do not fit the model are an InputError naming the data.
void check_model_fits(Model& model, const Dataset& data, const std::string& data_label);

// Moves the test set's images to the model's device, in its memory format, once: batches are
// then views of it, with no copy per batch and fault.
void place_on_device(Dataset& data, const Model& model);

// Loads the model for inference on `device` with the numerics `inference` asks for (its
// --emulate-tf32 layers rewritten), and says in the log which numerics are in force.
Model load_for_inference(const ModelFiles& files, const torch::Device& device,
                         const InferenceOptions& inference, FaultTarget target = FaultTarget::kWeights);

// What faults of `target` may hit, with their shapes: the injectable layers (their weights), or
// with activation targets the same layers' outputs of one image, found by one forward pass of
// the first test image (a model of its own needs --data). `format` must suit them: a usage Error
// for --format with --params all or with activations.
std::vector<Layer> fault_targets(const Workload& work, const FaultSpace& space);

}  // namespace dnnfi
