#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "test_support.hpp"

using namespace dnnfi;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {
FaultList parse(const std::string& text) {
  std::istringstream in(text);
  return parse_fault_list(in, "faults.csv", test::resnet20_layers());
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("a four-column list with quoted indices parses", "[faultlist]") {
  auto list =
      parse("Injection,Layer,TensorIndex,Bit\n0,conv1,\"(3, 0, 2, 1)\",15\r\n7,linear,\"(9, 63)\",31\n");
  REQUIRE(list.faults.size() == 2);
  CHECK(list.faults[0].layer == "conv1");
  CHECK(list.faults[0].index == std::vector<std::int64_t>{3, 0, 2, 1});
  CHECK(list.faults[0].bits == BitMask::bit(15));
  CHECK(list.faults[1].injection == 7);
  CHECK(list.faults[1].index == std::vector<std::int64_t>{9, 63});
  CHECK_FALSE(list.has_fault_model_column);
}

TEST_CASE("the published eight-column list is accepted", "[faultlist]") {
  auto list = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  CHECK(list.faults.size() == 16627);
  CHECK(list.faults.front().layer == "conv1");
  CHECK(list.faults.front().index == std::vector<std::int64_t>{3, 0, 2, 1});
}

TEST_CASE("bad rows are refused with file and line", "[faultlist]") {
  const std::string header = "Injection,Layer,TensorIndex,Bit\n0,conv1,\"(3, 0, 2, 1)\",15\n";
  CHECK_THAT(error_of(header + "1,conv9,\"(0, 0, 0, 0)\",1\n"),
             StartsWith("faults.csv:3: unknown layer 'conv9'"));
  CHECK_THAT(error_of(header + "1,conv1,\"(0, 0, 0)\",1\n"),
             StartsWith("faults.csv:3:") && Contains("rank 3"));
  CHECK_THAT(error_of(header + "1,conv1,\"(16, 0, 0, 0)\",1\n"),
             StartsWith("faults.csv:3:") && Contains("out of range"));
  CHECK_THAT(error_of(header + "1,conv1,\"(0, 0, 0, -1)\",1\n"), Contains("out of range"));
  CHECK_THAT(error_of(header + "1,conv1,\"(0, 0, 0, 0)\",32\n"), StartsWith("faults.csv:3: Bit '32'"));
  CHECK_THAT(error_of(header + "1,conv1,\"(0, 0, 0, 0),1\n"),
             StartsWith("faults.csv:3: unterminated quoted field"));
  CHECK_THAT(error_of(header + "x,conv1,\"(0, 0, 0, 0)\",1\n"), StartsWith("faults.csv:3: Injection 'x'"));
  CHECK_THAT(error_of(header + "1,conv1,\"(0, a, 0, 0)\",1\n"), StartsWith("faults.csv:3: TensorIndex"));
  CHECK_THAT(error_of(header + "1,conv1,\"(0, 0, 0, 0)\",one\n"), StartsWith("faults.csv:3: Bit 'one'"));
  CHECK_THAT(error_of(header + "1,conv1,\"(0, 0, 0, 0)\"\n"), StartsWith("faults.csv:3: expected 4 fields"));
  CHECK_THAT(error_of(header + "0,conv1,\"(0, 0, 0, 0)\",1\n"),
             StartsWith("faults.csv:3: Injection 0 appears twice"));
  CHECK_THAT(error_of("Injection,Layer,Index,Bit\n"), StartsWith("faults.csv:1: header must start with"));
  CHECK_THAT(error_of(""), StartsWith("faults.csv:1: empty file"));
}

TEST_CASE("a fault_model column gives each row its model", "[faultlist]") {
  auto list = parse("Injection,Layer,TensorIndex,Bit,fault_model\n0,conv1,\"(0, 0, 0, 0)\",3,stuck-at-1\n");
  CHECK(list.has_fault_model_column);
  CHECK(list.faults[0].model == FaultModel::kStuckAt1);
  CHECK_THAT(error_of("Injection,Layer,TensorIndex,Bit,fault_model\n0,conv1,\"(0, 0, 0, 0)\",3,flip\n"),
             StartsWith("faults.csv:2: fault_model 'flip'"));
}

TEST_CASE("written lists read back identically", "[faultlist]") {
  auto faults = generate_fault_list(test::resnet20_layers(), SampleSpec{});
  for (auto& f : faults) f.model = FaultModel::kStuckAt0;
  std::stringstream buffer;
  write_fault_list(buffer, faults, true);
  auto back = parse_fault_list(buffer, "round-trip", test::resnet20_layers());
  REQUIRE(back.faults.size() == faults.size());
  for (std::size_t i = 0; i < faults.size(); i += 997) {
    CHECK(back.faults[i].layer == faults[i].layer);
    CHECK(back.faults[i].index == faults[i].index);
    CHECK(back.faults[i].bits == faults[i].bits);
    CHECK(back.faults[i].model == FaultModel::kStuckAt0);
  }
}

TEST_CASE("the statistical list has the published list's size and per-layer split", "[faultlist]") {
  const auto layers = test::resnet20_layers();
  const auto faults = generate_fault_list(layers, SampleSpec{});
  const auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", layers);
  CHECK(faults.size() == published.faults.size());
  std::map<std::string, int> ours, theirs;
  for (const auto& f : faults) ++ours[f.layer];
  for (const auto& f : published.faults) ++theirs[f.layer];
  CHECK(ours == theirs);
}

TEST_CASE("the statistical list is unique, in range and reproducible from its seed", "[faultlist]") {
  const auto layers = test::resnet20_layers();
  const auto a = generate_fault_list(layers, SampleSpec{});
  const auto b = generate_fault_list(layers, SampleSpec{});
  SampleSpec other;
  other.seed = 39;
  const auto c = generate_fault_list(layers, other);
  std::set<std::tuple<std::string, std::vector<std::int64_t>, std::uint32_t>> seen;
  std::set<int> bits;
  bool same_as_b = a.size() == b.size(), same_as_c = a.size() == c.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].injection == static_cast<std::int64_t>(i));
    CHECK(seen.emplace(a[i].layer, a[i].index, a[i].bits.word()).second);
    bits.insert(a[i].bits.lowest());
    same_as_b = same_as_b && a[i].index == b[i].index && a[i].bits == b[i].bits;
    same_as_c = same_as_c && a[i].index == c[i].index && a[i].bits == c[i].bits;
  }
  CHECK(bits.size() == 32);
  CHECK(same_as_b);
  CHECK_FALSE(same_as_c);
  // Every generated row is also a valid row of the model's list.
  std::stringstream buffer;
  write_fault_list(buffer, a, false);
  CHECK_NOTHROW(parse_fault_list(buffer, "generated", layers));
}

