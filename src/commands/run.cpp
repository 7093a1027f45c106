// `dnnfi run`: a campaign's inputs found, the campaign planned, its results file checked, then
// executed on the engine the plan asks for.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>

#include "campaign/execute.hpp"
#include "campaign/plan.hpp"
#include "campaign/replay_engine.hpp"
#include "campaign/sampler.hpp"
#include "campaign/store.hpp"
#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
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

// The files a campaign reads, which its -o must not be.
std::vector<std::filesystem::path> read_files(const CampaignRequest& request) {
  std::vector<std::filesystem::path> inputs;
  for (const auto& input :
       {request.campaign.faults, request.campaign.replay, request.model.model_file, request.model.data})
    if (input) inputs.push_back(*input);
  return inputs;
}

// -f read against the campaign's targets, with the record beside it.
void read_list(const CampaignRequest& request, const FaultSpace& space, CampaignInputs& inputs) {
  if (!request.campaign.faults) return;
  inputs.list =
      read_fault_list(*request.campaign.faults, inputs.targets, request.campaign.fault_model, space).faults;
  inputs.record = read_list_record(*request.campaign.faults);
}

// Data-aware strata place each fault by the change it makes to its weight.
bool needs_fault_values(const CampaignPlan& plan) {
  return plan.iterative && !plan.iterative->layer_rounds() && is_data_aware(*plan.iterative->strata);
}

}  // namespace

std::string dnnfi_version() { return DNNFI_VERSION; }

std::size_t count_campaign_faults(const CampaignRequest& request) {
  check_request(request);
  const FaultSpace space{request.inference.format, request.campaign.target};
  CampaignInputs inputs;
  inputs.targets = fault_targets(resolve_workload(request.model), space);
  read_list(request, space, inputs);
  return plan_faults(request, inputs.targets, inputs.list).faults.size();
}

CampaignSummary run_campaign(const CampaignRequest& request, const CampaignControls& controls) {
  const auto& inference = request.inference;
  const auto& options = request.campaign;
  const auto device = setup_inference(inference);
  check_request(request);
  // The output is claimed (the output rule, one writer per results file) before anything else.
  ResultsStore store(options.output, read_files(request));
  const auto work = resolve_workload(request.model);
  const auto stop_requested = [&] {
    if (controls.stop && controls.stop->load()) throw Error(ExitCode::kInterrupted, "stopped by a signal");
  };

  // Everything the user wrote is read and checked before any inference starts. The full export is
  // needed anyway, and its model info carries the layer table (one exporter run on first use); a
  // replay needs the layer table only.
  CampaignInputs inputs;
  inputs.model_label = work.label;
  inputs.threads = at::get_num_threads();
  inputs.device = inference.use_cuda ? "cuda" : "cpu";
  inputs.numerics = describe(inference.numerics, device);  // what the device reports it runs
  std::optional<ModelFiles> files;
  if (!options.replay) files = work.model.prepare(work.where);
  const FaultSpace space{inference.format, options.target};
  inputs.targets = fault_targets(work, space);
  read_list(request, space, inputs);
  if (options.replay) {
    // Nothing is inferred: each fault's counts, image count and rule come from the file.
    ResultsReader reader(*options.replay);
    inputs.replay_rows = reader.read_all();
    inputs.replay_provenance = read_provenance(*options.replay);
    auto plan = plan_campaign(request, inputs);
    auto provenance =
        store.check(plan.provenance, StoreCheck{plan.faults.faults, plan.population, plan.images, plan.rule,
                                                options.adopt, options.overwrite});
    auto engine = make_replay_engine(inputs.replay_rows, options.replay->string());
    spdlog::info("{}: {} faults, counts replayed from {}", work.label, plan.faults.faults.size(),
                 options.replay->string());
    // Data-aware strata need the weights' values, inference or not: the model is loaded for them.
    std::optional<Model> model;
    std::unique_ptr<FaultValues> values;
    if (needs_fault_values(plan)) {
      model.emplace(
          load_for_inference(work.model.prepare(work.where), torch::kCPU, inference, options.target));
      values = model_fault_values(*model, inputs.targets);
    }
    auto sampler = make_sampler(plan, inputs.targets, values.get());
    return execute(plan, provenance, *engine, store, *sampler, controls);
  }

  const auto t0 = std::chrono::steady_clock::now();
  const auto source = work.data();
  auto data = open_dataset(source, inference.images);
  inputs.model_sha256 =
      work.entry && work.entry->sha256.size() == 64 ? work.entry->sha256 : sha256_of_path(files->torchscript);
  inputs.dataset = work.options.data ? work.options.data->string() : work.entry->dataset + " (zoo)";
  inputs.dataset_sha256 = sha256_of_path(source.path);
  inputs.normalization =
      "mean " + join_values(source.normalization.mean) + " std " + join_values(source.normalization.std);
  inputs.images = data.size();
  inputs.device = device.str();
  auto plan = plan_campaign(request, inputs);
  // The results file is checked before the model is loaded and the golden pass runs.
  auto provenance =
      store.check(plan.provenance, StoreCheck{plan.faults.faults, plan.population, plan.images, plan.rule,
                                              options.adopt, options.overwrite, options.per_image});
  stop_requested();
  auto model = load_for_inference(*files, device, inference, options.target);
  check_model_fits(model, data, source.path.string());
  place_on_device(data, model);
  const double load_seconds = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  stop_requested();
  auto engine_options = plan.engine_options;
  engine_options.stop = controls.stop;
  auto engine = make_engine(plan.engine, model, data, engine_options);
  provenance.engine = engine->name();  // the engine that runs (naive where the staged one cannot)
  spdlog::debug("model and data loaded in {:.2f} s, engine set up in {:.2f} s", load_seconds,
                seconds_since(t1));
  // OpenMP may start fewer threads than asked for; it is known once the first pass has run.
  provenance.threads = at::get_num_threads();
  if (inference.threads > 0 && at::get_num_threads() != inference.threads)
    spdlog::warn("--threads {}: LibTorch runs {} threads", inference.threads, at::get_num_threads());
  spdlog::info("{}: {} faults x {} images, {} engine, batch {}, {} thread(s), {}", work.label,
               plan.faults.faults.size(), data.size(), engine->name(), engine_options.batch_size,
               at::get_num_threads(), device.str());
  stop_requested();

  if (options.per_image) {
    torch::InferenceMode inference_mode;
    const auto as_vector = [](const torch::Tensor& t) {
      const auto host = t.to(torch::kCPU, torch::kLong).contiguous();
      return std::vector<std::int64_t>(host.data_ptr<std::int64_t>(),
                                       host.data_ptr<std::int64_t>() + host.numel());
    };
    store.set_per_image_head({{}, as_vector(data.labels), as_vector(engine->golden_logits().argmax(1))});
  }
  const auto values = needs_fault_values(plan) ? model_fault_values(model, inputs.targets) : nullptr;
  auto sampler = make_sampler(plan, inputs.targets, values.get());
  auto summary = execute(plan, provenance, *engine, store, *sampler, controls);
  spdlog::debug("peak cached activations: {:.1f} MiB",
                static_cast<double>(engine->cache_bytes()) / (1 << 20));
  return summary;
}

}  // namespace dnnfi
