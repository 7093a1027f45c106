// `dnnfi run`: a whole campaign, from options to the results file.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
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
  // needed anyway, and its model info carries the layer table (one exporter run on first use);
  // a replay needs the layer table only.
  std::optional<ModelFiles> files;
  if (!options.replay) files = work.model.prepare(work.where);
  const auto layers = work.layers();
  FaultList list;
  if (options.faults) {
    list = read_fault_list(*options.faults, layers, options.fault_model);
  } else {
    spdlog::info("no -f given: using the statistical fault list for seed {}", SampleSpec{}.seed);
    list.faults = generate_fault_list(layers, SampleSpec{}, options.fault_model.value_or(kDefaultFaultModel));
  }
  if (options.layers) {
    list.faults = select_faults(list.faults, *options.layers);
    if (list.faults.empty())
      throw Error(ExitCode::kUsage, "--layers '" + *options.layers + "' keeps no fault of the list");
  }
  if (options.iterative && (options.sample > 0 || options.shard.count > 1))
    throw Error(ExitCode::kUsage, "--margin draws from the whole list: drop --sample and --shard");
  const auto faults =
      options.iterative ? list.faults : shard(spread_sample(list.faults, options.sample), options.shard);
  LoopOptions loop;
  loop.output = options.output;
  loop.observer = options.observer;
  loop.stop = options.stop;
  auto finish = [&](Engine& engine) {
    return options.iterative ? run_iterative(faults, layers, engine, loop, *options.iterative)
                             : run_fault_loop(faults, engine, loop);
  };

  if (options.replay) {
    // Nothing is inferred: each fault's counts, image count and rule come from the file.
    ResultsReader reader(*options.replay);
    const auto rows = reader.read_all();
    if (rows.empty()) throw InputError(options.replay->string() + ": no rows to replay");
    for (const auto& row : rows)
      if (row.counts.injections != rows.front().counts.injections || row.rule != rows.front().rule)
        throw InputError(options.replay->string() + ": rows over different image counts or non-finite rules");
    loop.images = rows.front().counts.injections;
    loop.rule = rows.front().rule;
    auto engine = make_replay_engine(rows, options.replay->string());
    spdlog::info("{}: {} faults, counts replayed from {}", work.label, faults.size(),
                 options.replay->string());
    return finish(*engine);
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto model = Model::load(*files, device);
  const auto source = work.data();
  const auto data = open_dataset(source, inference.images);
  check_model_fits(model, data, source.path.string());
  const double load_seconds = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  EngineOptions engine_options;
  engine_options.batch_size = inference.batch_size;
  engine_options.memory_limit = options.memory_limit;
  engine_options.stop = options.stop;
  engine_options.non_finite = options.non_finite;
  auto engine = make_engine(options.engine, model, data, engine_options);
  spdlog::debug("model and data loaded in {:.2f} s, engine set up in {:.2f} s", load_seconds,
                seconds_since(t1));
  spdlog::info("{}: {} faults x {} images, {} engine, batch {}, {} thread(s), {}", work.label, faults.size(),
               data.size(), engine->name(), inference.batch_size, at::get_num_threads(), device.str());

  loop.images = data.size();
  loop.rule = options.non_finite;
  auto summary = finish(*engine);
  spdlog::debug("peak cached activations: {:.1f} MiB",
                static_cast<double>(engine->cache_bytes()) / (1 << 20));
  return summary;
}

}  // namespace dnnfi
