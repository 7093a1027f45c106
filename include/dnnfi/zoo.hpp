#pragma once
// The model zoo registry (models/zoo.tsv, compiled in): what each seed model/dataset pair is,
// how to normalize its inputs and where its published checkpoint and test set come from. The
// zoo only maps names to model files and data sources; of the library only ModelSource, which
// resolves zoo names, and the commands use it.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/dataset.hpp"
#include "dnnfi/locations.hpp"
#include "dnnfi/model.hpp"
#include "dnnfi/model_info.hpp"

namespace dnnfi {

struct ZooEntry {
  std::string name;     // lower case, e.g. "resnet20"
  std::string dataset;  // "cifar10", "cifar100", "gtsrb"
  int classes = 0;
  std::vector<std::int64_t> input;  // C, H, W
  Normalization normalization;      // per channel, applied after x/255
  double seed_top1 = 0;             // the seed's published top-1 accuracy, percent
  std::string weights_file;         // e.g. "ResNet20.th"; empty when none is published
  std::string url;                  // checkpoint URL; empty when none is published
  std::string sha256;               // hex, "prefix:<hex>" when only a prefix is known, or empty
  std::int64_t size = -1;           // checkpoint bytes, -1 when unknown
  std::int64_t fault_weights = 0;   // weights in conv + linear layers
};

const std::vector<ZooEntry>& zoo();
// The zoo's datasets, in the registry's order ("cifar10", "cifar100", "gtsrb").
std::vector<std::string> zoo_dataset_names();
// Case-insensitive lookup ("ResNet20", "Vgg11_bn"); throws a usage Error listing the zoo.
const ZooEntry& find_model(const std::string& name, const std::string& dataset);

// The model info of a zoo model, exporting its structure (no checkpoint needed) on first use.
ModelInfo zoo_model_info(const ZooEntry& entry, const Locations& where);
// The TorchScript export of a zoo model with its published weights, exported on first use
// (the checkpoint is checked against its sha256 first).
ModelFiles zoo_model_files(const ZooEntry& entry, const Locations& where);

// The official test set of a zoo entry's dataset with the entry's normalization: under
// --data-dir / DNNFI_DATA_DIR when given, else under DNNFI_HOME/data, downloaded from the
// official archive (and verified) when missing.
DataSource zoo_test_set(const ZooEntry& entry, const Locations& where);

// One row of `dnnfi models`.
struct ZooStatus {
  const ZooEntry* entry = nullptr;
  std::int64_t fault_list_size = 0;  // the default statistical list's size
  bool fault_list_exact = false;     // false: from the formula, layers not exported yet
  std::string checkpoint;            // "verified", "present", "missing", "not published"
};
std::vector<ZooStatus> zoo_status(const std::optional<std::filesystem::path>& weights_dir);

}  // namespace dnnfi
