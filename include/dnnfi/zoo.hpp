#pragma once
// The model zoo registry (models/zoo.tsv, compiled in): what each seed model/dataset pair
// is, how to normalize its inputs and where its published checkpoint comes from.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dnnfi {

struct ZooEntry {
  std::string name;                    // lower case, e.g. "resnet20"
  std::string dataset;                 // "cifar10", "cifar100", "gtsrb"
  int classes = 0;
  std::vector<std::int64_t> input;     // C, H, W
  std::vector<float> mean, std;        // per channel, applied after x/255
  double seed_top1 = 0;                // the seed's published top-1 accuracy, percent
  std::string weights_file;            // e.g. "ResNet20.th"; empty when none is published
  std::string url;                     // checkpoint URL; empty when none is published
  std::string sha256;                  // hex, "prefix:<hex>" when only a prefix is known, or empty
  std::int64_t size = -1;              // checkpoint bytes, -1 when unknown
  std::int64_t fault_weights = 0;      // weights in conv + linear layers
};

const std::vector<ZooEntry>& zoo();
// Case-insensitive lookup ("ResNet20", "Vgg11_bn"); throws a usage Error listing the zoo.
const ZooEntry& find_model(const std::string& name, const std::string& dataset);

}  // namespace dnnfi
