#include "dnnfi/dataset.hpp"

#include "dnnfi/errors.hpp"

namespace dnnfi {

std::optional<DataFormat> parse_data_format(std::string_view text) {
  return value_named(kDataFormatNames, text);
}
std::string_view to_string(DataFormat format) { return name_of(kDataFormatNames, format); }

namespace {
Dataset read_dataset(const DataSource& source, std::int64_t first) {
  switch (source.format) {
    case DataFormat::kCifar10:
      return read_cifar10(source.path, source.normalization, first);
    case DataFormat::kCifar100:
      return read_cifar100(source.path, source.normalization, first);
    case DataFormat::kGtsrb:
      if (source.size.size() != 2 || source.size[0] != source.size[1])
        throw Error(ExitCode::kFailure, "GTSRB images are resized to a square; got no or another size");
      return read_gtsrb(source.path, source.normalization, source.size[0], first);
    case DataFormat::kImageFolder:
      return read_image_folder(source.path, source.normalization, source.size, first);
    case DataFormat::kTensorFile:
      return read_tensor_file(source.path, source.normalization, source.size, first);
  }
  throw Error(ExitCode::kFailure, "unknown data format");
}
}  // namespace

Dataset open_dataset(const DataSource& source, std::optional<std::int64_t> limit) {
  auto data = read_dataset(source, limit.value_or(0));  // the readers take 0 as "all"
  // Fewer images than asked for would change the campaign without a word.
  if (limit && data.size() < *limit)
    throw Error(ExitCode::kUsage, "--images " + std::to_string(*limit) + ": " + source.path.string() +
                                      " holds only " + std::to_string(data.size()) +
                                      " images (leave --images out to use them all)");
  return data;
}

}  // namespace dnnfi
