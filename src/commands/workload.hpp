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

}  // namespace dnnfi
