// Where the official test sets of the zoo's datasets are: a given data folder, or DNNFI_HOME/data,
// where scripts/prepare_data.py downloads and verifies the official archives.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dnnfi/errors.hpp"
#include "dnnfi/zoo.hpp"
#include "platform/process.hpp"

namespace dnnfi {
namespace {

// Where each official binary archive puts its test file.
struct CifarArchive {
  DataFormat format;
  const char* title;
  const char* member;  // path under the data directory
};
constexpr CifarArchive kCifarArchives[] = {
    {DataFormat::kCifar10, "CIFAR-10", "cifar-10-batches-bin/test_batch.bin"},
    {DataFormat::kCifar100, "CIFAR-100", "cifar-100-binary/test.bin"},
};

// The GTSRB root under a data directory: DIR/GTSRB (the official archives' layout),
// DIR/gtsrb, or DIR itself.
std::optional<std::filesystem::path> gtsrb_root(const std::filesystem::path& dir) {
  for (const auto& candidate : {dir / "GTSRB", dir / "gtsrb", dir})
    if (std::filesystem::exists(candidate / kGtsrbGroundTruth)) return candidate;
  return std::nullopt;
}

int download(DataFormat format, const std::filesystem::path& root) {
  return run_process({python_interpreter(), (scripts_dir() / "prepare_data.py").string(),
                      std::string(to_string(format)), root.string()});
}

std::filesystem::path locate_gtsrb(const Locations& where) {
  if (where.data_dir) {
    if (auto root = gtsrb_root(*where.data_dir)) return *root;
    throw ResourceError(where.data_dir->string() +
                        " holds no GTSRB/GT-final_test.csv; --data-dir / DNNFI_DATA_DIR "
                        "must hold the official GTSRB final test set (GTSRB/Final_Test/Images/ and "
                        "GTSRB/GT-final_test.csv)");
  }
  const auto root = where.home / "data";
  if (auto found = gtsrb_root(root)) return *found;
  spdlog::info("the GTSRB test set is not in {}: downloading it", root.string());
  const int status = download(DataFormat::kGtsrb, root);
  if (auto found = gtsrb_root(root); status == 0 && found) return *found;
  throw ResourceError(
      "could not download the GTSRB test set (message above); download GTSRB_Final_Test_Images.zip "
      "and GTSRB_Final_Test_GT.zip by hand and pass --data-dir DIR holding GTSRB/");
}

std::filesystem::path locate_cifar(const CifarArchive& archive, const Locations& where) {
  if (where.data_dir) {
    auto file = *where.data_dir / archive.member;
    if (!std::filesystem::exists(file))
      throw ResourceError(fmt::format(
          "{} does not exist; --data-dir / DNNFI_DATA_DIR must hold {} from the official {} binary archive",
          file.string(), archive.member, archive.title));
    return file;
  }
  const auto root = where.home / "data";
  auto file = root / archive.member;
  if (std::filesystem::exists(file)) return file;
  spdlog::info("the {} test set is not in {}: downloading it", archive.title, root.string());
  const int status = download(archive.format, root);
  if (status != 0 || !std::filesystem::exists(file))
    throw ResourceError(
        fmt::format("could not download the {} test set (message above); download the official binary "
                    "archive by hand and "
                    "pass --data-dir DIR holding {}",
                    archive.title, archive.member));
  return file;
}

}  // namespace

DataSource zoo_test_set(const ZooEntry& entry, const Locations& where) {
  const auto format = parse_data_format(entry.dataset);
  if (!format)
    throw ResourceError("the " + entry.dataset + " test set is not supported by this version of dnnfi");
  DataSource source;
  source.format = *format;
  source.normalization = entry.normalization;
  if (*format == DataFormat::kGtsrb) {
    source.path = locate_gtsrb(where);
    source.size = {entry.input[1], entry.input[2]};
    return source;
  }
  for (const auto& archive : kCifarArchives)
    if (archive.format == *format) source.path = locate_cifar(archive, where);
  return source;
}

}  // namespace dnnfi
