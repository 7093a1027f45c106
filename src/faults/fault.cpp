#include "dnnfi/fault.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "dnnfi/errors.hpp"
#include "text.hpp"

namespace dnnfi {

std::optional<FaultModel> parse_fault_model(std::string_view text) {
  return value_named(kFaultModelNames, text);
}
std::string_view to_string(FaultModel model) { return name_of(kFaultModelNames, model); }
std::vector<std::string> fault_model_names() { return names_of(kFaultModelNames); }

int BitMask::count() const {
  int n = 0;
  for (int bit = 0; bit < 32; ++bit) n += static_cast<int>(word_ >> bit & 1u);
  return n;
}

int BitMask::lowest() const {
  for (int bit = 0; bit < 32; ++bit)
    if (word_ >> bit & 1u) return bit;
  return -1;
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

std::uint32_t apply_fault(std::uint32_t word, BitMask mask, FaultModel model) {
  switch (model) {
    case FaultModel::kBitFlip:
      return word ^ mask.word();
    case FaultModel::kStuckAt0:
      return word & ~mask.word();
    case FaultModel::kStuckAt1:
      return word | mask.word();
  }
  return word;
}

float apply_fault(float value, BitMask mask, FaultModel model) {
  return bits_float(apply_fault(float_bits(value), mask, model));
}

std::int64_t Layer::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

bool Fault::same_site(const Fault& other) const {
  return layer == other.layer && index == other.index && bits == other.bits && model == other.model;
}

namespace {
std::string join(const std::vector<std::int64_t>& values, const char* separator) {
  std::ostringstream out;
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? separator : "") << values[i];
  return out.str();
}
}  // namespace

std::string format_index(const std::vector<std::int64_t>& index) { return "(" + join(index, ", ") + ")"; }

std::string format_shape(const std::vector<std::int64_t>& shape) { return join(shape, "x"); }

std::optional<std::vector<std::int64_t>> parse_index(std::string_view text, std::string* why) {
  std::string t = text::trim(text);
  if (t.size() >= 2 && t.front() == '(' && t.back() == ')') {
    t = t.substr(1, t.size() - 2);
  } else if (t.find(',') != std::string::npos) {
    *why = "expected a parenthesised index like \"(3, 0, 2, 1)\"";
    return std::nullopt;
  }
  std::vector<std::int64_t> index;
  std::stringstream parts(t);
  std::string part;
  while (std::getline(parts, part, ',')) {
    part = text::trim(part);
    if (part.empty() && parts.eof() && !index.empty()) break;  // trailing comma of "(5,)"
    const auto value = text::parse_int(part);
    if (!value) {
      *why = "'" + part + "' is not an integer";
      return std::nullopt;
    }
    index.push_back(*value);
  }
  if (index.empty()) {
    *why = "empty index";
    return std::nullopt;
  }
  return index;
}

std::string format_bits(BitMask bits) {
  std::string text;
  for (int bit = 0; bit < 32; ++bit)
    if (bits.word() >> bit & 1u) text += (text.empty() ? "" : "|") + std::to_string(bit);
  return text;
}

std::optional<BitMask> parse_bits(std::string_view text) {
  std::uint32_t word = 0;
  for (const auto& part : text::split(std::string(text), '|')) {
    const auto bit = text::parse_int(text::trim(part));
    if (!bit || *bit < 0 || *bit > 31 || (word >> *bit & 1u)) return std::nullopt;
    word |= std::uint32_t{1} << *bit;
  }
  if (word == 0) return std::nullopt;
  return BitMask(word);
}

std::string format_bit_ranges(BitMask bits) {
  std::string out;
  for (int bit = 0; bit < 32;) {
    if (!(bits.word() >> bit & 1u)) {
      ++bit;
      continue;
    }
    int end = bit;
    while (end + 1 < 32 && (bits.word() >> (end + 1) & 1u)) ++end;
    out += (out.empty() ? "" : ",") + std::to_string(bit) + (end > bit ? "-" + std::to_string(end) : "");
    bit = end + 1;
  }
  return out;
}

std::optional<BitMask> parse_bit_ranges(std::string_view text) {
  std::uint32_t word = 0;
  for (const auto& part : text::split(std::string(text), ',')) {
    const auto dash = part.find('-');
    const auto first = text::parse_int(text::trim(part.substr(0, dash)));
    const auto last = dash == std::string::npos ? first : text::parse_int(text::trim(part.substr(dash + 1)));
    if (!first || !last || *first < 0 || *last > 31 || *first > *last) return std::nullopt;
    for (auto bit = *first; bit <= *last; ++bit) word |= std::uint32_t{1} << bit;
  }
  if (word == 0) return std::nullopt;
  return BitMask(word);
}

BitMask parse_bits_option(const std::string& text) {
  const auto bits = parse_bit_ranges(text);
  if (!bits)
    throw Error(ExitCode::kUsage,
                "--bits '" + text + "': expected bits 0..31 and ranges, e.g. 23-30 or 0-22,31");
  return *bits;
}

}  // namespace dnnfi
