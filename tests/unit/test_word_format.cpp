// Word formats and fault targets: what a fault does to a stored fp16 / bf16 / int8 word, and the
// populations statistical lists and reports count, checked against PyTorch's own conversions.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "dnnfi/errors.hpp"
#include "dnnfi/word_format.hpp"

using namespace dnnfi;

namespace {

// PyTorch's stored bits of `value` in a 16-bit dtype: the reference the formats must agree with.
std::uint32_t torch_bits(float value, torch::ScalarType type) {
  const auto t = torch::tensor({value}).to(type);
  return static_cast<std::uint32_t>(t.view(torch::kInt16).item<std::int16_t>()) & 0xFFFFu;
}

}  // namespace

TEST_CASE("fp16 and bf16 store a value as PyTorch's .half() and .bfloat16() do", "[format]") {
  torch::manual_seed(3);
  const auto values = torch::randn({2000}) * torch::pow(10, torch::randint(-6, 6, {2000}).to(torch::kFloat));
  for (std::int64_t i = 0; i < values.numel(); ++i) {
    const float v = values[i].item<float>();
    REQUIRE(encode(WordFormat::kFp16, stored_value(WordFormat::kFp16, v)) == torch_bits(v, torch::kHalf));
    REQUIRE(encode(WordFormat::kBf16, stored_value(WordFormat::kBf16, v)) == torch_bits(v, torch::kBFloat16));
    REQUIRE(stored_value(WordFormat::kFp16, v) ==
            torch::tensor({v}).to(torch::kHalf).to(torch::kFloat).item<float>());
  }
  CHECK(stored_value(WordFormat::kFp32, 0.1f) == 0.1f);
}

TEST_CASE("a fault flips, clears or sets bits of the 16-bit word, and the value is that word's", "[format]") {
  const float one = 1.0f;  // fp16 0x3C00, bf16 0x3F80
  CHECK(apply_fault(WordFormat::kFp16, one, BitMask::bit(15), FaultModel::kBitFlip) == -1.0f);
  CHECK(apply_fault(WordFormat::kBf16, one, BitMask::bit(15), FaultModel::kBitFlip) == -1.0f);
  // The exponent's most significant bit: 1.0 (exponent 0111..1) becomes all ones, infinity, in both.
  CHECK(std::isinf(apply_fault(WordFormat::kFp16, one, BitMask::bit(14), FaultModel::kBitFlip)));
  CHECK(std::isinf(apply_fault(WordFormat::kBf16, one, BitMask::bit(14), FaultModel::kBitFlip)));
  CHECK(apply_fault(WordFormat::kFp16, 0.5f, BitMask::bit(14), FaultModel::kBitFlip) ==
        32768.0f);  // 2^-1 -> 2^15
  // fp16's largest value 0x7BFF with the exponent's lowest bit set: all ones and a mantissa, NaN.
  CHECK(std::isnan(apply_fault(WordFormat::kFp16, 65504.0f, BitMask(0x0400u), FaultModel::kStuckAt1)));
  // The lowest mantissa bit of fp16 is 2^-10 at 1.0; of bf16 2^-7.
  CHECK(apply_fault(WordFormat::kFp16, one, BitMask::bit(0), FaultModel::kBitFlip) ==
        1.0f + std::ldexp(1.0f, -10));
  CHECK(apply_fault(WordFormat::kBf16, one, BitMask::bit(0), FaultModel::kBitFlip) ==
        1.0f + std::ldexp(1.0f, -7));
  CHECK(apply_fault(WordFormat::kFp16, one, BitMask::bit(0), FaultModel::kStuckAt0) == one);  // already 0
}

TEST_CASE("int8 is symmetric per channel: two's complement, bit 7 the sign", "[format]") {
  const float scale = 0.5f;
  // q = round_half_even(value / scale): 1.25 / 0.5 = 2.5 rounds to 2, 1.75 / 0.5 = 3.5 to 4.
  CHECK(stored_value(WordFormat::kInt8, 1.25f, scale) == 1.0f);
  CHECK(stored_value(WordFormat::kInt8, 1.75f, scale) == 2.0f);
  CHECK(stored_value(WordFormat::kInt8, 1000.0f, scale) == 63.5f);    // clamped to 127
  CHECK(stored_value(WordFormat::kInt8, -1000.0f, scale) == -63.5f);  // -127, never -128
  // Flipping bit 7 turns 5 into -123.
  CHECK(apply_fault(WordFormat::kInt8, 5 * scale, BitMask::bit(7), FaultModel::kBitFlip, scale) ==
        -123 * scale);
  CHECK(encode(WordFormat::kInt8, -1 * scale, scale) == 0xFFu);
  CHECK(decode(WordFormat::kInt8, 0x80u, scale) == -128 * scale);  // reachable by a fault only
  CHECK(apply_fault(WordFormat::kInt8, 5 * scale, BitMask::bit(6), FaultModel::kStuckAt1, scale) ==
        69 * scale);
}

