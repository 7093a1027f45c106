#pragma once
// Test sets, read from their official binary formats and normalized as the seed did.
#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/types.h>

#include "dnnfi/model.hpp"
#include "dnnfi/zoo.hpp"

namespace dnnfi {

struct Dataset {
  torch::Tensor images;  // float32, N x C x H x W, normalized
  torch::Tensor labels;  // int64, N
  std::int64_t size() const { return labels.size(0); }
};

// CIFAR-10 binary test batch: 10,000 records of 1 label byte + 3,072 pixel bytes (R, G, B
// planes of 32x32). Pixels become x/255, then (x - mean) / std per channel, in float32.
// `limit` > 0 keeps the first `limit` images.
Dataset read_cifar10(const std::filesystem::path& file, const std::vector<float>& mean,
                     const std::vector<float>& std, std::int64_t limit = 0);

// CIFAR-100 binary test set: 10,000 records of a coarse and a fine label byte + 3,072 pixel
// bytes; the fine label (0..99) is used, as the zoo's CIFAR-100 models predict it.
Dataset read_cifar100(const std::filesystem::path& file, const std::vector<float>& mean,
                      const std::vector<float>& std, std::int64_t limit = 0);

// GTSRB final test set: GT-final_test.csv (';'-separated, CRLF: Filename;Width;Height;
// Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId) and Final_Test/Images/*.ppm (P6, '#' comments allowed)
// under `root`. Each image is resized to `side` x `side` as torchvision's Resize does on PIL
// images (bilinear, antialiased when shrinking, rounded to 8 bits), then normalized.
Dataset read_gtsrb(const std::filesystem::path& root, const std::vector<float>& mean, const std::vector<float>& std,
                   std::int64_t side, std::int64_t limit = 0);

// An 8-bit RGB image (H x W x 3, uint8) from a binary PPM file.
torch::Tensor read_ppm(const std::filesystem::path& file);
// Resize like PIL's bilinear resize of an 8-bit image: H x W x 3 uint8 in, side x side x 3 out.
torch::Tensor resize_like_pil(const torch::Tensor& image, std::int64_t height, std::int64_t width);

// The test-set file for `dataset`: under --data-dir / DNNFI_DATA_DIR when given, else under
// DNNFI_HOME/data, downloaded from the official archive (and verified) when missing.
std::filesystem::path locate_test_set(const std::string& dataset, const Locations& where);

// Loads the test set a zoo model was trained for, with the model's normalization.
Dataset load_test_set(const ZooEntry& entry, const Locations& where, std::int64_t limit = 0);

}  // namespace dnnfi
