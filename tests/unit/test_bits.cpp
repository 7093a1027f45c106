#include <catch2/catch.hpp>
#include <cmath>

#include "dnnfi/fault.hpp"

using namespace dnnfi;

TEST_CASE("bit flip of bit 31 negates the weight", "[bits]") {
  CHECK(apply_fault(0.75f, BitMask::bit(31), FaultModel::kBitFlip) == -0.75f);
  CHECK(apply_fault(-2.5f, BitMask::bit(31), FaultModel::kBitFlip) == 2.5f);
}

TEST_CASE("flipping the same bit twice restores the exact bits", "[bits]") {
  for (float v : {0.1f, -3.0e-7f, 123.456f, 0.0f}) {
    for (int bit = 0; bit < 32; ++bit)
      CHECK(float_bits(apply_fault(apply_fault(v, BitMask::bit(bit), FaultModel::kBitFlip), BitMask::bit(bit),
                                   FaultModel::kBitFlip)) == float_bits(v));
  }
}

TEST_CASE("bit 0 is the least significant mantissa bit", "[bits]") {
  CHECK(float_bits(apply_fault(1.0f, BitMask::bit(0), FaultModel::kBitFlip)) == 0x3F800001u);
  CHECK(apply_fault(1.0f, BitMask::bit(0), FaultModel::kBitFlip) == std::nextafter(1.0f, 2.0f));
}

TEST_CASE("bit 30 of a weight below 2 makes it huge", "[bits]") {
  // 0.5 = 0x3F000000; setting the exponent MSB gives 2^127.
  CHECK(apply_fault(0.5f, BitMask::bit(30), FaultModel::kBitFlip) == std::ldexp(1.0f, 127));
  // 1.0 has exponent 127: setting bit 30 makes it all ones, +Inf with 1.0's zero mantissa,
  // NaN with 1.5's non-zero one.
  CHECK(std::isinf(apply_fault(1.0f, BitMask::bit(30), FaultModel::kBitFlip)));
  CHECK(std::isnan(apply_fault(1.5f, BitMask::bit(30), FaultModel::kBitFlip)));
}

TEST_CASE("stuck-at faults force the bit and leave it alone when already set", "[bits]") {
  CHECK(float_bits(apply_fault(1.0f, BitMask::bit(23), FaultModel::kStuckAt0)) == 0x3F000000u);  // 1.0 -> 0.5
  CHECK(apply_fault(1.0f, BitMask::bit(23), FaultModel::kStuckAt1) == 1.0f);
  CHECK(apply_fault(-1.0f, BitMask::bit(31), FaultModel::kStuckAt1) == -1.0f);
  CHECK(apply_fault(-1.0f, BitMask::bit(31), FaultModel::kStuckAt0) == 1.0f);
}

TEST_CASE("fault model names round-trip and unknown names are refused", "[bits]") {
  for (auto m : {FaultModel::kBitFlip, FaultModel::kStuckAt0, FaultModel::kStuckAt1})
    CHECK(parse_fault_model(to_string(m)) == m);
  CHECK_FALSE(parse_fault_model("stuck-at-2").has_value());
}

TEST_CASE("indices and shapes print as the seed and dnnfi layers write them", "[bits]") {
  CHECK(format_index({3, 0, 2, 1}) == "(3, 0, 2, 1)");
  CHECK(format_shape({16, 3, 3, 3}) == "16x3x3x3");
}

TEST_CASE("bit ranges read back as written", "[bits]") {
  for (const std::string text : {"0-31", "23-30", "0-22,31", "3", "0,2,4-6"})
    CHECK(format_bit_ranges(*parse_bit_ranges(text)) == text);
}
