#pragma once
// A permanent fault in one stored weight, and the bit arithmetic that applies it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/names.hpp"

namespace dnnfi {

enum class FaultModel { kBitFlip, kStuckAt0, kStuckAt1 };

// The one table of fault-model names, as options, fault lists and results files spell them.
inline constexpr Named<FaultModel> kFaultModelNames[] = {
    {FaultModel::kBitFlip, "bit-flip"},
    {FaultModel::kStuckAt0, "stuck-at-0"},
    {FaultModel::kStuckAt1, "stuck-at-1"},
};
// What the seed's published campaigns did (their text says stuck-at; their code flips).
inline constexpr FaultModel kDefaultFaultModel = FaultModel::kBitFlip;

std::optional<FaultModel> parse_fault_model(std::string_view text);
std::string_view to_string(FaultModel model);
// Every name of the table, in order: for option checks and error messages.
std::vector<std::string> fault_model_names();

// The bits of a 32-bit word a fault touches (bit 0 the least significant, 31 the sign).
// One bit today; the type keeps multi-bit faults a change of the list formats only.
class BitMask {
 public:
  constexpr BitMask() = default;
  constexpr explicit BitMask(std::uint32_t word) : word_(word) {}
  static constexpr BitMask bit(int bit) { return BitMask(std::uint32_t{1} << bit); }
  constexpr std::uint32_t word() const { return word_; }
  constexpr bool operator==(BitMask other) const { return word_ == other.word_; }
  constexpr bool operator!=(BitMask other) const { return word_ != other.word_; }
  constexpr bool operator<(BitMask other) const { return word_ < other.word_; }
  // The lowest bit it holds; -1 for an empty mask.
  int lowest() const;
  // How many bits it holds.
  int count() const;

 private:
  std::uint32_t word_ = 0;
};

// IEEE-754 binary32 word of a float and back.
std::uint32_t float_bits(float value);
float bits_float(std::uint32_t bits);
// A word after the fault: every bit of `mask` flipped, cleared or set.
std::uint32_t apply_fault(std::uint32_t word, BitMask mask, FaultModel model);
// The stored value after the fault: its binary32 word faulted.
float apply_fault(float value, BitMask mask, FaultModel model);

// One injectable layer: a conv or linear module whose `weight` parameter is faulted.
struct Layer {
  std::string name;                 // PyTorch module name, e.g. "layer2.0.conv1"
  std::vector<std::int64_t> shape;  // weight shape, (out, in, kh, kw) or (out, in)
  std::int64_t macs = 0;            // multiply-accumulates per image (0: unknown)
  std::int64_t numel() const;
};

// A fault as every reader leaves it: its model is resolved (the row's fault_model column, else
// the campaign's --fault-model, else bit-flip), so nothing downstream needs a default.
struct Fault {
  std::int64_t injection = 0;             // the list's own fault number
  std::string layer;                      // module name of the faulted weight
  std::vector<std::int64_t> index;        // PyTorch index into the layer's weight
  BitMask bits;                           // the bits it touches
  FaultModel model = kDefaultFaultModel;  // what it does to them
  // Same weight, bits and model (the injection number aside).
  bool same_site(const Fault& other) const;
};

// "(3, 0, 2, 1)", as the seed's lists write TensorIndex.
std::string format_index(const std::vector<std::int64_t>& index);
// The one TensorIndex parser: "(3, 0, 2, 1)"; "(5,)" and "5" for rank-1 tensors. Returns
// nullopt with the reason in `why` when the text is not an index.
std::optional<std::vector<std::int64_t>> parse_index(std::string_view text, std::string* why);
// The Bit column: the bit number of a one-bit mask, several joined by '|' ("3|4") for more.
std::string format_bits(BitMask bits);
// "0".."31", or several of them joined by '|', into a mask; nullopt when the text is not that
// (a bit out of range or given twice included).
std::optional<BitMask> parse_bits(std::string_view text);
// A set of bits as users write it: "23-30", "0-22,31", "31"; nullopt when malformed.
std::optional<BitMask> parse_bit_ranges(std::string_view text);
// --bits as users give it ("23-30", "0-22,31"): a usage Error naming the value when malformed.
BitMask parse_bits_option(const std::string& text);
// And back: the shortest such text ("0-31", "23-30", "0-22,31").
std::string format_bit_ranges(BitMask bits);
// "16x3x3x3", as `dnnfi layers` prints shapes.
std::string format_shape(const std::vector<std::int64_t>& shape);

}  // namespace dnnfi
