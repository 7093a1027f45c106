// `dnnfi eval` and `dnnfi layers`, and the inference set-up every command shares.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <set>
#include <thread>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "engine/batches.hpp"
#include "workload.hpp"

namespace dnnfi {

torch::Device setup_inference(const InferenceOptions& options) {
  check_batch_size(options.batch_size);
  check_threads(options.threads);
  check_images(options.images);
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  try {
    at::set_num_interop_threads(threads);
  } catch (const c10::Error&) {
    // Only settable once per process; a second call (tests) keeps the first value.
  }
  if (at::get_num_threads() != threads)
    spdlog::warn("--threads {}: LibTorch runs {} intra-op threads", threads, at::get_num_threads());
  spdlog::debug("threads: {} intra-op, {} inter-op", at::get_num_threads(), at::get_num_interop_threads());
  if (!options.use_cuda) {
    if (options.numerics.tf32)
      throw Error(ExitCode::kUsage,
                  "--tf32 on needs --use-cuda (cuDNN's TF32); on the CPU, --emulate-tf32 REGEX rounds "
                  "the chosen convolutions' operands as TF32 does");
    return torch::kCPU;
  }
  if (!torch::cuda::is_available())
    throw Error(ExitCode::kUsage,
                torch::cuda::device_count() == 0 && !torch::hasCUDA()
                    ? "--use-cuda: this dnnfi is built against a CPU-only LibTorch; rebuild it "
                      "with -DCMAKE_PREFIX_PATH set to a CUDA-enabled LibTorch (for a pip torch: "
                      "python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
                    : "--use-cuda: no CUDA device is visible (check nvidia-smi and "
                      "CUDA_VISIBLE_DEVICES)");
  auto& context = at::globalContext();
  const auto precision = set_cuda_float32_precision(options.numerics.tf32);
  const std::string wanted = options.numerics.tf32 ? "tf32" : "ieee";
  if (precision.conv != wanted || precision.matmul != "ieee")
    throw Error(ExitCode::kFailure,
                fmt::format("--tf32 {}: LibTorch reports CUDA convolutions {} and matmuls {} "
                            "after setting them ({}), not {} and ieee",
                            options.numerics.tf32 ? "on" : "off", precision.conv, precision.matmul,
                            precision.api, wanted));
  spdlog::info("CUDA float32 precision: convolutions {}, matmuls {} (set through {})", precision.conv,
               precision.matmul, precision.api);
  context.setDeterministicCuDNN(true);
  context.setBenchmarkCuDNN(false);
  return torch::Device(torch::kCUDA, 0);
}

void place_on_device(Dataset& data, const Model& model) { data.images = model.prepare_input(data.images); }

Model load_for_inference(const ModelFiles& files, const torch::Device& device,
                         const InferenceOptions& inference, FaultTarget target) {
  auto model = Model::load(files, device, inference.numerics, inference.layout == Layout::kNhwc,
                           FaultSpace{inference.format, target});
  if (inference.format != WordFormat::kFp32)
    spdlog::info("weights stored as {}: golden is the model with the stored values",
                 to_string(inference.format));
  if (const auto& layers = model.tf32_layers(); !layers.empty())
    spdlog::info("TF32 emulated in {} convolution(s): {}", layers.size(), fmt::join(layers, ", "));
  spdlog::info("numerics: {}, layout {}", describe(inference.numerics, device),
               name_of(kLayoutNames, inference.layout));
  return model;
}

EvalResult evaluate(const ModelOptions& model_options, const InferenceOptions& inference) {
  const auto device = setup_inference(inference);
  const auto work = resolve_workload(model_options);
  auto model = load_for_inference(work.model.prepare(work.where), device, inference);
  const auto source = work.data();
  auto data = open_dataset(source, inference.images);
  check_model_fits(model, data, source.path.string());
  place_on_device(data, model);
  const auto start = std::chrono::steady_clock::now();
  torch::InferenceMode guard;
  EvalResult result;
  for_each_batch(data.size(), inference.batch_size, [&](std::int64_t first, std::int64_t length) {
    const auto logits = model.forward(device_batch(data, model, first, length));
    result.correct += logits.argmax(/*dim=*/1)
                          .to(torch::kCPU)
                          .eq(data.labels.narrow(0, first, length))
                          .sum()
                          .item<std::int64_t>();
  });
  result.total = data.size();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<Layer> model_layers(const ModelOptions& model_options) {
  return resolve_workload(model_options).layers();
}

std::vector<Layer> left_out_parameters(const ModelOptions& model_options) {
  const auto work = resolve_workload(model_options);
  if (work.model.is_zoo() || work.options.params == ParamSelection::kAll) return {};
  const auto files = work.model.prepare(work.where);
  if (!files.info.empty()) return {};
  std::set<std::string> layers;
  for (const auto& layer : work.layers()) layers.insert(layer.name);
  std::vector<Layer> left_out;
  for (auto& parameter : work.model.parameter_layers(work.where))
    if (!layers.count(parameter.name)) left_out.push_back(std::move(parameter));
  return left_out;
}

std::vector<Layer> fault_targets(const Workload& work, const FaultSpace& space) {
  if (space.format != WordFormat::kFp32 && work.options.params == ParamSelection::kAll)
    throw Error(ExitCode::kUsage, "--format " + std::string(to_string(space.format)) +
                                      " stores conv and linear weights; --params all faults fp32 parameters");
  if (space.target == FaultTarget::kWeights) return work.layers();
  if (space.format != WordFormat::kFp32)
    throw Error(ExitCode::kUsage, "--format " + std::string(to_string(space.format)) +
                                      " stores weights; activation faults hit the FP32 outputs of layers");
  if (work.options.params == ParamSelection::kAll)
    throw Error(ExitCode::kUsage, "--params all names parameters; activation faults hit layer outputs");
  const auto source = work.data();
  auto example = open_dataset(source, 1);
  // Shapes only: loaded quietly on the CPU (the campaign's own load says its numerics and layout).
  auto model = Model::load(work.model.prepare(work.where), torch::kCPU, Numerics{}, /*channels_last=*/false,
                           FaultSpace{WordFormat::kFp32, FaultTarget::kActivations});
  check_model_fits(model, example, source.path.string());
  return model.activation_targets(example.images);
}

}  // namespace dnnfi
