#include "dnnfi/dataset.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <fstream>

#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

constexpr std::int64_t kCifarRecords = 10000;
constexpr std::int64_t kCifarPixels = 3 * 32 * 32;
constexpr std::int64_t kCifarRecordBytes = 1 + kCifarPixels;
constexpr const char* kCifar10TestBatch = "cifar-10-batches-bin/test_batch.bin";

torch::Tensor normalize(torch::Tensor pixels, const std::vector<float>& mean, const std::vector<float>& std) {
  // Same float32 operations, in the same order, as torchvision's ToTensor + Normalize.
  auto x = pixels.to(torch::kFloat).div_(255);
  auto m = torch::tensor(mean, torch::kFloat).view({1, -1, 1, 1});
  auto s = torch::tensor(std, torch::kFloat).view({1, -1, 1, 1});
  return x.sub_(m).div_(s);
}

}  // namespace

Dataset read_cifar10(const std::filesystem::path& file, const std::vector<float>& mean,
                     const std::vector<float>& std, std::int64_t limit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ResourceError(file.string() + ": cannot open the CIFAR-10 test batch");
  in.seekg(0, std::ios::end);
  const auto bytes = static_cast<std::int64_t>(in.tellg());
  if (bytes != kCifarRecords * kCifarRecordBytes)
    throw ResourceError(fmt::format("{}: {} bytes, but the CIFAR-10 test batch has {} (10,000 records of {}); "
                                    "it is truncated or another file: replace it with the official one",
                                    file.string(), bytes, kCifarRecords * kCifarRecordBytes, kCifarRecordBytes));
  in.seekg(0);
  const std::int64_t n = limit > 0 ? std::min(limit, kCifarRecords) : kCifarRecords;
  auto raw = torch::empty({n, kCifarRecordBytes}, torch::kUInt8);
  in.read(reinterpret_cast<char*>(raw.data_ptr<std::uint8_t>()), n * kCifarRecordBytes);
  if (!in) throw ResourceError(file.string() + ": read error");
  auto labels = raw.select(/*dim=*/1, /*index=*/0).to(torch::kLong);
  const auto bad = (labels > 9).nonzero();
  if (bad.size(0) > 0) {
    const auto record = bad[0].item<std::int64_t>();
    throw ResourceError(fmt::format("{}: record {} has label {}, CIFAR-10 labels are 0..9; not a CIFAR-10 "
                                    "test batch", file.string(), record, labels[record].item<std::int64_t>()));
  }
  auto pixels = raw.narrow(/*dim=*/1, /*start=*/1, kCifarPixels).reshape({n, 3, 32, 32});
  return Dataset{normalize(pixels, mean, std).contiguous(), labels.contiguous()};
}

std::filesystem::path locate_test_set(const std::string& dataset, const Locations& where) {
  if (dataset != "cifar10")
    throw ResourceError("the " + dataset + " test set is not supported by this version of dnnfi yet");
  if (where.data_dir) {
    auto file = *where.data_dir / kCifar10TestBatch;
    if (!std::filesystem::exists(file))
      throw ResourceError(file.string() + " does not exist; --data-dir / DNNFI_DATA_DIR must hold "
                          "cifar-10-batches-bin/ from the official CIFAR-10 binary archive");
    return file;
  }
  const auto root = where.home / "data";
  auto file = root / kCifar10TestBatch;
  if (std::filesystem::exists(file)) return file;
  spdlog::info("the CIFAR-10 test set is not in {}: downloading it", root.string());
  const int status = run_process({python_interpreter(), (scripts_dir() / "prepare_data.py").string(), dataset,
                                  root.string()});
  if (status != 0 || !std::filesystem::exists(file))
    throw ResourceError("could not download the CIFAR-10 test set (message above); download "
                        "cifar-10-binary.tar.gz by hand and pass --data-dir DIR holding its cifar-10-batches-bin/");
  return file;
}

Dataset load_test_set(const ZooEntry& entry, const Locations& where, std::int64_t limit) {
  return read_cifar10(locate_test_set(entry.dataset, where), entry.mean, entry.std, limit);
}

}  // namespace dnnfi
