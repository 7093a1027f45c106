#include "dnnfi/settings.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

#include "dnnfi/errors.hpp"
#include "text.hpp"

namespace dnnfi {
namespace {
[[noreturn]] void usage(const std::string& message) { throw Error(ExitCode::kUsage, message); }
}  // namespace

void check_batch_size(std::int64_t batch_size) {
  if (batch_size < 1) usage("-b/--batch-size must be at least 1, got " + std::to_string(batch_size));
}

void check_threads(int threads) {
  if (threads < 0) usage("--threads must be 0 (all cores) or more, got " + std::to_string(threads));
}

void check_images(std::optional<std::int64_t> images) {
  if (images && *images < 1)
    usage("--images must be at least 1, got " + std::to_string(*images) +
          " (leave it out to use every test image)");
}

void check_memory_limit(std::int64_t bytes) {
  if (bytes < 1) usage("--memory-limit must be positive, got " + std::to_string(bytes) + " bytes");
}

std::int64_t parse_memory_size(const std::string& text) {
  const auto unit_at = text.find_first_not_of("0123456789.");
  const auto value = text::parse_double(text.substr(0, unit_at));
  const std::string unit = unit_at == std::string::npos ? "" : text.substr(unit_at);
  double scale = 0;
  if (unit.empty() || unit == "M" || unit == "m")
    scale = 1 << 20;  // plain numbers are MiB
  else if (unit == "K" || unit == "k")
    scale = 1 << 10;
  else if (unit == "G" || unit == "g")
    scale = 1 << 30;
  if (!value || scale == 0) usage("--memory-limit '" + text + "': expected a size such as 4G, 512M or 800K");
  if (!(*value > 0) || *value * scale > 1e18) usage("--memory-limit '" + text + "' must be a positive size");
  return static_cast<std::int64_t>(*value * scale);
}

std::vector<float> parse_channel_values(const std::string& option, const std::string& text) {
  std::vector<float> values;
  for (const auto& part : text::split(text, ',')) {
    const auto v = text::parse_double(text::trim(part));
    if (!v) usage(option + " '" + text + "': expected numbers separated by commas, one per channel");
    values.push_back(static_cast<float>(*v));
  }
  if (values.empty()) usage(option + " is empty");
  if (option == "--std")
    for (float v : values)
      if (!(v > 0)) usage("--std '" + text + "': every value must be positive");
  return values;
}

std::vector<std::int64_t> parse_image_size(const std::string& text) {
  const auto x = text.find('x');
  const auto h = text::parse_int(text.substr(0, x));
  const auto w = x == std::string::npos ? std::nullopt : text::parse_int(text.substr(x + 1));
  if (!h || !w || *h < 1 || *w < 1) usage("--size '" + text + "': expected HxW, e.g. 50x50");
  return {*h, *w};
}

std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t minimum,
                          std::uint64_t maximum) {
  const auto range = maximum == UINT64_MAX ? fmt::format("at least {}", minimum)
                                           : fmt::format("from {} to {}", minimum, maximum);
  const bool digits =
      !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const auto value = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE)
    usage(fmt::format("{} must be a whole number {}, got '{}'", option, range, text));
  if (value < minimum || value > maximum) usage(fmt::format("{} must be {}, got {}", option, range, value));
  return value;
}

std::string format_memory_size(std::int64_t bytes) {
  for (const auto& [unit, scale] :
       {std::pair{"G", std::int64_t{1} << 30}, std::pair{"M", std::int64_t{1} << 20}})
    if (bytes % scale == 0) return std::to_string(bytes / scale) + unit;
  return bytes % 1024 == 0 ? std::to_string(bytes / 1024) + "K" : std::to_string(bytes / 1024.0) + "K";
}

}  // namespace dnnfi
