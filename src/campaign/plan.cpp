// Planning a campaign (plan.hpp): checks, faults, provenance, engine options, all at once.
#include "plan.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <unordered_set>

#include "dnnfi/errors.hpp"
#include "dnnfi/settings.hpp"
#include "platform/sha256.hpp"

namespace dnnfi {
namespace {

std::string absolute_path(const std::filesystem::path& path) {
  return std::filesystem::absolute(path).string();
}

// Everything of the campaign the request and its inputs decide.
Provenance describe(const CampaignRequest& request, const CampaignInputs& inputs,
                    const CampaignFaults& faults) {
  const auto& options = request.campaign;
  const auto& inference = request.inference;
  Provenance p;
  p.dnnfi_version = dnnfi_version();
  p.model = inputs.model_label;
  p.params = std::string(name_of(kParamSelectionNames, request.model.params));
  p.fault_list = options.faults ? absolute_path(*options.faults)
                                : "statistical, seed " + std::to_string(SampleSpec{}.seed);
  p.fault_list_sha256 = fault_list_sha256(faults.list);
  p.fault_model = "none";
  if (!faults.list.empty()) {
    p.fault_model = std::string(to_string(faults.list.front().model));
    for (const auto& f : faults.list)
      if (f.model != faults.list.front().model) p.fault_model = "mixed";
  }
  p.layers = options.layers.value_or("");
  p.sample = options.sample;
  if (const auto& it = options.iterative) {
    if (it->layer_rounds())
      p.iterative = fmt::format("margin {:g}, confidence {:g}, per-layer {}, seed {}, round {}", it->margin,
                                it->confidence, it->per_layer ? "yes" : "no", it->seed, it->round);
    else
      p.iterative = fmt::format(
          "margin {:g}, confidence {:g}, estimand {}, strata {}, allocation {}, pilot {}, "
          "seed {}, round {}",
          it->margin, it->confidence, name_of(kEstimandNames, it->estimand),
          name_of(kStrataNames, it->strata_for(options.target)), name_of(kAllocationNames, it->allocation),
          it->pilot, it->seed, it->round);
  }
  p.non_finite_rule = std::string(to_string(options.non_finite));
  p.batch_size = inference.batch_size;
  p.device = inputs.device;
  p.numerics = inputs.numerics;
  p.layout = std::string(name_of(kLayoutNames, inference.layout));
  p.engine = std::string(to_string(options.engine));
  p.threads = inputs.threads;
  p.shard = options.shard;
  p.injections = format_injection_ranges(faults.sequence);
  p.format = std::string(to_string(inference.format));
  p.target = std::string(to_string(options.target));
  // The population the list was drawn from, as faultlist recorded it beside the list.
  if (inputs.record) {
    p.bits = inputs.record->bits;
    p.burst = inputs.record->burst;
  }
  return p;
}

// The replayed rows' image count, after checking that they are one campaign's and that their
// rule, format and target are this one's (a replay keeps their counts).
std::int64_t check_replay(const CampaignRequest& request, const CampaignInputs& inputs) {
  const auto& options = request.campaign;
  const auto source = options.replay->string();
  const auto& rows = inputs.replay_rows;
  if (rows.empty()) throw InputError(source + ": no rows to replay");
  for (const auto& row : rows)
    if (row.counts.injections != rows.front().counts.injections || row.rule != rows.front().rule)
      throw InputError(source + ": rows over different image counts or non-finite rules");
  if (rows.front().rule != options.non_finite)
    throw Error(ExitCode::kUsage,
                fmt::format("--non-finite {}: the rows of {} were classified with {}, and a replay keeps "
                            "their counts; give --non-finite {}",
                            to_string(options.non_finite), source, to_string(rows.front().rule),
                            to_string(rows.front().rule)));
  // A file without provenance holds fp32 weight faults, as the published lists do.
  const auto& replayed = inputs.replay_provenance;
  const std::string their_format = replayed ? replayed->format : "fp32";
  const std::string their_target = replayed ? replayed->target : "weights";
  if (their_format != to_string(request.inference.format) || their_target != to_string(options.target))
    throw Error(ExitCode::kUsage,
                fmt::format("--format {} --target {}: the rows of {} are faults of {} {}{}, and a replay "
                            "keeps their counts; give --format {} --target {}",
                            to_string(request.inference.format), to_string(options.target), source,
                            their_format, their_target, replayed ? "" : " (a file without provenance)",
                            their_format, their_target));
  return rows.front().counts.injections;
}

// The faults of a population: every element times every bit a fault may start at.
double population_of(const PopulationSpec& spec) {
  double elements = 0;
  for (const auto& t : spec.targets) elements += static_cast<double>(t.numel());
  return elements * static_cast<double>(drawable_bits(spec.format, spec.bits, spec.burst).size());
}

}  // namespace

void check_request(const CampaignRequest& request) {
  const auto& options = request.campaign;
  check_shard(options.shard);
  if (options.memory_limit) check_memory_limit(*options.memory_limit);
  if (options.per_image && options.replay)
    throw Error(ExitCode::kUsage,
                "--per-image with --replay " + options.replay->string() +
                    ": a replay takes counts from a file and runs no image; drop one of them");
  if (const auto& it = options.iterative) {
    if (!(it->margin > 0 && it->margin < 0.5))
      throw Error(ExitCode::kUsage, "--margin must be between 0 and 0.5 (0.01: one percentage point), got " +
                                        std::to_string(it->margin));
    if (!(it->confidence > 0 && it->confidence < 1))
      throw Error(ExitCode::kUsage,
                  "--confidence must be between 0 and 1, got " + std::to_string(it->confidence));
    if (options.sample > 0 || options.shard.count > 1)
      throw Error(ExitCode::kUsage, "--margin draws from the whole list: drop --sample and --shard");
    if (it->per_layer && !it->layer_rounds())
      throw Error(ExitCode::kUsage,
                  "--per-layer asks every layer's own margin, which layers as strata with proportional "
                  "allocation measure: give --strata layer --allocation proportional, or drop --per-layer");
    if (it->pilot < 1) throw Error(ExitCode::kUsage, "--pilot must be at least 1, got 0");
    if (options.target == FaultTarget::kActivations && is_data_aware(it->strata_for(options.target)))
      throw Error(ExitCode::kUsage,
                  "--strata " + std::string(name_of(kStrataNames, *it->strata)) +
                      " needs each fault's stored weight and faulty value: not for activation "
                      "faults (their values are known only when they run); use layer, bit or "
                      "layer-bit");
  }
}

bool draws_from_population(const CampaignRequest& request) {
  const auto& it = request.campaign.iterative;
  return it && !it->layer_rounds() && !request.campaign.faults && !request.campaign.replay;
}

CampaignFaults plan_faults(const CampaignRequest& request, const std::vector<Layer>& targets,
                           const std::optional<std::vector<Fault>>& list) {
  const auto& options = request.campaign;
  CampaignFaults plan;
  if (draws_from_population(request)) return plan;  // drawn as the campaign goes
  if (list) {
    plan.list = *list;
    if (plan.list.empty())
      throw InputError(options.faults->string() + ": no faults (a header without rows); nothing to run");
  } else {
    spdlog::info("no -f given: using the statistical fault list for seed {}", SampleSpec{}.seed);
    SampleSpec spec;
    spec.format = request.inference.format;
    plan.list = generate_fault_list(targets, spec, options.fault_model.value_or(kDefaultFaultModel));
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

CampaignPlan plan_campaign(const CampaignRequest& request, const CampaignInputs& inputs) {
  check_request(request);
  const auto& options = request.campaign;
  const auto& inference = request.inference;
  if (options.faults && inputs.record &&
      (inputs.record->format != to_string(inference.format) ||
       inputs.record->target != to_string(options.target)))
    throw Error(ExitCode::kUsage, options.faults->string() + " was drawn for " + inputs.record->target +
                                      " stored as " + inputs.record->format +
                                      " (its .json record); run it with --format " + inputs.record->format +
                                      " --target " + inputs.record->target);
  CampaignPlan plan;
  plan.faults = plan_faults(request, inputs.targets, inputs.list);
  plan.provenance = describe(request, inputs, plan.faults);
  plan.rule = options.non_finite;
  plan.engine = options.engine;
  if (options.iterative) {
    // The strata's populations are those the list was drawn from: its word, bits and burst.
    auto iterative = *options.iterative;
    iterative.format = inference.format;
    if (!plan.provenance.bits.empty()) iterative.bits = parse_bits_option(plan.provenance.bits);
    iterative.burst = plan.provenance.burst;
    iterative.strata = iterative.strata_for(options.target);
    plan.iterative = iterative;
    if (draws_from_population(request)) {
      // No list: the model's whole fault population (its targets after --layers) is drawn from.
      PopulationSpec population;
      population.targets = options.layers ? select_layers(inputs.targets, *options.layers) : inputs.targets;
      population.format = inference.format;
      population.model = options.fault_model.value_or(kDefaultFaultModel);
      std::string identity = fmt::format("{} {} {}", to_string(population.format), to_string(options.target),
                                         to_string(population.model));
      for (const auto& t : population.targets) identity += "\n" + t.name + " " + format_shape(t.shape);
      plan.provenance.fault_list = fmt::format(
          "the model's whole fault population: {:.0f} {} faults of {} layer(s), drawn with seed {}",
          population_of(population), to_string(options.target), population.targets.size(), iterative.seed);
      plan.provenance.fault_list_sha256 = sha256_hex(identity);
      plan.provenance.fault_model = std::string(to_string(population.model));
      plan.population = std::move(population);
    }
  }
  if (options.replay) {
    plan.replay = true;
    plan.images = check_replay(request, inputs);
    // Every fault the campaign may draw has its row: found missing now, before the results file
    // is made, not when the fault comes up.
    std::unordered_set<std::string> replayed;
    for (const auto& row : inputs.replay_rows) replayed.insert(key(row.fault));
    for (const auto& f : plan.faults.faults)
      if (!replayed.count(key(f)))
        throw InputError(options.replay->string() + " has no row for Injection " +
                         std::to_string(f.injection) + " (" + key(f) +
                         "); --replay needs every fault the campaign draws");
    plan.provenance.replay = absolute_path(*options.replay);
    plan.provenance.images = plan.images;
    plan.provenance.engine = "replay";
    return plan;
  }
  plan.images = inputs.images;
  plan.provenance.model_sha256 = inputs.model_sha256;
  plan.provenance.dataset = inputs.dataset;
  plan.provenance.dataset_sha256 = inputs.dataset_sha256;
  plan.provenance.normalization = inputs.normalization;
  plan.provenance.images = inputs.images;
  // A batch larger than the test set is one batch of all of it: recorded as what runs, so the
  // same campaign asked for with -b of the test set's size is the same campaign.
  auto batch_size = inference.batch_size;
  if (batch_size > inputs.images && inputs.images > 0) {
    spdlog::log(batch_size == kDefaultBatchSize ? spdlog::level::debug : spdlog::level::info,
                "-b {}: the campaign's {} images make one batch of {}", batch_size, inputs.images,
                inputs.images);
    batch_size = inputs.images;
  }
  plan.provenance.batch_size = batch_size;
  auto& engine = plan.engine_options;
  engine.batch_size = batch_size;
  engine.memory_limit =
      options.memory_limit.value_or(inference.use_cuda ? kDefaultCudaMemoryLimit : kDefaultMemoryLimit);
  engine.non_finite = options.non_finite;
  engine.stack = options.stack;
  engine.per_image = options.per_image;
  return plan;
}

}  // namespace dnnfi
