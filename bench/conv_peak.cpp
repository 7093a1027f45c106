// conv_peak: the machine's convolution throughput for a model's conv shapes, measured the
// way the campaign runs them (LibTorch CPU/oneDNN, float32, the given batch and threads).
// Prints GFLOP/s per distinct shape and the best one, the "peak" the campaign benchmark
// compares its achieved GFLOP/s against.
//   conv_peak [-n resnet20] [-d cifar10] [-b 128] [--threads 2] [--seconds 0.5]
#include <fmt/format.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <set>

#include "allocator.hpp"
#include "dnnfi/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"convolution throughput for a zoo model's conv shapes"};
  dnnfi::ModelOptions model;
  dnnfi::InferenceOptions inference;
  inference.threads = 2;
  double seconds = 0.5;
  app.add_option("-n,--name", model.name);
  app.add_option("-d,--dataset", model.dataset);
  app.add_option("-b,--batch-size", inference.batch_size);
  app.add_option("--threads", inference.threads);
  app.add_option("--seconds", seconds, "time per shape");
  CLI11_PARSE(app, argc, argv);

  dnnfi::cli::keep_freed_memory();  // as the dnnfi tool runs
  dnnfi::setup_inference(inference);
  torch::InferenceMode guard;
  std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>> seen;
  double best = 0;
  fmt::print("{:<18} {:>16} {:>9} {:>10}\n", "layer", "in (C x H x W)", "out C", "GFLOP/s");
  for (const auto& layer : dnnfi::model_layers(model)) {
    if (layer.shape.size() != 4 || layer.macs == 0) continue;
    const auto out = layer.shape[0], in = layer.shape[1], k = layer.shape[2];
    const auto side = static_cast<std::int64_t>(std::lround(
        std::sqrt(static_cast<double>(layer.macs) / static_cast<double>(out * in * k * layer.shape[3]))));
    if (!seen.emplace(out, in, k, side).second) continue;
    auto x = torch::randn({inference.batch_size, in, side, side});
    auto w = torch::randn({out, in, k, layer.shape[3]});
    const double flops = 2.0 * static_cast<double>(out * in * k * layer.shape[3] * side * side) *
                         static_cast<double>(inference.batch_size);
    torch::conv2d(x, w, {}, /*stride=*/1, /*padding=*/k / 2);  // warm-up
    int runs = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      torch::conv2d(x, w, {}, /*stride=*/1, /*padding=*/k / 2);
      ++runs;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const double gflops = flops * runs / elapsed / 1e9;
    best = std::max(best, gflops);
    fmt::print("{:<18} {:>16} {:>9} {:>10.1f}\n", layer.name, fmt::format("{} x {} x {}", in, side, side),
               out, gflops);
  }
  fmt::print("peak conv GFLOP/s: {:.1f} (batch {}, {} thread(s))\n", best, inference.batch_size,
             inference.threads);
  return 0;
}
