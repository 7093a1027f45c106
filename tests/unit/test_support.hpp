#pragma once
// Shared fixtures: the ResNet20 layer table and the location of ../shared.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "dnnfi/fault.hpp"

namespace dnnfi::test {

// ResNet20 (CIFAR-10) injectable layers, from the architecture (He et al. 2016, section 4.2).
inline std::vector<Layer> resnet20_layers() {
  std::vector<Layer> layers{{"conv1", {16, 3, 3, 3}}};
  const std::int64_t planes[] = {16, 32, 64};
  std::int64_t in = 16;
  for (int stage = 0; stage < 3; ++stage) {
    for (int block = 0; block < 3; ++block) {
      const std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
      layers.push_back({prefix + "conv1", {planes[stage], in, 3, 3}});
      layers.push_back({prefix + "conv2", {planes[stage], planes[stage], 3, 3}});
      in = planes[stage];
    }
  }
  layers.push_back({"linear", {10, 64}});
  return layers;
}

// The read-only shared inputs (DNNFI_SHARED; main.cpp defaults it to the configured path).
inline std::filesystem::path shared_dir() {
  if (const char* dir = std::getenv("DNNFI_SHARED")) return dir;
  return DNNFI_TEST_SHARED_DIR;
}

}  // namespace dnnfi::test
