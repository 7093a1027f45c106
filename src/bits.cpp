#include <cstring>
#include <sstream>

#include "dnnfi/fault.hpp"

namespace dnnfi {

std::optional<FaultModel> parse_fault_model(std::string_view text) {
  if (text == "bit-flip") return FaultModel::kBitFlip;
  if (text == "stuck-at-0") return FaultModel::kStuckAt0;
  if (text == "stuck-at-1") return FaultModel::kStuckAt1;
  return std::nullopt;
}

std::string_view to_string(FaultModel model) {
  switch (model) {
    case FaultModel::kBitFlip: return "bit-flip";
    case FaultModel::kStuckAt0: return "stuck-at-0";
    case FaultModel::kStuckAt1: return "stuck-at-1";
  }
  return "unknown";
}

std::uint32_t float_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float bits_float(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

float apply_fault(float value, int bit, FaultModel model) {
  const std::uint32_t mask = std::uint32_t{1} << bit;
  std::uint32_t bits = float_bits(value);
  switch (model) {
    case FaultModel::kBitFlip: bits ^= mask; break;
    case FaultModel::kStuckAt0: bits &= ~mask; break;
    case FaultModel::kStuckAt1: bits |= mask; break;
  }
  return bits_float(bits);
}

std::int64_t Layer::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

static std::string join(const std::vector<std::int64_t>& values, const char* separator) {
  std::ostringstream out;
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? separator : "") << values[i];
  return out.str();
}

std::string format_index(const std::vector<std::int64_t>& index) { return "(" + join(index, ", ") + ")"; }

std::string format_shape(const std::vector<std::int64_t>& shape) { return join(shape, "x"); }

}  // namespace dnnfi
