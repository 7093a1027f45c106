#pragma once
// Test sets: opened from a format and a path, normalized as the seed did.
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/names.hpp"

namespace dnnfi {

struct Dataset {
  torch::Tensor images;  // float32, N x C x H x W, normalized
  torch::Tensor labels;  // int64, N
  std::int64_t size() const { return labels.size(0); }
};

enum class DataFormat {
  kCifar10,      // the CIFAR-10 binary test batch (test_batch.bin)
  kCifar100,     // the CIFAR-100 binary test set (test.bin), fine labels
  kGtsrb,        // the GTSRB final test set: a folder with GT-final_test.csv and Final_Test/Images/
  kImageFolder,  // one sub-folder of PNG / JPEG / PPM images per class, classes in sorted name order
  kTensorFile,   // torch.save({'images': X, 'labels': y}): X uint8 or float32 N x C x H x W, y int64 N
};
inline constexpr Named<DataFormat> kDataFormatNames[] = {{DataFormat::kCifar10, "cifar10"},
                                                         {DataFormat::kCifar100, "cifar100"},
                                                         {DataFormat::kGtsrb, "gtsrb"},
                                                         {DataFormat::kImageFolder, "image folder"},
                                                         {DataFormat::kTensorFile, "tensor file"}};
std::optional<DataFormat> parse_data_format(std::string_view text);
std::string_view to_string(DataFormat format);

// Per channel, applied after scaling pixels to 0..1: (x / 255 - mean) / std, in float32. Empty:
// the scaling alone.
struct Normalization {
  std::vector<float> mean, std;
};

// A test set to open: its format, where it is, and how its images become model inputs.
struct DataSource {
  DataFormat format = DataFormat::kCifar10;
  std::filesystem::path path;  // the binary file (CIFAR, tensors), the folder (GTSRB, images)
  Normalization normalization;
  std::vector<std::int64_t> size;  // H, W the images are resized to (GTSRB, images); empty: as stored
};

// A test set given by the user (--data SPEC), recognised by what it is: a folder (of class
// folders), a .pt / .pth tensor file, or a CIFAR-10 / CIFAR-100 .bin file (told apart by size).
DataSource data_source(const std::filesystem::path& spec, Normalization normalization,
                       std::vector<std::int64_t> size);

// Reads the whole test set, or its first `limit` images when given.
Dataset open_dataset(const DataSource& source, std::optional<std::int64_t> limit = std::nullopt);

// CIFAR-10 binary test batch: 10,000 records of 1 label byte + 3,072 pixel bytes (R, G, B
// planes of 32x32). `limit` > 0 keeps the first `limit` images.
Dataset read_cifar10(const std::filesystem::path& file, const Normalization& normalization,
                     std::int64_t limit = 0);

// CIFAR-100 binary test set: 10,000 records of a coarse and a fine label byte + 3,072 pixel
// bytes; the fine label (0..99) is used, as the zoo's CIFAR-100 models predict it.
Dataset read_cifar100(const std::filesystem::path& file, const Normalization& normalization,
                      std::int64_t limit = 0);

// GTSRB final test set: GT-final_test.csv (';'-separated, CRLF: Filename;Width;Height;
// Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId) and Final_Test/Images/*.ppm (P6, '#' comments allowed)
// under `root`. Each image is resized to `side` x `side` as torchvision's Resize does on PIL
// images (bilinear, antialiased when shrinking, rounded to 8 bits), then normalized.
Dataset read_gtsrb(const std::filesystem::path& root, const Normalization& normalization, std::int64_t side,
                   std::int64_t limit = 0);
// The file the GTSRB reader expects under its root.
inline constexpr const char* kGtsrbGroundTruth = "GT-final_test.csv";

// One sub-folder per class (sorted names), every PNG / JPEG / PPM / BMP image in it (sorted
// names), decoded by stb_image to 8-bit RGB; all of one size unless `size` (H, W) resizes them.
Dataset read_image_folder(const std::filesystem::path& root, const Normalization& normalization,
                          const std::vector<std::int64_t>& size, std::int64_t limit = 0);
// A tensor file written by torch.save({'images': X, 'labels': y}): uint8 images are scaled to 0..1
// (and resized to `size` when given), float32 ones taken as already scaled; then normalized.
Dataset read_tensor_file(const std::filesystem::path& file, const Normalization& normalization,
                         const std::vector<std::int64_t>& size, std::int64_t limit = 0);
// Labels 0..classes-1, or an InputError naming `source` and the first image out of range.
void check_labels(const Dataset& data, std::int64_t classes, const std::string& source);

// An 8-bit RGB image (H x W x 3, uint8) from a binary PPM file.
torch::Tensor read_ppm(const std::filesystem::path& file);
// Resize like PIL's bilinear resize of an 8-bit image: H x W x 3 uint8 in, height x width x 3 out.
torch::Tensor resize_like_pil(const torch::Tensor& image, std::int64_t height, std::int64_t width);

}  // namespace dnnfi
