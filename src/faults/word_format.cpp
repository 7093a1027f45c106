#include "dnnfi/word_format.hpp"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dnnfi/errors.hpp"

namespace dnnfi {

std::optional<WordFormat> parse_word_format(std::string_view text) {
  return value_named(kWordFormatNames, text);
}
std::string_view to_string(WordFormat format) { return name_of(kWordFormatNames, format); }
std::vector<std::string> word_format_names() { return names_of(kWordFormatNames); }

std::optional<FaultTarget> parse_fault_target(std::string_view text) {
  return value_named(kFaultTargetNames, text);
}
std::string_view to_string(FaultTarget target) { return name_of(kFaultTargetNames, target); }
std::vector<std::string> fault_target_names() { return names_of(kFaultTargetNames); }

int word_bits(WordFormat format) {
  switch (format) {
    case WordFormat::kFp32:
      return 32;
    case WordFormat::kFp16:
    case WordFormat::kBf16:
      return 16;
    case WordFormat::kInt8:
      return 8;
  }
  return 32;
}

BitMask all_bits(WordFormat format) {
  return BitMask(static_cast<std::uint32_t>((std::uint64_t{1} << word_bits(format)) - 1));
}

const std::vector<BitField>& bit_fields(WordFormat format) {
  static const std::vector<BitField> fp32{{"mantissa", 0, 22}, {"exponent", 23, 30}, {"sign", 31, 31}};
  static const std::vector<BitField> fp16{{"mantissa", 0, 9}, {"exponent", 10, 14}, {"sign", 15, 15}};
  static const std::vector<BitField> bf16{{"mantissa", 0, 6}, {"exponent", 7, 14}, {"sign", 15, 15}};
  static const std::vector<BitField> int8{{"magnitude", 0, 6}, {"sign", 7, 7}};
  switch (format) {
    case WordFormat::kFp32:
      return fp32;
    case WordFormat::kFp16:
      return fp16;
    case WordFormat::kBf16:
      return bf16;
    case WordFormat::kInt8:
      return int8;
  }
  return fp32;
}

std::string_view field_of(WordFormat format, int bit) {
  for (const auto& field : bit_fields(format))
    if (bit >= field.low && bit <= field.high) return field.name;
  return {};
}

namespace {
// q = round_half_even(value / scale), clamped to the symmetric int8 range.
int quantize(float value, float scale) {
  const float q = std::nearbyint(value / scale);  // the default rounding mode: to nearest even
  return static_cast<int>(std::clamp(q, -127.0f, 127.0f));
}
}  // namespace

float stored_value(WordFormat format, float value, float scale) {
  switch (format) {
    case WordFormat::kFp32:
      return value;
    case WordFormat::kFp16:
      return static_cast<float>(c10::Half(value));
    case WordFormat::kBf16:
      return static_cast<float>(c10::BFloat16(value));
    case WordFormat::kInt8:
      return static_cast<float>(quantize(value, scale)) * scale;
  }
  return value;
}

std::uint32_t encode(WordFormat format, float stored, float scale) {
  switch (format) {
    case WordFormat::kFp32:
      return float_bits(stored);
    case WordFormat::kFp16:
      return c10::Half(stored).x;
    case WordFormat::kBf16:
      return c10::BFloat16(stored).x;
    case WordFormat::kInt8:
      // The stored value is q * scale: dividing recovers q exactly for |q| <= 127.
      return static_cast<std::uint32_t>(
          static_cast<std::uint8_t>(static_cast<std::int8_t>(quantize(stored, scale))));
  }
  return 0;
}

float decode(WordFormat format, std::uint32_t word, float scale) {
  switch (format) {
    case WordFormat::kFp32:
      return bits_float(word);
    case WordFormat::kFp16:
      return static_cast<float>(c10::Half(static_cast<std::uint16_t>(word), c10::Half::from_bits()));
    case WordFormat::kBf16:
      return static_cast<float>(c10::BFloat16(static_cast<std::uint16_t>(word), c10::BFloat16::from_bits()));
    case WordFormat::kInt8:
      // Two's complement: bit 7 is the sign, so flipping it turns 5 into -123.
      return static_cast<float>(static_cast<std::int8_t>(static_cast<std::uint8_t>(word))) * scale;
  }
  return bits_float(word);
}

float apply_fault(WordFormat format, float stored, BitMask mask, FaultModel model, float scale) {
  if (format == WordFormat::kFp32) return apply_fault(stored, mask, model);
  const auto word = apply_fault(encode(format, stored, scale), mask, model);
  return decode(format, word & all_bits(format).word(), scale);
}

std::vector<int> drawable_bits(WordFormat format, BitMask bits, int burst) {
  const int width = word_bits(format);
  if (burst < 1 || burst > width)
    throw Error(ExitCode::kUsage,
                fmt::format("--burst must be 1..{} for {}, got {}", width, to_string(format), burst));
  std::vector<int> starts;
  for (int bit = 0; bit + burst <= width; ++bit)
    if (bits.word() >> bit & 1u) starts.push_back(bit);
  if (starts.empty())
    throw Error(ExitCode::kUsage,
                fmt::format("no bit of --bits {} is a bit of {} (0-{}) with room for a burst of {}",
                            format_bit_ranges(bits), to_string(format), width - 1, burst));
  return starts;
}

double population(const std::vector<Layer>& targets, WordFormat format, BitMask bits, int burst) {
  double elements = 0;
  for (const auto& target : targets) elements += static_cast<double>(target.numel());
  // The seed counted each bit twice (stuck-at 0 and 1), whichever model its campaigns ran.
  return elements * static_cast<double>(drawable_bits(format, bits, burst).size()) * 2;
}

std::string site(const Fault& fault) {
  return fmt::format("{} {} bit {}", fault.layer, format_index(fault.index), format_bits(fault.bits));
}

std::string key(const Fault& fault) { return site(fault) + " " + std::string(to_string(fault.model)); }

}  // namespace dnnfi
