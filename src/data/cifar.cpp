// The CIFAR-10 and CIFAR-100 binary test sets.
#include <fmt/format.h>
#include <torch/torch.h>

#include <fstream>

#include "dnnfi/dataset.hpp"
#include "dnnfi/errors.hpp"
#include "normalize.hpp"

namespace dnnfi {
namespace {

constexpr std::int64_t kCifarRecords = 10000;
constexpr std::int64_t kCifarPixels = 3 * 32 * 32;

// The two binary CIFAR test sets differ only in their label bytes.
struct CifarFormat {
  const char* title;
  std::int64_t label_bytes;   // bytes before the pixels
  std::int64_t label_offset;  // which of them is the label used
  std::int64_t classes;
};
constexpr CifarFormat kCifar10{"CIFAR-10", 1, 0, 10};
constexpr CifarFormat kCifar100{"CIFAR-100", 2, 1, 100};  // coarse, fine

Dataset read_cifar(const CifarFormat& format, const std::filesystem::path& file,
                   const Normalization& normalization, std::int64_t limit) {
  const std::int64_t record_bytes = format.label_bytes + kCifarPixels;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ResourceError(fmt::format("{}: cannot open the {} test set", file.string(), format.title));
  in.seekg(0, std::ios::end);
  const auto bytes = static_cast<std::int64_t>(in.tellg());
  if (bytes != kCifarRecords * record_bytes)
    throw ResourceError(
        fmt::format("{}: {} bytes, but the {} test set has {} (10,000 records of {}); "
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
  return Dataset{normalize(pixels, normalization).contiguous(), labels.contiguous()};
}

}  // namespace

Dataset read_cifar10(const std::filesystem::path& file, const Normalization& normalization,
                     std::int64_t limit) {
  return read_cifar(kCifar10, file, normalization, limit);
}

Dataset read_cifar100(const std::filesystem::path& file, const Normalization& normalization,
                      std::int64_t limit) {
  return read_cifar(kCifar100, file, normalization, limit);
}

}  // namespace dnnfi