TEST_CASE("sample size follows Leveugle's formula", "[faultlist]") {
  // N = 268336 weights x 32 x 2; n = N / (1 + e^2 (N-1) / (t^2 p (1-p))) = 16624.89...
  CHECK(statistical_sample_size(268336.0 * 64, SampleSpec{}) == Approx(16624.89).epsilon(1e-6));
  SampleSpec loose;
  loose.error_margin = 0.05;
  CHECK(statistical_sample_size(1e9, loose) == Approx(665.64).epsilon(1e-4));
}

TEST_CASE("spread samples keep faults from every part of the list", "[faultlist]") {
  const auto faults = generate_fault_list(test::resnet20_layers(), SampleSpec{});
  const auto sample = spread_sample(faults, 100);
  REQUIRE(sample.size() == 100);
  CHECK(sample.front().injection == 0);
  CHECK(sample.back().injection > static_cast<std::int64_t>(faults.size() * 98 / 100));
}

TEST_CASE("a Bit cell may hold several bits, kept as written", "[faultlist]") {
  auto list = parse("Injection,Layer,TensorIndex,Bit\n0,conv1,\"(3, 0, 2, 1)\",29|30\n");
  REQUIRE(list.faults.size() == 1);
  CHECK(list.faults[0].bits == BitMask((1u << 29) | (1u << 30)));
  std::stringstream out;
  write_fault_list(out, list.faults, false);
  CHECK(out.str() == "Injection,Layer,TensorIndex,Bit\n0,conv1,\"(3, 0, 2, 1)\",29|30\n");
  CHECK_THAT(error_of("Injection,Layer,TensorIndex,Bit\n0,conv1,\"(3, 0, 2, 1)\",3|3\n"),
             StartsWith("faults.csv:2: Bit '3|3'"));
  CHECK_THAT(error_of("Injection,Layer,TensorIndex,Bit\n0,conv1,\"(3, 0, 2, 1)\",3|32\n"),
             StartsWith("faults.csv:2: Bit '3|32'"));
  // Every bit of the mask gets the fault model.
  CHECK(float_bits(apply_fault(1.0f, list.faults[0].bits, FaultModel::kBitFlip)) ==
        (0x3F800000u ^ 0x60000000u));
  CHECK(float_bits(apply_fault(1.0f, list.faults[0].bits, FaultModel::kStuckAt1)) ==
        (0x3F800000u | 0x60000000u));
  CHECK(float_bits(apply_fault(1.0f, list.faults[0].bits, FaultModel::kStuckAt0)) ==
        (0x3F800000u & ~0x60000000u));
}

