// `dnnfi run`: a whole campaign, from options to the results file.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>

#include "dnnfi/commands.hpp"
#include "workload.hpp"

namespace dnnfi {
namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

CampaignSummary run_campaign(const ModelOptions& model_options, const InferenceOptions& inference,
                             const CampaignOptions& options) {
  const auto device = setup_inference(inference);
  check_shard(options.shard);
  check_memory_limit(options.memory_limit);
  const auto work = resolve_workload(model_options);

  // Everything the user wrote is checked before any inference starts. The full export is
  // needed anyway, and its model info carries the layer table (one exporter run on first use).
  const auto files = work.model.prepare(work.where);
  const auto info = read_model_info(files.info);
  FaultList list;
  if (options.faults) {
    list = read_fault_list(*options.faults, info.layers, options.fault_model);
  } else {
    spdlog::info("no -f given: using the statistical fault list for seed {}", SampleSpec{}.seed);
    list.faults =
        generate_fault_list(info.layers, SampleSpec{}, options.fault_model.value_or(kDefaultFaultModel));
  }
  const auto faults = shard(spread_sample(list.faults, options.sample), options.shard);

  const auto t0 = std::chrono::steady_clock::now();
  auto model = Model::load(files, device);
  const auto data = open_dataset(work.data(), inference.images);
  const double load_seconds = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  EngineOptions engine_options;
  engine_options.batch_size = inference.batch_size;
  engine_options.memory_limit = options.memory_limit;
  engine_options.stop = options.stop;
  auto engine = make_engine(options.engine, model, data, engine_options);
  spdlog::debug("model and data loaded in {:.2f} s, engine set up in {:.2f} s", load_seconds,
                seconds_since(t1));
  spdlog::info("{}: {} faults x {} images, {} engine, batch {}, {} thread(s), {}", work.label, faults.size(),
               data.size(), engine->name(), inference.batch_size, at::get_num_threads(), device.str());

  LoopOptions loop;
  loop.output = options.output;
  loop.images = data.size();
  loop.observer = options.observer;
  loop.stop = options.stop;
  auto summary = run_fault_loop(faults, *engine, loop);
  spdlog::debug("peak cached activations: {:.1f} MiB",
                static_cast<double>(engine->cache_bytes()) / (1 << 20));
  return summary;
}

}  // namespace dnnfi
