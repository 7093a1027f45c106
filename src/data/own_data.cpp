// Test sets of the user's own: a folder of class folders of images, or a tensor file.
#include <fmt/format.h>
#include <stb/stb_image.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>

#include "dnnfi/dataset.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/fault.hpp"
#include "normalize.hpp"
#include "text.hpp"

namespace dnnfi {
namespace {

constexpr std::int64_t kCifar10Bytes = 10000 * (1 + 3072);
constexpr std::int64_t kCifar100Bytes = 10000 * (2 + 3072);

bool is_image(const std::filesystem::path& file) {
  const auto ext = text::lower(file.extension().string());
  for (const char* known : {".png", ".jpg", ".jpeg", ".ppm", ".pnm", ".bmp"})
    if (ext == known) return true;
  return false;
}

std::vector<std::filesystem::path> sorted_entries(const std::filesystem::path& dir, bool folders) {
  std::vector<std::filesystem::path> entries;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (folders ? entry.is_directory() : (entry.is_regular_file() && is_image(entry.path())))
      entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  return entries;
}

// H x W x 3 uint8, decoded by stb_image.
torch::Tensor decode(const std::filesystem::path& file) {
  int width = 0, height = 0, channels = 0;
  unsigned char* pixels = stbi_load(file.c_str(), &width, &height, &channels, /*desired_channels=*/3);
  if (pixels == nullptr)
    throw InputError(file.string() + ": cannot read the image (" + stbi_failure_reason() + ")");
  auto image = torch::from_blob(pixels, {height, width, 3}, torch::kUInt8).clone();
  stbi_image_free(pixels);
  return image;
}

}  // namespace

DataSource data_source(const std::filesystem::path& spec, Normalization normalization,
                       std::vector<std::int64_t> size) {
  DataSource source;
  source.path = spec;
  source.normalization = std::move(normalization);
  source.size = std::move(size);
  if (std::filesystem::is_directory(spec)) {
    source.format = DataFormat::kImageFolder;
    return source;
  }
  if (!std::filesystem::exists(spec))
    throw ResourceError("--data " + spec.string() + ": no such file or folder");
  const auto ext = text::lower(spec.extension().string());
  if (ext == ".pt" || ext == ".pth") {
    source.format = DataFormat::kTensorFile;
    return source;
  }
  const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(spec));
  if (ext == ".bin" && (bytes == kCifar10Bytes || bytes == kCifar100Bytes)) {
    source.format = bytes == kCifar10Bytes ? DataFormat::kCifar10 : DataFormat::kCifar100;
    return source;
  }
  throw InputError(
      "--data " + spec.string() +
      ": expected a folder of class folders of images, a .pt / .pth tensor file, or a CIFAR-10 / "
      "CIFAR-100 binary .bin file (" +
      std::to_string(kCifar10Bytes) + " / " + std::to_string(kCifar100Bytes) + " bytes)");
}

Dataset read_image_folder(const std::filesystem::path& root, const Normalization& normalization,
                          const std::vector<std::int64_t>& size, std::int64_t limit) {
  const auto classes = sorted_entries(root, /*folders=*/true);
  if (classes.empty())
    throw InputError(root.string() + ": no class folders (one sub-folder of images per class)");
  std::vector<torch::Tensor> images;
  std::vector<std::int64_t> labels;
  std::filesystem::path first;
  for (std::size_t label = 0; label < classes.size(); ++label) {
    for (const auto& file : sorted_entries(classes[label], /*folders=*/false)) {
      if (limit > 0 && static_cast<std::int64_t>(labels.size()) >= limit) break;
      auto image = decode(file);
      if (size.size() == 2) image = resize_like_pil(image, size[0], size[1]);
      if (!images.empty() &&
          (image.size(0) != images.front().size(1) || image.size(1) != images.front().size(2)))
        throw InputError(fmt::format("{}: {}x{} pixels, but {} has {}x{}; give --size HxW to resize them all",
                                     file.string(), image.size(0), image.size(1), first.string(),
                                     images.front().size(1), images.front().size(2)));
      if (images.empty()) first = file;
      images.push_back(image.permute({2, 0, 1}));
      labels.push_back(static_cast<std::int64_t>(label));
    }
  }
  if (images.empty())
    throw InputError(root.string() + ": no PNG / JPEG / PPM / BMP images in its class folders");
  return Dataset{normalize(torch::stack(images), normalization).contiguous(),
                 torch::tensor(labels, torch::kLong)};
}

