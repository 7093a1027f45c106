#include "dnnfi/commands.hpp"

#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "dnnfi/errors.hpp"
#include "engines.hpp"

namespace dnnfi {
namespace {

Locations locations(const ModelOptions& model) { return resolve_locations(model.weights_dir, model.data_dir); }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void keep_freed_memory() {
  // Inference allocates and frees the same large activation buffers for every batch; glibc
  // would hand them back to the kernel each time (mmap/munmap and page faults: about half
  // the run time on 2 cores). Keep them in the heap instead, and never trim the heap: the
  // staged engine frees one chunk's cached activations and refills the same amount for the
  // next chunk (re-faulting 4 GB of pages doubled that golden pass here).
  constexpr int kMaxMmapThreshold = 32 << 20;  // glibc's upper limit on 64-bit
  mallopt(M_MMAP_THRESHOLD, kMaxMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, -1);  // -1: no trimming (mallopt(3))
  mallopt(M_TOP_PAD, 256 << 20);
}

torch::Device setup_inference(const InferenceOptions& options) {
  if (options.batch_size <= 0) throw Error(ExitCode::kUsage, "batch size must be positive");
  keep_freed_memory();
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  try {
    at::set_num_interop_threads(threads);
  } catch (const c10::Error&) {
    // Only settable once per process; a second call (tests) keeps the first value.
  }
  spdlog::debug("threads: {} intra-op, {} inter-op", at::get_num_threads(), at::get_num_interop_threads());
  if (!options.use_cuda) return torch::kCPU;
  if (!torch::cuda::is_available())
    throw Error(ExitCode::kUsage, torch::cuda::device_count() == 0 && !torch::hasCUDA()
                                      ? "--use-cuda: this dnnfi is built against a CPU-only LibTorch; rebuild it "
                                        "with -DCMAKE_PREFIX_PATH set to a CUDA-enabled LibTorch (for a pip torch: "
                                        "python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
                                      : "--use-cuda: no CUDA device is visible (check nvidia-smi and "
                                        "CUDA_VISIBLE_DEVICES)");
  return torch::Device(torch::kCUDA, 0);
}

EvalResult evaluate(const ModelOptions& model_options, const InferenceOptions& inference) {
  const auto device = setup_inference(inference);
  const auto& entry = find_model(model_options.name, model_options.dataset);
  const auto where = locations(model_options);
  auto model = Model::load(prepare_model(entry, where), device);
  const auto data = load_test_set(entry, where, inference.images);
  const auto start = std::chrono::steady_clock::now();
  torch::InferenceMode guard;
  EvalResult result;
  for_each_batch(data.size(), inference.batch_size, [&](std::int64_t first, std::int64_t length) {
    const auto logits = model.forward(device_batch(data, model, first, length));
    result.correct += logits.argmax(/*dim=*/1).to(torch::kCPU).eq(data.labels.narrow(0, first, length))
                          .sum().item<std::int64_t>();
  });
  result.total = data.size();
  result.seconds = seconds_since(start);
  return result;
}

std::vector<Layer> model_layers(const ModelOptions& model) {
  return prepare_model_meta(find_model(model.name, model.dataset), locations(model)).layers;
}

std::vector<ZooStatus> zoo_status(const std::optional<std::filesystem::path>& weights_dir) {
  const auto where = resolve_locations(weights_dir, std::nullopt);
  std::vector<ZooStatus> rows;
  for (const auto& entry : zoo()) {
    ZooStatus row;
    row.entry = &entry;
    const auto meta_path = where.home / "models" / (entry.name + "-" + entry.dataset + ".meta");
    std::optional<ModelMeta> meta;
    try {
      if (std::filesystem::exists(meta_path)) meta = read_model_meta(meta_path);
    } catch (const InputError&) {
      // an outdated export: fall back to the formula
    }
    if (meta) {
      row.fault_list_size = static_cast<std::int64_t>(generate_fault_list(meta->layers, SampleSpec{}).size());
      row.fault_list_exact = true;
    } else {
      row.fault_list_size = std::llround(
          statistical_sample_size(static_cast<double>(entry.fault_weights) * 64, SampleSpec{}));
    }
    if (entry.weights_file.empty()) {
      row.checkpoint = "not published";
    } else if (meta && meta->checkpoint == entry.weights_file) {
      row.checkpoint = "verified";  // the exporter checked its sha256 before exporting
    } else {
      row.checkpoint = "missing";
      for (const auto& dir : {where.weights_dir.value_or(""), where.home / "weights"}) {
        const auto file = dir / entry.weights_file;
        if (!dir.empty() && std::filesystem::exists(file) &&
            (entry.size < 0 || static_cast<std::int64_t>(std::filesystem::file_size(file)) == entry.size))
          row.checkpoint = "present";
      }
    }
    rows.push_back(row);
  }
  return rows;
}

std::vector<Fault> write_statistical_list(const ModelOptions& model, const FaultListOptions& options) {
  auto faults = generate_fault_list(model_layers(model), options.spec);
  if (options.fault_model)
    for (auto& f : faults) f.model = options.fault_model;
  const auto tmp = std::filesystem::path(options.output).concat(".part");
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw ResourceError(options.output.string() + ": cannot write the fault list");
    write_fault_list(out, faults, options.fault_model.has_value());
    if (!out.flush()) throw ResourceError(options.output.string() + ": write failed");
  }
  std::filesystem::rename(tmp, options.output);
  return faults;
}

CampaignSummary run_campaign(const ModelOptions& model_options, const InferenceOptions& inference,
                             const CampaignOptions& options) {
  const auto device = setup_inference(inference);
  const auto& entry = find_model(model_options.name, model_options.dataset);
  const auto where = locations(model_options);

  // Everything the user wrote is checked before any inference starts. The full export is
  // needed anyway, and its metadata carries the layer table (one exporter run on first use).
  const auto files = prepare_model(entry, where);
  const auto meta = read_model_meta(files.meta);
  FaultList list;
  if (options.faults) {
    list = read_fault_list(*options.faults, meta.layers);
  } else {
    spdlog::info("no -f given: using the statistical fault list for seed {}", SampleSpec{}.seed);
    list.faults = generate_fault_list(meta.layers, SampleSpec{});
  }
  if (list.has_fault_model_column && options.fault_model)
    throw Error(ExitCode::kUsage, "--fault-model conflicts with the fault_model column of " +
                                      options.faults->string() + "; drop one of them");
  auto faults = shard(spread_sample(list.faults, options.sample), options.shard_index, options.shard_count);

  const auto t0 = std::chrono::steady_clock::now();
  auto model = Model::load(files, device);
  const auto data = load_test_set(entry, where, inference.images);
  const double load_seconds = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  EngineOptions engine_options;
  engine_options.batch_size = inference.batch_size;
  engine_options.memory_limit = options.memory_limit;
  auto engine = make_engine(options.engine, model, data, engine_options);
  engine->set_stop(options.stop);
  spdlog::debug("model and data loaded in {:.2f} s, engine set up in {:.2f} s", load_seconds,
                seconds_since(t1));
  spdlog::info("{}/{}: {} faults x {} images, {} engine, batch {}, {} thread(s), {}", entry.name, entry.dataset,
               faults.size(), data.size(), engine->name(), inference.batch_size, at::get_num_threads(),
               device.str());

  EngineRunner runner(*engine);
  LoopOptions loop;
  loop.output = options.output;
  loop.images = data.size();
  loop.default_model = options.fault_model.value_or(FaultModel::kBitFlip);
  loop.progress = options.progress && ::isatty(STDERR_FILENO);
  loop.stop = options.stop;
  auto summary = run_fault_loop(faults, runner, loop);
  summary.macs = engine->executed_macs();
  spdlog::debug("peak cached activations: {:.1f} MiB", static_cast<double>(engine->cache_bytes()) / (1 << 20));
  return summary;
}

}  // namespace dnnfi
