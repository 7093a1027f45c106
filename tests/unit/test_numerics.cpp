// TF32 rounding, and its emulation in chosen convolutions of the real ResNet20.
#include <torch/torch.h>
#include <torch/version.h>

#include <catch2/catch.hpp>
#include <cfenv>
#include <cmath>
#include <limits>
#include <random>

#include "dnnfi/engine.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/numerics.hpp"
#include "test_support.hpp"
#include "zoo_model.hpp"

using namespace dnnfi;

namespace {

// TF32 by arithmetic instead of bits: the value's spacing at 10 mantissa bits (subnormals
// keep the smallest normal exponent's), the quotient rounded half to even by the FPU.
float reference_tf32(float v) {
  if (!std::isfinite(v) || v == 0.0f) return v;
  const int exponent = std::max(std::ilogb(v), -126);
  const double spacing = std::ldexp(1.0, exponent - 10);
  std::fesetround(FE_TONEAREST);
  return static_cast<float>(std::nearbyint(static_cast<double>(v) / spacing) * spacing);
}

std::vector<std::uint32_t> interesting_words() {
  std::vector<std::uint32_t> words = {
      0x3F800000u,  // 1
      0x3F801000u,  // 1 + half a TF32 ulp, kept part even: stays 1
      0x3F803000u,  // 1 + 1.5 ulp, kept part odd: ties up to 1 + 2 ulp
      0x3F801001u,  // just above half: up
      0x3F800FFFu,  // just below half: down
      0xBF801800u,  // negative
      0x7F7FFFFFu,  // the largest float: past TF32's largest, rounds to infinity
      0x00001000u,  // a subnormal at half
      0x00003000u,  // a subnormal tie that goes up
      0x80000000u,  // -0
      0x7F800000u,  // infinity
      0xFF800000u,  // -infinity
      0x7FC00001u,  // a quiet NaN with a payload
      0x7F800001u,  // a signalling NaN: must not become infinity
  };
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) words.push_back(static_cast<std::uint32_t>(rng()));
  return words;
}

}  // namespace

TEST_CASE("TF32 rounding is round to nearest even at 10 mantissa bits", "[numerics]") {
  for (auto word : interesting_words()) {
    const float v = bits_float(word);
    INFO("word 0x" << std::hex << word);
    if (std::isnan(v)) {
      CHECK(float_bits(round_tf32(v)) == word);  // NaN passes with its payload
      continue;
    }
    CHECK(float_bits(round_tf32(v)) == float_bits(reference_tf32(v)));
    CHECK((float_bits(round_tf32(v)) & 0x1FFFu) == 0u);
  }
  CHECK(round_tf32(bits_float(0x3F801000u)) == 1.0f);
  CHECK(float_bits(round_tf32(bits_float(0x3F803000u))) == 0x3F804000u);
  CHECK(std::isinf(round_tf32(std::numeric_limits<float>::max())));
}

TEST_CASE("TF32 rounding of a tensor equals the scalar rounding in any layout", "[numerics]") {
  const auto words = interesting_words();
  std::vector<float> values;
  for (auto w : words) values.push_back(bits_float(w));
  const auto n = static_cast<std::int64_t>(values.size()) / 64 * 64;
  const auto flat = torch::from_blob(values.data(), {n}, torch::kFloat).clone();
  const auto nhwc = flat.view({n / 64, 4, 4, 4}).contiguous(at::MemoryFormat::ChannelsLast);
  const auto transposed = flat.view({n / 64, 64}).t();  // neither dense row-major nor channels-last
  for (const auto& x : {flat, nhwc, transposed}) {
    const auto rounded = round_tf32(x);
    REQUIRE(rounded.sizes() == x.sizes());
    const auto got = rounded.contiguous().view(torch::kInt32);
    const auto in = x.contiguous();
    const auto* src = in.data_ptr<float>();
    const auto* out = got.data_ptr<std::int32_t>();
    std::int64_t wrong = 0;
    for (std::int64_t i = 0; i < in.numel(); ++i)
      wrong += static_cast<std::uint32_t>(out[i]) != float_bits(round_tf32(src[i]));
    CHECK(wrong == 0);
  }
}