TEST_CASE("bit ranges read as users write them", "[faultlist]") {
  CHECK(parse_bit_ranges("23-30") == BitMask(0x7F800000u));
  CHECK(parse_bit_ranges("0-22,31") == BitMask(0x807FFFFFu));
  CHECK(parse_bit_ranges("5") == BitMask::bit(5));
  CHECK_FALSE(parse_bit_ranges("30-23"));
  CHECK_FALSE(parse_bit_ranges("0-32"));
  CHECK_FALSE(parse_bit_ranges(""));
}

TEST_CASE("lists for studies: chosen bits, bursts, a count per layer, every bit of a weight", "[faultlist]") {
  const auto layers = test::resnet20_layers();
  SampleSpec exponent;
  exponent.bits = BitMask(0x7F800000u);  // 23-30
  const auto faults = generate_fault_list(layers, exponent);
  // The population shrinks to 8 bits per weight: n for N = weights x 8 x 2.
  CHECK(static_cast<double>(faults.size()) ==
        Approx(std::nearbyint(statistical_sample_size(268336.0 * 16, exponent))).margin(layers.size()));
  for (const auto& f : faults) CHECK((f.bits.lowest() >= 23 && f.bits.lowest() <= 30 && f.bits.count() == 1));

  SampleSpec burst;
  burst.burst = 2;
  burst.per_layer = 7;
  const auto bursts = generate_fault_list(layers, burst, FaultModel::kStuckAt1);
  CHECK(bursts.size() == 7 * layers.size());
  for (const auto& f : bursts) {
    CHECK(f.bits.count() == 2);
    CHECK(f.bits == BitMask(3u << f.bits.lowest()));
    CHECK(f.model == FaultModel::kStuckAt1);
  }

  SampleSpec all;
  all.bits = BitMask(0xC0000000u);  // 30, 31
  all.all_bits = true;
  all.per_layer = 6;
  const auto every = generate_fault_list(layers, all);
  REQUIRE(every.size() == 6 * layers.size());  // 3 weights x 2 bits per layer
  for (std::size_t i = 0; i < every.size(); i += 2) {
    CHECK(every[i].index == every[i + 1].index);
    CHECK(every[i].bits == BitMask::bit(30));
    CHECK(every[i + 1].bits == BitMask::bit(31));
  }
  SampleSpec no_room;
  no_room.bits = BitMask::bit(31);
  no_room.burst = 2;
  CHECK_THROWS_AS(generate_fault_list(layers, no_room), Error);
}

TEST_CASE("layers are selected by regular expression", "[faultlist]") {
  const auto layers = test::resnet20_layers();
  const auto third = select_layers(layers, "layer3\\..*");
  CHECK(third.size() == 6);
  CHECK_THROWS_WITH(select_layers(layers, "layer9.*"), Contains("matches no layer"));
  CHECK_THROWS_WITH(select_layers(layers, "layer(["), Contains("is not a regular expression"));
  const auto faults = select_faults(generate_fault_list(layers, SampleSpec{}), "linear");
  CHECK(faults.size() == 40);
}

TEST_CASE("Keras lists map onto the PyTorch layers, HWIO to OIHW", "[faultlist]") {
  const auto layers = test::resnet20_layers();
  const auto dir = std::filesystem::temp_directory_path() / ("dnnfi-keras-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto keras = [&](const std::string& rows) {
    std::ofstream(dir / "k.csv") << "Injection,Layer,TensorIndex,Bit\n" << rows;
    return read_keras_fault_list(dir / "k.csv", layers);
  };
  const auto list =
      keras("4,conv2d,\"(2, 1, 0, 3)\",15\n9,conv2d_7,\"(0, 2, 15, 31)\",3\n5,dense,\"(63, 9)\",31\n");
  REQUIRE(list.faults.size() == 3);
  CHECK(list.faults[0].layer == "conv1");
  CHECK(list.faults[0].index == std::vector<std::int64_t>{3, 0, 2, 1});
  CHECK(list.faults[0].injection == 4);
  CHECK(list.faults[1].layer == "layer2.0.conv1");  // the 8th conv in parameter order
  CHECK(list.faults[1].index == std::vector<std::int64_t>{31, 15, 0, 2});
  CHECK(list.faults[2].layer == "linear");
  CHECK(list.faults[2].index == std::vector<std::int64_t>{9, 63});
  CHECK_THROWS_WITH(keras("0,conv2d_19,\"(0, 0, 0, 0)\",1\n"), Contains("k.csv:2: Keras layer 'conv2d_19'"));
  CHECK_THROWS_WITH(keras("0,conv2d,\"(0, 0, 3, 0)\",1\n"), Contains("k.csv:2:") && Contains("out of range"));
  CHECK_THROWS_WITH(keras("0,dense,\"(0, 0, 0, 0)\",1\n"), Contains("k.csv:2:") && Contains("does not fit"));
  CHECK_THROWS_WITH(keras("0,batch_normalization,\"(0)\",1\n"), Contains("has no PyTorch counterpart"));
  std::filesystem::remove_all(dir);
}
