// What must hold on whichever device the tests find: CUDA when this build and machine have one,
// else the CPU (`dnnfi_unit_tests "[device]"` is what the GPU check runs).
#include <torch/cuda.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

#include "dnnfi/commands.hpp"
#include "dnnfi/engine.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/numerics.hpp"
#include "test_support.hpp"
#include "zoo_model.hpp"

using namespace dnnfi;

namespace {

torch::Device test_device() {
  InferenceOptions options;
  options.threads = 1;
  options.use_cuda = torch::cuda::is_available();
  return setup_inference(options);  // on CUDA: FP32 cuDNN, deterministic, no benchmark mode
}

// One published fault of every layer, two of one layer (a shared run, a stack).
std::vector<Fault> published_sample() {
  auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  std::map<std::string, int> taken;
  std::vector<Fault> faults;
  for (const auto& f : published.faults)
    if (taken[f.layer]++ < (f.layer == "layer2.1.conv1" ? 4 : 1)) faults.push_back(f);
  return faults;
}

// On `device`, the staged and stacked engines give the naive engine's counts on every fault; with
// `cpu_staged`, the CPU's critical counts are within 1 of the device's.
void check_engines_agree(test::ZooModel& here, const std::vector<Fault>& faults, const torch::Device& device,
                         Engine* cpu_staged = nullptr) {
  EngineOptions options;
  auto naive = make_engine(EngineKind::kNaive, here.model, here.data, options);
  auto staged = make_engine(EngineKind::kStaged, here.model, here.data, options);
  auto stacked = make_engine(EngineKind::kStacked, here.model, here.data, options);
  for (const auto& f : faults) {
    INFO(f.layer << " " << format_index(f.index) << " bit " << format_bits(f.bits) << " on " << device.str());
    const auto reference = evaluate_fault(*naive, f);
    CHECK(evaluate_fault(*staged, f) == reference);
    CHECK(evaluate_fault(*stacked, f) == reference);
    if (cpu_staged) CHECK(std::abs(evaluate_fault(*cpu_staged, f).critical - reference.critical) <= 1);
  }
}

}  // namespace

TEST_CASE("TF32 rounding on the device equals the CPU's bit for bit", "[device][numerics]") {
  const auto device = test_device();
  torch::manual_seed(11);
  const auto cpu = torch::randn({64, 16, 8, 8}) * 1000;
  // The device path (tensor arithmetic): a channels-last copy on CUDA; a transposed view on the CPU.
  const auto on_device =
      device.is_cuda() ? cpu.to(device).contiguous(at::MemoryFormat::ChannelsLast) : cpu.transpose(0, 1);
  const auto expected = device.is_cuda() ? round_tf32(cpu) : round_tf32(cpu.transpose(0, 1).contiguous());
  CHECK(round_tf32(on_device)
            .to(torch::kCPU)
            .contiguous()
            .view(torch::kInt32)
            .equal(expected.contiguous().view(torch::kInt32)));
}

TEST_CASE("on the device, ResNet20's top-1 agrees with the CPU's and the engines agree fault by fault",
          "[device][engine][model]") {
  const auto device = test_device();
  if (!device.is_cuda()) {
    WARN("no CUDA device: the CPU's case is the [engine] tests");
    return;
  }
  test::ZooModel here("resnet20", 300, {}, device);
  test::ZooModel cpu("resnet20", 300);
  torch::Tensor logits, cpu_logits;
  {
    torch::InferenceMode guard;
    logits = here.model.forward(here.model.prepare_input(here.data.images)).to(torch::kCPU);
    cpu_logits = cpu.model.forward(cpu.model.prepare_input(cpu.data.images));
  }
  // Kernels differ across devices: logits agree closely, top-1 on (almost) every image.
  CHECK(logits.argmax(1).ne(cpu_logits.argmax(1)).sum().item<std::int64_t>() <= 1);
  CHECK((logits - cpu_logits).abs().max().item<float>() < 1e-2f);

  auto cpu_staged = make_engine(EngineKind::kStaged, cpu.model, cpu.data, EngineOptions{});
  check_engines_agree(here, published_sample(), device, cpu_staged.get());
}

TEST_CASE("a conv on the device is IEEE FP32 with --tf32 off and TF32 with --tf32 on",
          "[device][numerics][precision]") {
  const auto device = test_device();
  torch::manual_seed(5);
  // A 64-channel 3x3 convolution on random data against the same in float64.
  const auto x = torch::randn({16, 64, 16, 16}, torch::kDouble);
  const auto w = torch::randn({64, 64, 3, 3}, torch::kDouble);
  const auto reference = at::conv2d(x, w, {}, 1, 1);
  const auto error = [&] {
    torch::InferenceMode guard;
    const auto y = at::conv2d(x.to(device, torch::kFloat), w.to(device, torch::kFloat), {}, 1, 1);
    return ((y.to(torch::kCPU, torch::kDouble) - reference).abs().max() / reference.abs().max())
        .item<double>();
  };
  INFO("on " << device.str() << ", " << float32_precision_api());
  CHECK(error() <= 1e-5);
  if (device.is_cuda()) {
    REQUIRE(set_cuda_float32_precision(true).conv == "tf32");
    const double tf32 = error();
    set_cuda_float32_precision(false);
    CHECK(tf32 >= 1e-4);
    CHECK(error() <= 1e-5);
  }
}

TEST_CASE("with TF32 emulated in layer3, the device's engines agree with naive", "[device][engine][model]") {
  const auto device = test_device();
  if (!device.is_cuda()) {
    WARN("no CUDA device: the CPU's case is the [numerics] test of TF32 emulation");
    return;
  }
  Numerics numerics;
  numerics.emulate_tf32 = "^layer3\\.";
  test::ZooModel here("resnet20", 300, numerics, device);
  REQUIRE(here.model.tf32_layers().size() == 6);
  std::vector<Fault> faults;
  for (const auto& f : published_sample())
    if (f.layer.rfind("layer2.2.", 0) == 0 || f.layer.rfind("layer3.", 0) == 0) faults.push_back(f);
  check_engines_agree(here, faults, device);
}