TEST_CASE("emulated TF32 convolutions round their input and weight; the others stay FP32",
          "[numerics][model]") {
  test::ZooModel::use_threads(1);
  test::ZooModel plain("resnet20", 8);
  Numerics numerics;
  numerics.emulate_tf32 = "^layer3\\.";
  test::ZooModel r("resnet20", 8, numerics);
  CHECK(r.model.tf32_layers().size() == 6);
  CHECK(r.model.rounds_tf32("layer3.1.conv2"));
  CHECK_FALSE(r.model.rounds_tf32("layer2.2.conv2"));
  CHECK_FALSE(plain.model.rounds_tf32("layer3.1.conv2"));
  torch::InferenceMode guard;
  CHECK_FALSE(r.model.forward(r.model.prepare_input(r.data.images))
                  .equal(plain.model.forward(plain.model.prepare_input(plain.data.images))));

  // One rewritten conv against an FP32 conv of rounded operands, and one untouched.
  torch::manual_seed(3);
  for (const std::string name : {"layer3.0.conv2", "layer2.0.conv2"}) {
    torch::jit::Module conv;
    for (const auto& m : r.model.module().named_modules())
      if (m.name == name) conv = m.value;
    const auto weight = r.model.weight(name);
    const auto x = torch::randn({4, weight.size(1), 8, 8}).contiguous(at::MemoryFormat::ChannelsLast);
    const auto& g = r.model.info().convs.at(name);
    const bool rounds = name.rfind("layer3", 0) == 0;
    const auto expected = at::conv2d(rounds ? round_tf32(x) : x, rounds ? round_tf32(weight) : weight,
                                     r.model.bias(name), g.stride, g.padding, g.dilation, g.groups);
    INFO(name);
    CHECK(conv.forward({x}).toTensor().view(torch::kInt32).equal(expected.view(torch::kInt32)));
  }
}

TEST_CASE("TF32 emulation refuses a bad pattern and one that matches no convolution", "[numerics][model]") {
  const auto status = [&](const std::string& pattern) {
    try {
      Numerics numerics;
      numerics.emulate_tf32 = pattern;
      test::ZooModel r("resnet20", 1, numerics);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(pattern) != std::string::npos);
      return e.code();
    }
    return ExitCode::kOk;
  };
  CHECK(status("(") == ExitCode::kUsage);
  CHECK(status("^linear$") == ExitCode::kUsage);  // a linear layer, not a convolution
  CHECK(status("^layr3") == ExitCode::kUsage);
}

TEST_CASE("with TF32 emulated, staged equals naive, and dropped bits are masked without compute",
          "[numerics][engine][model][heavy]") {
  test::ZooModel::use_threads(1);
  Numerics numerics;
  numerics.emulate_tf32 = "^layer3\\.";
  test::ZooModel r("resnet20", 300, numerics);
  auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  std::vector<Fault> low, high;  // layer3 conv faults in bits 0-11; faults in bits 12-31 anywhere
  std::map<std::string, int> taken;
  for (const auto& f : published.faults) {
    const bool layer3 = f.layer.rfind("layer3", 0) == 0;
    if (layer3 && f.bits.lowest() <= 11 && low.size() < 6) low.push_back(f);
    if (f.bits.lowest() >= 12 && taken[f.layer]++ < 1) high.push_back(f);
  }
  REQUIRE(low.size() == 6);
  auto naive = make_engine(EngineKind::kNaive, r.model, r.data, EngineOptions{});
  auto staged = make_engine(EngineKind::kStaged, r.model, r.data, EngineOptions{});
  const double before = staged->executed_macs();
  for (const auto& f : low) {
    INFO(f.layer << " " << format_index(f.index) << " bit " << format_bits(f.bits));
    CHECK(evaluate_fault(*staged, f).masked == 300);
  }
  CHECK(staged->executed_macs() == before);
  for (const auto& f : high) {
    INFO(f.layer << " " << format_index(f.index) << " bit " << format_bits(f.bits));
    CHECK(evaluate_fault(*staged, f) == evaluate_fault(*naive, f));
  }
}

TEST_CASE("CUDA's float32 precision is set through this LibTorch's own interface and read back",
          "[numerics]") {
  // 2.9 keys the float32-precision API by strings, 2.10 on by enums; before, only the legacy
  // flags exist (and there "no TF32" is IEEE). Without a GPU these are flags all the same.
  constexpr int version = TORCH_VERSION_MAJOR * 100 + TORCH_VERSION_MINOR;
  const auto api = float32_precision_api();
  if (version >= 210) {
    CHECK(api == "float32 precision (enums)");
  } else if (version == 209) {
    CHECK(api == "float32 precision (strings)");
  } else if (version < 207) {
    CHECK(api == "legacy TF32 flags");
  }
  const auto tf32 = set_cuda_float32_precision(true);
  CHECK(tf32.conv == "tf32");
  CHECK(tf32.matmul == "ieee");
  const auto ieee = set_cuda_float32_precision(false);
  CHECK(ieee.conv == "ieee");
  CHECK(ieee.matmul == "ieee");
  CHECK(ieee.api == api);
  CHECK(cuda_float32_precision().conv == "ieee");
  // What the provenance says: the device's own read-back on CUDA only.
  Numerics numerics;
  numerics.emulate_tf32 = "^layer3\\.";
  CHECK(describe(numerics, torch::kCPU) == "fp32, tf32 emulated in ^layer3\\.");
  CHECK(describe(numerics, torch::Device(torch::kCUDA, 0)) ==
        "fp32 (cuda conv ieee, matmul ieee), tf32 emulated in ^layer3\\.");
}
