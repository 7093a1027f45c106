#pragma once
// A zoo model with the published weights on the real CIFAR-10 test set, for tests that run
// inference. ResNet20 on 300 images (two full batches of 128 and a remainder of 44) is shared.
#include <torch/torch.h>

#include <string>

#include "dnnfi/commands.hpp"
#include "dnnfi/zoo.hpp"

namespace dnnfi::test {

struct ZooModel {
  Locations where = resolve_locations(std::nullopt, std::nullopt);
  const ZooEntry& entry;
  Model model;
  Dataset data;

  ZooModel(const std::string& name, std::int64_t images, const Numerics& numerics = {},
           const torch::Device& device = torch::kCPU)
      : entry(find_model(name, "cifar10")),
        model(Model::load(zoo_model_files(entry, where), device, numerics)),
        data(open_dataset(zoo_test_set(entry, where), images)) {}

  static ZooModel& resnet20() {
    use_threads(1);  // CTest runs two tests at once on two cores
    static ZooModel instance("resnet20", 300);
    return instance;
  }

  static void use_threads(int threads) {
    InferenceOptions options;
    options.threads = threads;
    setup_inference(options);
  }

  torch::Tensor logits() {
    torch::InferenceMode guard;
    return model.forward(data.images);
  }
};

}  // namespace dnnfi::test