Dataset read_tensor_file(const std::filesystem::path& file, const Normalization& normalization,
                         const std::vector<std::int64_t>& size, std::int64_t limit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ResourceError(file.string() + ": cannot open the tensor file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw InputError(file.string() + ": not a file written by torch.save (" + e.what_without_backtrace() +
                     ")");
  }
  const std::string expected =
      "; expected torch.save({'images': X, 'labels': y}) with X uint8 or float32 "
      "N x C x H x W images (or, for a model of one's own, float32 N x ... features or int64 N x ... "
      "token ids) and y int64 N";
  if (!value.isGenericDict()) throw InputError(file.string() + ": holds no dict" + expected);
  torch::Tensor images, labels;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) continue;
    if (item.key().toStringRef() == "images") images = item.value().toTensor();
    if (item.key().toStringRef() == "labels") labels = item.value().toTensor();
  }
  if (!images.defined() || !labels.defined())
    throw InputError(file.string() + ": no 'images' or 'labels' tensor" + expected);
  // Images: uint8 or float32 N x C x H x W. Inputs that are not images (float32 features or int64
  // token ids of any other shape) go to the model as they are.
  const bool raw = images.dim() >= 1 && (images.scalar_type() == torch::kLong ||
                                         (images.scalar_type() == torch::kFloat && images.dim() != 4));
  if (!raw &&
      (images.dim() != 4 || (images.scalar_type() != torch::kUInt8 && images.scalar_type() != torch::kFloat)))
    throw InputError(fmt::format("{}: 'images' is {} of shape {}{}", file.string(),
                                 c10::toString(images.scalar_type()), format_shape(images.sizes().vec()),
                                 expected));
  if (labels.dim() != 1 || labels.scalar_type() != torch::kLong || labels.size(0) != images.size(0))
    throw InputError(fmt::format("{}: 'labels' is {} of shape {}, for {} images{}", file.string(),
                                 c10::toString(labels.scalar_type()), format_shape(labels.sizes().vec()),
                                 images.size(0), expected));
  if (limit > 0 && limit < images.size(0)) {
    images = images.narrow(0, 0, limit);
    labels = labels.narrow(0, 0, limit);
  }
  if (raw) {
    const auto what =
        fmt::format("{} {} of shape {}", file.string(),
                    images.scalar_type() == torch::kLong ? "holds int64 token ids" : "holds float32 features",
                    format_shape(images.sizes().vec()));
    if (!normalization.mean.empty() || !normalization.std.empty())
      throw Error(ExitCode::kUsage, "--mean/--std (or a zoo model's own) normalize images; " + what +
                                        ", which go to a model of one's own as they are");
    if (size.size() == 2) throw Error(ExitCode::kUsage, "--size resizes images; " + what);
    if (images.scalar_type() == torch::kFloat && !torch::isfinite(images).all().item<bool>())
      throw InputError(what + " with NaN or infinite values");
    return Dataset{images.contiguous(), labels.contiguous()};
  }
  if (images.scalar_type() == torch::kFloat) {
    // Float pixels are scaled already: anything outside 0..1 (or not finite) is data of another
    // convention, which would be normalized as if it were pixels and give another model's answers.
    const auto finite = torch::isfinite(images).all(/*dim=*/3).all(/*dim=*/2).all(/*dim=*/1);
    if (!finite.all().item<bool>()) {
      const auto image = finite.logical_not().nonzero()[0].item<std::int64_t>();
      throw InputError(
          fmt::format("{}: image {} holds NaN or infinite values; float32 images must hold "
                      "pixels in 0..1",
                      file.string(), image));
    }
    const auto low = images.min().item<float>(), high = images.max().item<float>();
    if (low < 0 || high > 1)
      throw InputError(
          fmt::format("{}: float32 images hold values from {:g} to {:g}; they must be pixels in "
                      "0..1 (dnnfi normalizes them with --mean/--std): scale them, or store "
                      "8-bit images as uint8",
                      file.string(), low, high));
    if (size.size() == 2)
      throw Error(ExitCode::kUsage,
                  "--size resizes 8-bit images only; " + file.string() + " holds float32 ones");
    return Dataset{normalize_scaled(images.clone(), normalization).contiguous(), labels.contiguous()};
  }
  if (size.size() == 2) {
    std::vector<torch::Tensor> resized;
    for (std::int64_t i = 0; i < images.size(0); ++i)
      resized.push_back(
          resize_like_pil(images[i].permute({1, 2, 0}).contiguous(), size[0], size[1]).permute({2, 0, 1}));
    images = torch::stack(resized);
  }
  return Dataset{normalize(images, normalization).contiguous(), labels.contiguous()};
}

void check_labels(const Dataset& data, std::int64_t classes, const std::string& source) {
  const auto bad = data.labels.lt(0).logical_or(data.labels.ge(classes)).nonzero();
  if (bad.size(0) == 0) return;
  const auto image = bad[0].item<std::int64_t>();
  throw InputError(fmt::format("{}: image {} has label {}, but the model has {} classes (0..{})", source,
                               image, data.labels[image].item<std::int64_t>(), classes, classes - 1));
}

}  // namespace dnnfi
