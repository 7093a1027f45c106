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
  std::string label;                // "resnet20/cifar10", for messages
  const ZooEntry* entry = nullptr;  // the zoo entry the model and its test set come from
  // The test set the model is evaluated on; located (and downloaded) only when asked for.
  DataSource data() const { return zoo_test_set(*entry, where); }
};

Workload resolve_workload(const ModelOptions& options);

}  // namespace dnnfi
