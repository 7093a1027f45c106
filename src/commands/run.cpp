// `dnnfi run`: a whole campaign, from options to the results file.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <utility>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/outputs.hpp"
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
  p.format = std::string(to_string(inference.format));
  p.target = std::string(to_string(options.target));
  // The population the list was drawn from, as faultlist recorded it beside the list.
  if (options.faults)
    if (const auto record = read_list_record(*options.faults)) {
      p.bits = record->bits;
      p.burst = record->burst;
    }
  return p;
}

// The provenance this run will write beside `output` once its rows are checked: the file's own
// must describe this campaign (everything that can change a count agrees; said before any row
// is looked at), its rows must be this campaign's (`check_rows`, which returns how many there
// are), and rows with no provenance at all are of unknown origin, refused unless `adopt` (the
// adoption is then recorded). Nothing is written here.
Provenance checked_provenance(const std::filesystem::path& output, Provenance ours, bool adopt,
                              bool overwrite, const std::function<std::size_t()>& check_rows) {
  // An empty results file holds nothing to protect: a provenance left beside it is stale.
  if (std::filesystem::file_size(output) == 0) return ours;
  if (const auto theirs = read_provenance(output)) {
    const auto differences = provenance_differences(ours, *theirs, true);
    if (!differences.empty()) {
      std::string why;
      for (const auto& d : differences) why += (why.empty() ? "" : "; ") + d;
      if (overwrite) {
        // The user asked for it, and the file is dnnfi's (its header and its provenance say so).
        spdlog::warn("{}: replacing the results of another campaign ({}; --overwrite)", output.string(), why);
        std::filesystem::resize_file(output, 0);
        return ours;
      }
      throw InputError(provenance_path(output).string() + ": " + output.string() +
                       " holds another campaign's results (" + why +
                       "); use another -o, the same options, or --overwrite to replace them");
    }
    ours.adopted = theirs->adopted;  // an adoption stays on record
    if (adopt)
      spdlog::info("{}: its provenance is this campaign's; --adopt has nothing to do", output.string());
    check_rows();
    return ours;
  }
  const auto rows = check_rows();
  if (rows == 0) return ours;  // a header alone: nothing of unknown origin
  if (!adopt)
    throw InputError(output.string() + " holds " + std::to_string(rows) + " rows of unknown origin (no " +
                     provenance_path(output).filename().string() +
                     " beside it says which campaign made them); use another -o, or --adopt to take them "
                     "as this campaign's (checked row by row, recorded in the provenance)");
  ours.adopted =
      fmt::format("{} rows of a file without provenance, adopted by dnnfi {}", rows, dnnfi_version());
  spdlog::warn("{}: adopting {} rows of unknown origin (--adopt); the provenance records it", output.string(),
               rows);
  return ours;
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

CampaignFaults plan_faults(const std::vector<Layer>& layers, const CampaignOptions& options,
                           const FaultSpace& space) {
  CampaignFaults plan;
  if (options.faults) {
    plan.list = read_fault_list(*options.faults, layers, options.fault_model, space).faults;
    if (plan.list.empty())
      throw InputError(options.faults->string() + ": no faults (a header without rows); nothing to run");
  } else {
    spdlog::info("no -f given: using the statistical fault list for seed {}", SampleSpec{}.seed);
    SampleSpec spec;
    spec.format = space.format;
    plan.list = generate_fault_list(layers, spec, options.fault_model.value_or(kDefaultFaultModel));
  }
  if (options.layers) {
    plan.list = select_faults(plan.list, *options.layers);
    if (plan.list.empty())
      throw Error(ExitCode::kUsage, "--layers '" + *options.layers + "' keeps no fault of the list");
  }
  if (options.iterative && (options.sample > 0 || options.shard.count > 1))
    throw Error(ExitCode::kUsage, "--margin draws from the whole list: drop --sample and --shard");
  if (options.sample > plan.list.size())
    spdlog::warn("--sample {}: the list has {} faults; running them all", options.sample, plan.list.size());
  plan.sequence = options.iterative ? plan.list : spread_sample(plan.list, options.sample);
  plan.faults = options.iterative ? plan.list : shard(plan.sequence, options.shard);
  if (plan.faults.empty())
    throw Error(ExitCode::kUsage, fmt::format("--shard {}/{}: the campaign's {} faults leave this part none; "
                                              "use at most {} parts",
                                              options.shard.index, options.shard.count, plan.sequence.size(),
                                              plan.sequence.size()));
  return plan;
}

std::size_t count_campaign_faults(const ModelOptions& model_options, const InferenceOptions& inference,
                                  const CampaignOptions& options) {
  const FaultSpace space{inference.format, options.target};
  return plan_faults(fault_targets(resolve_workload(model_options), space), options, space).faults.size();
}

CampaignSummary run_campaign(const ModelOptions& model_options, const InferenceOptions& inference,
                             const CampaignOptions& options) {
  const auto device = setup_inference(inference);
  check_shard(options.shard);
  const auto memory_limit =
      options.memory_limit.value_or(device.is_cuda() ? kDefaultCudaMemoryLimit : kDefaultMemoryLimit);
  check_memory_limit(memory_limit);
  std::vector<std::filesystem::path> inputs;
  for (const auto& input : {options.faults, options.replay, model_options.model_file, model_options.data})
    if (input) inputs.push_back(*input);
  check_output(options.output, OutputKind::kResults, inputs, "-o");
  // One writer per results file, refused at once: the lock is held until the campaign ends.
  const FileLock lock(options.output);
  const EmptyOutputCleanup cleanup(options.output, lock.created());
  const auto work = resolve_workload(model_options);
  const auto stop_requested = [&] {
    if (options.stop && options.stop->load()) throw Error(ExitCode::kInterrupted, "stopped by a signal");
  };

  // Everything the user wrote is checked before any inference starts. The full export is
  // needed anyway, and its model info carries the layer table (one exporter run on first use);
  // a replay needs the layer table only.
  std::optional<ModelFiles> files;
  if (!options.replay) files = work.model.prepare(work.where);
  const FaultSpace space{inference.format, options.target};
  const auto layers = fault_targets(work, space);
  if (options.faults)
    if (const auto record = read_list_record(*options.faults))
      if (record->format != to_string(space.format) || record->target != to_string(space.target))
        throw Error(ExitCode::kUsage, options.faults->string() + " was drawn for " + record->target +
                                          " stored as " + record->format +
                                          " (its .json record); run it with --format " + record->format +
                                          " --target " + record->target);
  const auto plan = plan_faults(layers, options, space);
  const auto& faults = plan.faults;
  auto provenance = describe(work, inference, options, plan.list, plan.sequence);
  provenance.numerics = describe(inference.numerics, device);  // what the device reports it runs
  LoopOptions loop;
  loop.output = options.output;
  loop.observer = options.observer;
  loop.stop = options.stop;
  loop.test_signal_after_rows = options.test_signal_after_rows;
  loop.test_signal = options.test_signal;
  loop.rule = options.non_finite;
  // The provenance is written once every check of the file has passed, before its first row.
  bool recorded = false;
  loop.on_checked = [&] {
    provenance.threads = at::get_num_threads();  // what LibTorch runs, once its pool has started
    if (!std::exchange(recorded, true)) write_provenance(options.output, provenance);
  };
  const auto& allowed = options.iterative ? plan.list : faults;
  const auto check_rows = [&] { return check_existing_rows(allowed, loop); };
  auto finish = [&](Engine& engine) {
    if (!options.iterative) return run_fault_loop(faults, engine, loop);
    auto iterative = *options.iterative;  // strata populations: the bits the list was drawn from
    if (!provenance.bits.empty()) iterative.bits = parse_bits_option(provenance.bits);
    iterative.burst = provenance.burst;
    return run_iterative(faults, layers, engine, loop, iterative);
  };

  if (options.replay) {
    // Nothing is inferred: each fault's counts, image count and rule come from the file.
    ResultsReader reader(*options.replay);
    const auto rows = reader.read_all();
    if (rows.empty()) throw InputError(options.replay->string() + ": no rows to replay");
    for (const auto& row : rows)
      if (row.counts.injections != rows.front().counts.injections || row.rule != rows.front().rule)
        throw InputError(options.replay->string() + ": rows over different image counts or non-finite rules");
    if (rows.front().rule != options.non_finite)
      throw Error(ExitCode::kUsage,
                  fmt::format("--non-finite {}: the rows of {} were classified with {}, and a replay keeps "
                              "their counts; give --non-finite {}",
                              to_string(options.non_finite), options.replay->string(),
                              to_string(rows.front().rule), to_string(rows.front().rule)));
    // Counts are those of the faults the file's campaign hit: its format and target must be this
    // campaign's (a file without provenance holds fp32 weight faults, as the published lists).
    const auto replayed = read_provenance(*options.replay);
    const std::string their_format = replayed ? replayed->format : "fp32";
    const std::string their_target = replayed ? replayed->target : "weights";
    if (their_format != to_string(inference.format) || their_target != to_string(options.target))
      throw Error(ExitCode::kUsage,
                  fmt::format("--format {} --target {}: the rows of {} are faults of {} {}{}, and a replay "
                              "keeps their counts; give --format {} --target {}",
                              to_string(inference.format), to_string(options.target),
                              options.replay->string(), their_format, their_target,
                              replayed ? "" : " (a file without provenance)", their_format, their_target));
    loop.images = rows.front().counts.injections;
    auto engine = make_replay_engine(rows, options.replay->string());
    provenance.replay = std::filesystem::absolute(*options.replay).string();
    provenance.images = loop.images;
    provenance.engine = "replay";
    provenance = checked_provenance(options.output, provenance, options.adopt, options.overwrite, check_rows);
    spdlog::info("{}: {} faults, counts replayed from {}", work.label, faults.size(),
                 options.replay->string());
    return finish(*engine);
  }

  const auto t0 = std::chrono::steady_clock::now();
  const auto source = work.data();
  auto data = open_dataset(source, inference.images);
  provenance.model_sha256 =
      work.entry && work.entry->sha256.size() == 64 ? work.entry->sha256 : sha256_of_path(files->torchscript);
  provenance.dataset = work.options.data ? work.options.data->string() : work.entry->dataset + " (zoo)";
  provenance.dataset_sha256 = sha256_of_path(source.path);
  provenance.normalization =
      "mean " + join_values(source.normalization.mean) + " std " + join_values(source.normalization.std);
  provenance.images = data.size();
  provenance.device = device.str();
  // A batch larger than the test set is one batch of all of it: recorded as what runs, so the
  // same campaign asked for with -b of the test set's size is the same campaign.
  auto batch_size = inference.batch_size;
  if (batch_size > data.size()) {
    spdlog::log(batch_size == kDefaultBatchSize ? spdlog::level::debug : spdlog::level::info,
                "-b {}: the campaign's {} images make one batch of {}", batch_size, data.size(), data.size());
    batch_size = data.size();
  }
  provenance.batch_size = batch_size;
  // The results file is checked before the model is loaded and the golden pass runs.
  loop.images = data.size();
  provenance = checked_provenance(options.output, provenance, options.adopt, options.overwrite, check_rows);
  stop_requested();
  auto model = load_for_inference(*files, device, inference, options.target);
  check_model_fits(model, data, source.path.string());
  place_on_device(data, model);
  const double load_seconds = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  stop_requested();
  EngineOptions engine_options;
  engine_options.batch_size = batch_size;
  engine_options.memory_limit = memory_limit;
  engine_options.stop = options.stop;
  engine_options.non_finite = options.non_finite;
  engine_options.stack = options.stack;
  auto engine = make_engine(options.engine, model, data, engine_options);
  provenance.engine = engine->name();  // the engine that runs (naive where the staged one cannot)
  spdlog::debug("model and data loaded in {:.2f} s, engine set up in {:.2f} s", load_seconds,
                seconds_since(t1));
  // OpenMP may start fewer threads than asked for; it is known once the first pass has run.
  if (inference.threads > 0 && at::get_num_threads() != inference.threads)
    spdlog::warn("--threads {}: LibTorch runs {} threads", inference.threads, at::get_num_threads());
  spdlog::info("{}: {} faults x {} images, {} engine, batch {}, {} thread(s), {}", work.label, faults.size(),
               data.size(), engine->name(), batch_size, at::get_num_threads(), device.str());
  stop_requested();

  auto summary = finish(*engine);
  spdlog::debug("peak cached activations: {:.1f} MiB",
                static_cast<double>(engine->cache_bytes()) / (1 << 20));
  return summary;
}

}  // namespace dnnfi
