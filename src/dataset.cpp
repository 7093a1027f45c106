#include "dnnfi/dataset.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <fstream>

#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

constexpr std::int64_t kCifarRecords = 10000;
constexpr std::int64_t kCifarPixels = 3 * 32 * 32;

// The two binary CIFAR test sets differ only in their label bytes.
struct CifarFormat {
  const char* title;
  const char* member;         // path under the data directory
  std::int64_t label_bytes;   // bytes before the pixels
  std::int64_t label_offset;  // which of them is the label used
  std::int64_t classes;
};
constexpr CifarFormat kCifar10{"CIFAR-10", "cifar-10-batches-bin/test_batch.bin", 1, 0, 10};
constexpr CifarFormat kCifar100{"CIFAR-100", "cifar-100-binary/test.bin", 2, 1, 100};  // coarse, fine

const CifarFormat* cifar_format(const std::string& dataset) {
  if (dataset == "cifar10") return &kCifar10;
  if (dataset == "cifar100") return &kCifar100;
  return nullptr;
}

torch::Tensor normalize(torch::Tensor pixels, const std::vector<float>& mean, const std::vector<float>& std) {
  // Same float32 operations, in the same order, as torchvision's ToTensor + Normalize.
  auto x = pixels.to(torch::kFloat).div_(255);
  auto m = torch::tensor(mean, torch::kFloat).view({1, -1, 1, 1});
  auto s = torch::tensor(std, torch::kFloat).view({1, -1, 1, 1});
  return x.sub_(m).div_(s);
}

Dataset read_cifar(const CifarFormat& format, const std::filesystem::path& file, const std::vector<float>& mean,
                   const std::vector<float>& std, std::int64_t limit) {
  const std::int64_t record_bytes = format.label_bytes + kCifarPixels;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ResourceError(fmt::format("{}: cannot open the {} test set", file.string(), format.title));
  in.seekg(0, std::ios::end);
  const auto bytes = static_cast<std::int64_t>(in.tellg());
  if (bytes != kCifarRecords * record_bytes)
    throw ResourceError(fmt::format("{}: {} bytes, but the {} test set has {} (10,000 records of {}); "
                                    "it is truncated or another file: replace it with the official one",
                                    file.string(), bytes, format.title, kCifarRecords * record_bytes, record_bytes));
  in.seekg(0);
  const std::int64_t n = limit > 0 ? std::min(limit, kCifarRecords) : kCifarRecords;
  auto raw = torch::empty({n, record_bytes}, torch::kUInt8);
  in.read(reinterpret_cast<char*>(raw.data_ptr<std::uint8_t>()), n * record_bytes);
  if (!in) throw ResourceError(file.string() + ": read error");
  auto labels = raw.select(/*dim=*/1, format.label_offset).to(torch::kLong);
  const auto bad = (labels >= format.classes).nonzero();
  if (bad.size(0) > 0) {
    const auto record = bad[0].item<std::int64_t>();
    throw ResourceError(fmt::format("{}: record {} has label {}, {} labels are 0..{}; not a {} test set",
                                    file.string(), record, labels[record].item<std::int64_t>(), format.title,
                                    format.classes - 1, format.title));
  }
  auto pixels = raw.narrow(/*dim=*/1, format.label_bytes, kCifarPixels).reshape({n, 3, 32, 32});
  return Dataset{normalize(pixels, mean, std).contiguous(), labels.contiguous()};
}

}  // namespace

Dataset read_cifar10(const std::filesystem::path& file, const std::vector<float>& mean,
                     const std::vector<float>& std, std::int64_t limit) {
  return read_cifar(kCifar10, file, mean, std, limit);
}

Dataset read_cifar100(const std::filesystem::path& file, const std::vector<float>& mean,
                      const std::vector<float>& std, std::int64_t limit) {
  return read_cifar(kCifar100, file, mean, std, limit);
}

std::filesystem::path locate_test_set(const std::string& dataset, const Locations& where) {
  const CifarFormat* format = cifar_format(dataset);
  if (format == nullptr)
    throw ResourceError("the " + dataset + " test set is not supported by this version of dnnfi yet");
  if (where.data_dir) {
    auto file = *where.data_dir / format->member;
    if (!std::filesystem::exists(file))
      throw ResourceError(fmt::format("{} does not exist; --data-dir / DNNFI_DATA_DIR must hold {} from the "
                                      "official {} binary archive", file.string(), format->member, format->title));
    return file;
  }
  const auto root = where.home / "data";
  auto file = root / format->member;
  if (std::filesystem::exists(file)) return file;
  spdlog::info("the {} test set is not in {}: downloading it", format->title, root.string());
  const int status = run_process({python_interpreter(), (scripts_dir() / "prepare_data.py").string(), dataset,
                                  root.string()});
  if (status != 0 || !std::filesystem::exists(file))
    throw ResourceError(fmt::format("could not download the {} test set (message above); download the official "
                                    "binary archive by hand and pass --data-dir DIR holding {}",
                                    format->title, format->member));
  return file;
}

Dataset load_test_set(const ZooEntry& entry, const Locations& where, std::int64_t limit) {
  const auto file = locate_test_set(entry.dataset, where);
  if (entry.dataset == "cifar100") return read_cifar100(file, entry.mean, entry.std, limit);
  return read_cifar10(file, entry.mean, entry.std, limit);
}

}  // namespace dnnfi
