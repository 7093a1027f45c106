#pragma once
// What a fault hits: its target (a weight element of a parameter, or an element of a layer's
// output) and the word format that element is stored in (how many bits, how a value is encoded
// and decoded, what its bit fields are called). Adding a format or a target is one new case here
// and in word_format.cpp; everything else (lists, populations, reports, engines) asks these.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/names.hpp"

namespace dnnfi {

enum class WordFormat {
  kFp32,  // IEEE-754 binary32, the seed's campaigns
  kFp16,  // IEEE-754 binary16, rounded to nearest even from FP32 (PyTorch's .half())
  kBf16,  // bfloat16, rounded to nearest even (PyTorch's .bfloat16())
  kInt8,  // symmetric per-output-channel int8, two's complement: value = q * scale
};
inline constexpr Named<WordFormat> kWordFormatNames[] = {{WordFormat::kFp32, "fp32"},
                                                         {WordFormat::kFp16, "fp16"},
                                                         {WordFormat::kBf16, "bf16"},
                                                         {WordFormat::kInt8, "int8"}};
std::optional<WordFormat> parse_word_format(std::string_view text);
std::string_view to_string(WordFormat format);
std::vector<std::string> word_format_names();

enum class FaultTarget {
  kWeights,      // an element of a conv/linear weight (or, with --params all, of any parameter)
  kActivations,  // an element of a conv/linear module's output, in every image's inference
};
inline constexpr Named<FaultTarget> kFaultTargetNames[] = {{FaultTarget::kWeights, "weights"},
                                                           {FaultTarget::kActivations, "activations"}};
std::optional<FaultTarget> parse_fault_target(std::string_view text);
std::string_view to_string(FaultTarget target);
std::vector<std::string> fault_target_names();

// What the faults of a campaign hit: their target and the word format it is stored in.
struct FaultSpace {
  WordFormat format = WordFormat::kFp32;       // Default: fp32, the seed's
  FaultTarget target = FaultTarget::kWeights;  // Default: weights
};

// A named run of bits of a word, for the per-bit report: "exponent" 23..30 of fp32.
struct BitField {
  std::string_view name;
  int low = 0, high = 0;  // inclusive
};

// Bits per word: 32, 16, 16, 8.
int word_bits(WordFormat format);
// Every bit of the word, as a mask.
BitMask all_bits(WordFormat format);
// The fields from the least significant up: fp32 mantissa 0-22, exponent 23-30, sign 31; fp16
// mantissa 0-9, exponent 10-14, sign 15; bf16 mantissa 0-6, exponent 7-14, sign 15; int8
// magnitude 0-6, sign 7.
const std::vector<BitField>& bit_fields(WordFormat format);
// The field a bit belongs to ("" past the word).
std::string_view field_of(WordFormat format, int bit);

// The value `value` takes when stored in `format` (fp32: itself; int8: round_half_even(value /
// scale) clamped to +-127, times scale).
float stored_value(WordFormat format, float value, float scale = 1);
// The word that holds a stored value, in the low word_bits(format) bits.
std::uint32_t encode(WordFormat format, float stored, float scale = 1);
float decode(WordFormat format, std::uint32_t word, float scale = 1);
// The value after the fault: the word of `stored` with every bit of `mask` flipped, cleared or
// set, decoded. fp32 gives apply_fault's bits.
float apply_fault(WordFormat format, float stored, BitMask mask, FaultModel model, float scale = 1);

// The fault population of `targets` (weights or output elements per layer) in the seed's
// convention: elements x drawable bits x 2, a bit being drawable when a burst of `burst` bits
// upward from it stays inside the word and it is one of `bits` (a usage Error when none is).
// Lists, reports, iterative campaigns and merge all count with this one function.
double population(const std::vector<Layer>& targets, WordFormat format, BitMask bits = BitMask(0xFFFFFFFFu),
                  int burst = 1);
// The bits a fault may start at under those rules, in order.
std::vector<int> drawable_bits(WordFormat format, BitMask bits, int burst);

// A fault's identity across files: its site (layer, index, bits: "layer2.0.conv1 (5, 3, 0, 2)
// bit 30") and, for the key, its fault model ("... bit 30 bit-flip"); the injection number aside.
// Lists, replays and comparisons match faults by these, and messages name faults with them.
std::string site(const Fault& fault);
std::string key(const Fault& fault);

}  // namespace dnnfi
