#pragma once
// A permanent fault in one stored weight, and the bit arithmetic that applies it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dnnfi {

enum class FaultModel { kBitFlip, kStuckAt0, kStuckAt1 };

std::optional<FaultModel> parse_fault_model(std::string_view text);
std::string_view to_string(FaultModel model);

// IEEE-754 binary32 word of a float and back; bit 0 is the least significant, 31 the sign.
std::uint32_t float_bits(float value);
float bits_float(std::uint32_t bits);
float apply_fault(float value, int bit, FaultModel model);

// One injectable layer: a conv or linear module whose `weight` parameter is faulted.
struct Layer {
  std::string name;             // PyTorch module name, e.g. "layer2.0.conv1"
  std::vector<std::int64_t> shape;  // weight shape, (out, in, kh, kw) or (out, in)
  std::int64_t macs = 0;            // multiply-accumulates per image (0: unknown)
  std::int64_t numel() const;
};

struct Fault {
  std::int64_t injection = 0;        // the list's own fault number
  std::string layer;
  std::vector<std::int64_t> index;   // PyTorch index into the layer's weight
  int bit = 0;                       // 0..31
  std::optional<FaultModel> model;   // per-row model when the list has a fault_model column
};

// "(3, 0, 2, 1)", as the seed's lists write TensorIndex.
std::string format_index(const std::vector<std::int64_t>& index);
// "16x3x3x3", as `dnnfi layers` prints shapes.
std::string format_shape(const std::vector<std::int64_t>& shape);

}  // namespace dnnfi