TEST_CASE("each format names its bit fields", "[format]") {
  CHECK(word_bits(WordFormat::kFp32) == 32);
  CHECK(word_bits(WordFormat::kInt8) == 8);
  CHECK(field_of(WordFormat::kFp32, 31) == "sign");
  CHECK(field_of(WordFormat::kFp32, 23) == "exponent");
  CHECK(field_of(WordFormat::kFp16, 15) == "sign");
  CHECK(field_of(WordFormat::kFp16, 10) == "exponent");
  CHECK(field_of(WordFormat::kFp16, 9) == "mantissa");
  CHECK(field_of(WordFormat::kBf16, 7) == "exponent");
  CHECK(field_of(WordFormat::kBf16, 6) == "mantissa");
  CHECK(field_of(WordFormat::kInt8, 7) == "sign");
  CHECK(field_of(WordFormat::kInt8, 6) == "magnitude");
  CHECK(field_of(WordFormat::kInt8, 8).empty());
  CHECK(parse_word_format("bf16") == WordFormat::kBf16);
  CHECK_FALSE(parse_word_format("fp64").has_value());
  CHECK(parse_fault_target("activations") == FaultTarget::kActivations);
}

TEST_CASE("the population is elements x drawable bits x 2, for every format, target, --bits and --burst",
          "[format]") {
  // Weights of two layers, or the outputs of one (a target table is just its elements).
  const std::vector<Layer> weights{{"conv1", {16, 3, 3, 3}, 0}, {"linear", {10, 64}, 0}};
  const double n = 16 * 3 * 3 * 3 + 10 * 64;
  const BitMask every(0xFFFFFFFFu);
  CHECK(population(weights, WordFormat::kFp32) == n * 32 * 2);
  CHECK(population(weights, WordFormat::kFp16) == n * 16 * 2);
  CHECK(population(weights, WordFormat::kBf16) == n * 16 * 2);
  CHECK(population(weights, WordFormat::kInt8) == n * 8 * 2);
  const std::vector<Layer> outputs{{"conv1", {16, 32, 32}, 0}};
  CHECK(population(outputs, WordFormat::kFp32) == 16 * 32 * 32 * 32 * 2.0);
  // --bits 23-30: the exponent only; --burst 2: a burst must stay inside the word.
  CHECK(population(weights, WordFormat::kFp32, BitMask(0x7F800000u)) == n * 8 * 2);
  CHECK(population(weights, WordFormat::kFp32, BitMask(0x7F800000u), 2) ==
        n * 8 * 2);  // 23..30 start, 31 ends
  CHECK(population(weights, WordFormat::kFp32, every, 2) == n * 31 * 2);
  CHECK(population(weights, WordFormat::kInt8, every, 2) == n * 7 * 2);
  CHECK(population(weights, WordFormat::kFp16, BitMask(0x0000FF00u)) == n * 8 * 2);
  // Bits the word does not have draw nothing: a usage error naming them.
  try {
    population(weights, WordFormat::kInt8, BitMask(0x7F800000u));
    FAIL("int8 drew from bits 23-30");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kUsage);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("int8 (0-7)"));
  }
  CHECK_THROWS_AS(population(weights, WordFormat::kFp16, every, 17), Error);
}

TEST_CASE("a fault's key is its site and model", "[format]") {
  Fault f;
  f.injection = 7;
  f.layer = "layer2.0.conv1";
  f.index = {5, 3, 0, 2};
  f.bits = BitMask(0x60000000u);
  f.model = FaultModel::kStuckAt1;
  CHECK(site(f) == "layer2.0.conv1 (5, 3, 0, 2) bit 29|30");
  CHECK(key(f) == "layer2.0.conv1 (5, 3, 0, 2) bit 29|30 stuck-at-1");
  auto other = f;
  other.injection = 8;
  CHECK(key(other) == key(f));  // the injection number is no part of it
}
