#include "dnnfi/dataset.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

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

namespace {
constexpr const char* kGtsrbCsv = "GT-final_test.csv";

// The GTSRB root under a data directory: DIR/GTSRB (the official archives' layout),
// DIR/gtsrb, or DIR itself.
std::optional<std::filesystem::path> gtsrb_root(const std::filesystem::path& dir) {
  for (const auto& candidate : {dir / "GTSRB", dir / "gtsrb", dir})
    if (std::filesystem::exists(candidate / kGtsrbCsv)) return candidate;
  return std::nullopt;
}
}  // namespace

std::filesystem::path locate_test_set(const std::string& dataset, const Locations& where) {
  if (dataset == "gtsrb") {
    if (where.data_dir) {
      if (auto root = gtsrb_root(*where.data_dir)) return *root;
      throw ResourceError(where.data_dir->string() + " holds no GTSRB/GT-final_test.csv; --data-dir / DNNFI_DATA_DIR "
                          "must hold the official GTSRB final test set (GTSRB/Final_Test/Images/ and "
                          "GTSRB/GT-final_test.csv)");
    }
    const auto root = where.home / "data";
    if (auto found = gtsrb_root(root)) return *found;
    spdlog::info("the GTSRB test set is not in {}: downloading it", root.string());
    const int status = run_process({python_interpreter(), (scripts_dir() / "prepare_data.py").string(), dataset,
                                    root.string()});
    if (auto found = gtsrb_root(root); status == 0 && found) return *found;
    throw ResourceError("could not download the GTSRB test set (message above); download GTSRB_Final_Test_Images.zip "
                        "and GTSRB_Final_Test_GT.zip by hand and pass --data-dir DIR holding GTSRB/");
  }
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
  if (entry.dataset == "gtsrb") return read_gtsrb(file, entry.mean, entry.std, entry.input[1], limit);
  if (entry.dataset == "cifar100") return read_cifar100(file, entry.mean, entry.std, limit);
  return read_cifar10(file, entry.mean, entry.std, limit);
}

}  // namespace dnnfi

namespace dnnfi {
namespace {

// Reads the next header token of a PPM, skipping whitespace and '#' comments.
std::string ppm_token(std::istream& in) {
  std::string token;
  for (int c = in.get(); c != EOF; c = in.get()) {
    if (c == '#') {
      while (c != EOF && c != '\n') c = in.get();
      if (!token.empty()) break;
    } else if (std::isspace(c)) {
      if (!token.empty()) break;
    } else {
      token += static_cast<char>(c);
    }
  }
  return token;
}

}  // namespace

torch::Tensor read_ppm(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ResourceError(file.string() + ": cannot open the image");
  const auto magic = ppm_token(in);
  if (magic != "P6") throw ResourceError(file.string() + ": not a binary PPM (P6) image");
  std::int64_t width = 0, height = 0, maxval = 0;
  try {
    width = std::stoll(ppm_token(in));
    height = std::stoll(ppm_token(in));
    maxval = std::stoll(ppm_token(in));  // the single whitespace after it was consumed
  } catch (const std::logic_error&) {
    throw ResourceError(file.string() + ": malformed PPM header");
  }
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535 || maxval != 255)
    throw ResourceError(fmt::format("{}: unsupported PPM ({}x{}, maxval {}); expected 8-bit RGB", file.string(),
                                    width, height, maxval));
  auto image = torch::empty({height, width, 3}, torch::kUInt8);
  in.read(reinterpret_cast<char*>(image.data_ptr<std::uint8_t>()), height * width * 3);
  if (in.gcount() != height * width * 3) throw ResourceError(file.string() + ": truncated PPM pixel data");
  return image;
}

torch::Tensor resize_like_pil(const torch::Tensor& image, std::int64_t height, std::int64_t width) {
  auto x = image.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat);
  // ATen's antialiased bilinear uses PIL's triangle filter with support scaled by the
  // shrink factor (plain bilinear when enlarging); PIL rounds its result to 8 bits.
  auto y = at::_upsample_bilinear2d_aa(x, {height, width}, /*align_corners=*/false);
  return y.round().clamp_(0, 255).to(torch::kUInt8).squeeze(0).permute({1, 2, 0}).contiguous();
}

Dataset read_gtsrb(const std::filesystem::path& root, const std::vector<float>& mean, const std::vector<float>& std,
                   std::int64_t side, std::int64_t limit) {
  const auto csv_path = root / kGtsrbCsv;
  std::ifstream in(csv_path, std::ios::binary);
  if (!in) throw ResourceError(csv_path.string() + ": cannot open the GTSRB ground truth");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId", 0) != 0)
    throw InputError(csv_path.string(), 1, "expected the header Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId");
  std::vector<torch::Tensor> images;
  std::vector<std::int64_t> labels;
  long line_no = 1;
  while ((limit <= 0 || static_cast<std::int64_t>(labels.size()) < limit) && std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream parts(line);
    for (std::string f; std::getline(parts, f, ';');) fields.push_back(f);
    if (fields.size() != 8) throw InputError(csv_path.string(), line_no, "expected 8 ';'-separated fields");
    std::int64_t label = -1;
    try {
      label = std::stoll(fields[7]);
    } catch (const std::logic_error&) {
    }
    if (label < 0 || label > 42) throw InputError(csv_path.string(), line_no, "ClassId '" + fields[7] + "' is not 0..42");
    const auto image = read_ppm(root / "Final_Test" / "Images" / fields[0]);
    images.push_back(resize_like_pil(image, side, side).permute({2, 0, 1}));
    labels.push_back(label);
  }
  if (images.empty()) throw ResourceError(csv_path.string() + ": no test images listed");
  auto pixels = torch::stack(images);
  return Dataset{normalize(pixels, mean, std).contiguous(), torch::tensor(labels, torch::kLong)};
}

}  // namespace dnnfi
