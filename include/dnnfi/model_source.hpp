#pragma once
// Where a model comes from: a zoo entry (exported from the seed's checkpoint on first use), or a
// TorchScript file with its model info. Whatever the source, the result is the same pair of
// files, which Model::load turns into a Model.
#include <filesystem>
#include <optional>
#include <string>

#include "dnnfi/locations.hpp"
#include "dnnfi/model.hpp"
#include "dnnfi/model_info.hpp"

namespace dnnfi {

class ModelSource {
 public:
  // A zoo model by the seed's name and dataset, in any case ("ResNet20", "cifar10").
  static ModelSource zoo(std::string name, std::string dataset);
  // A TorchScript module with its model info file, or without (empty `info`): a model of one's
  // own, its layers found in the module (--model FILE.pt).
  static ModelSource files(ModelFiles files);

  // The model info alone; a zoo model needs no checkpoint for it (`layers`, `faultlist`).
  ModelInfo info(const Locations& where) const;
  // The TorchScript export with trained weights; a zoo model is exported on first use.
  ModelFiles prepare(const Locations& where) const;
  // Every float parameter as an injectable layer (--params all; loads the module).
  std::vector<Layer> parameter_layers(const Locations& where) const;
  // "resnet20/cifar10", or the TorchScript file, for messages.
  std::string label() const;
  bool is_zoo() const { return !files_.has_value(); }

 private:
  ModelSource() = default;
  std::string name_, dataset_;
  std::optional<ModelFiles> files_;
};

}  // namespace dnnfi
