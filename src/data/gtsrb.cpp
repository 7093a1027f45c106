// The GTSRB final test set (ground-truth CSV and PPM images) and the PIL-like resize it needs.
#include <fmt/format.h>
#include <torch/torch.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "dnnfi/dataset.hpp"
#include "dnnfi/errors.hpp"
#include "normalize.hpp"
#include "text.hpp"

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
    throw ResourceError(fmt::format("{}: unsupported PPM ({}x{}, maxval {}); expected 8-bit RGB",
                                    file.string(), width, height, maxval));
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

Dataset read_gtsrb(const std::filesystem::path& root, const Normalization& normalization, std::int64_t side,
                   std::int64_t limit) {
  const auto csv_path = root / kGtsrbGroundTruth;
  std::ifstream in(csv_path, std::ios::binary);
  if (!in) throw ResourceError(csv_path.string() + ": cannot open the GTSRB ground truth");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId", 0) != 0)
    throw InputError(csv_path.string(), 1,
                     "expected the header Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId");
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
    const std::int64_t label = text::parse_int(text::trim(fields[7])).value_or(-1);
    if (label < 0 || label > 42)
      throw InputError(csv_path.string(), line_no, "ClassId '" + fields[7] + "' is not 0..42");
    const auto image = read_ppm(root / "Final_Test" / "Images" / fields[0]);
    images.push_back(resize_like_pil(image, side, side).permute({2, 0, 1}));
    labels.push_back(label);
  }
  if (images.empty()) throw ResourceError(csv_path.string() + ": no test images listed");
  auto pixels = torch::stack(images);
  return Dataset{normalize(pixels, normalization).contiguous(), torch::tensor(labels, torch::kLong)};
}

}  // namespace dnnfi
