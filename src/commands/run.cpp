// `dnnfi run`: a whole campaign, from options to the results file.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/provenance.hpp"
#include "platform/file_lock.hpp"
#include "platform/sha256.hpp"
#include "workload.hpp"

namespace dnnfi {
namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string join_values(const std::vector<float>& values) {
  std::string out;
  for (auto v : values) out += (out.empty() ? "" : ",") + fmt::format("{:g}", v);
  return out;
}

// Everything of the campaign that inference does not decide.
Provenance describe(const Workload& work, const InferenceOptions& inference, const CampaignOptions& options,
                    const std::vector<Fault>& list, const std::vector<Fault>& sequence) {
  Provenance p;
  p.dnnfi_version = dnnfi_version();
  p.model = work.label;
  p.params = std::string(name_of(kParamSelectionNames, work.options.params));
  p.fault_list = options.faults ? std::filesystem::absolute(*options.faults).string()
                                : "statistical, seed " + std::to_string(SampleSpec{}.seed);
  p.fault_list_sha256 = fault_list_sha256(list);
  p.fault_model = "none";
  if (!list.empty()) {
    p.fault_model = std::string(to_string(list.front().model));
    for (const auto& f : list)
      if (f.model != list.front().model) p.fault_model = "mixed";
  }
  p.layers = options.layers.value_or("");
  p.sample = options.sample;
  if (const auto& it = options.iterative)
    p.iterative = fmt::format("margin {:g}, confidence {:g}, per-layer {}, seed {}, round {}", it->margin,
                              it->confidence, it->per_layer ? "yes" : "no", it->seed, it->round);
  p.non_finite_rule = std::string(to_string(options.non_finite));
  p.batch_size = inference.batch_size;
  p.device = inference.use_cuda ? "cuda" : "cpu";
  p.numerics = describe(inference.numerics);
  p.layout = std::string(name_of(kLayoutNames, inference.layout));
  p.engine = std::string(to_string(options.engine));
  p.threads = at::get_num_threads();
  p.shard = options.shard;
  p.injections = format_injection_ranges(sequence);
  return p;
}

// The file's provenance must be this campaign's; then it is (re)written with this run's engine
// and threads. A results file of an older dnnfi, without one, is checked row by row only.
void check_and_record(const std::filesystem::path& output, const Provenance& ours) {
  // An empty results file holds nothing to protect: a provenance left beside it is stale.
  const bool empty = std::filesystem::file_size(output) == 0;
  if (const auto theirs = empty ? std::nullopt : read_provenance(output)) {
    const auto differences = provenance_differences(ours, *theirs, true);
    if (!differences.empty()) {
      std::string why;
      for (const auto& d : differences) why += "\n  " + d;
      throw InputError(provenance_path(output).string() + ": " + output.string() +
                       " holds another campaign's results; use another -o, or the same options:" + why);
    }
  } else if (!empty) {
    spdlog::warn("{}: no provenance beside it (an older dnnfi?); its rows are checked one by one",
                 output.string());
  }
  write_provenance(output, ours);
}

// Removes the results file the campaign's lock created when nothing was written to it, so a
// refused or failed start leaves no empty file behind.
class EmptyOutputCleanup {
 public:
  EmptyOutputCleanup(std::filesystem::path path, bool created) : path_(std::move(path)), created_(created) {}
  ~EmptyOutputCleanup() {
    std::error_code ec;
    if (created_ && std::filesystem::file_size(path_, ec) == 0 && !ec) {
      std::filesystem::remove(path_, ec);
      std::filesystem::remove(provenance_path(path_), ec);
    }
  }
  EmptyOutputCleanup(const EmptyOutputCleanup&) = delete;
  EmptyOutputCleanup& operator=(const EmptyOutputCleanup&) = delete;

 private:
  std::filesystem::path path_;
  bool created_;
};
}  // namespace

std::string dnnfi_version() { return DNNFI_VERSION; }

CampaignSummary run_campaign(const ModelOptions& model_options, const InferenceOptions& inference,
                             const CampaignOptions& options) {
  const auto device = setup_inference(inference);
  check_shard(options.shard);
  const auto memory_limit =
      options.memory_limit.value_or(device.is_cuda() ? kDefaultCudaMemoryLimit : kDefaultMemoryLimit);
  check_memory_limit(memory_limit);
  for (const auto& input : {options.faults, options.replay}) {
    std::error_code ec;
    if (input && std::filesystem::equivalent(*input, options.output, ec))
      throw Error(ExitCode::kUsage, options.output.string() + " is both an input and -o; choose another -o");
  }
  // One writer per results file, refused at once: the lock is held until the campaign ends.
  const FileLock lock(options.output);
  const EmptyOutputCleanup cleanup(options.output, lock.created());
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
  const auto sequence = options.iterative ? list.faults : spread_sample(list.faults, options.sample);
  const auto faults = options.iterative ? list.faults : shard(sequence, options.shard);
  auto provenance = describe(work, inference, options, list.faults, sequence);
  provenance.numerics = describe(inference.numerics, device);  // what the device reports it runs
  LoopOptions loop;
  loop.output = options.output;
  loop.observer = options.observer;
  loop.stop = options.stop;
  loop.test_signal_after_rows = options.test_signal_after_rows;
  loop.test_signal = options.test_signal;
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
    provenance.replay = std::filesystem::absolute(*options.replay).string();
    provenance.images = loop.images;
    provenance.engine = "replay";
    check_and_record(options.output, provenance);
    spdlog::info("{}: {} faults, counts replayed from {}", work.label, faults.size(),
                 options.replay->string());
    return finish(*engine);
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto model = load_for_inference(*files, device, inference);
  const auto source = work.data();
  auto data = open_dataset(source, inference.images);
  check_model_fits(model, data, source.path.string());
  place_on_device(data, model);
  provenance.model_sha256 =
      work.entry && work.entry->sha256.size() == 64 ? work.entry->sha256 : sha256_of_path(files->torchscript);
  provenance.dataset = work.options.data ? work.options.data->string() : work.entry->dataset + " (zoo)";
  provenance.dataset_sha256 = sha256_of_path(source.path);
  provenance.normalization =
      "mean " + join_values(source.normalization.mean) + " std " + join_values(source.normalization.std);
  provenance.images = data.size();
  provenance.device = device.str();
  check_and_record(options.output, provenance);
  const double load_seconds = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  EngineOptions engine_options;
  engine_options.batch_size = inference.batch_size;
  engine_options.memory_limit = memory_limit;
  engine_options.stop = options.stop;
  engine_options.non_finite = options.non_finite;
  engine_options.stack = options.stack;
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
