// The options of a campaign (run_options.hpp).
#include "run_options.hpp"

#include "dnnfi/settings.hpp"
#include "options.hpp"

namespace dnnfi::cli {

void add_run_options(CLI::App* cmd, const std::shared_ptr<RunOptions>& opts) {
  add_model_options(*cmd, opts->request.model);
  add_inference_options(*cmd, opts->request.inference);
  opts->threads = cmd->get_option("--threads");
  cmd->add_option("-f,--faults", opts->faults_file,
                  "fault list CSV (seed format); default: the statistical list for seed 38");
  cmd->add_option("--fault-model", opts->fault_model,
                  one_of(fault_model_names()) + " (default: the list's fault_model column, else " +
                      std::string(to_string(kDefaultFaultModel)) + ")")
      ->check(CLI::IsMember(fault_model_names()));
  cmd->add_option("-o,--output", opts->output, "results CSV; an existing one is resumed")->required();
  add_target_option(*cmd, opts->request.campaign.target);
  cmd->add_option_function<std::string>(
      "--layers", [opts](const std::string& v) { opts->request.campaign.layers = v; },
      "run only the faults of the layers whose name holds a match of this regular expression (searched: "
      "'layer3', '^conv1$')");
  cmd->add_option("--shard", opts->shard,
                  "run every N-th fault starting at K (K/N, 0-based; default: all faults)");
  cmd->add_option_function<std::string>(
      "--sample",
      [opts](const std::string& v) { opts->request.campaign.sample = parse_count("--sample", v, 1); },
      "run only N faults spread evenly over the list (default: all)");
  cmd->add_option("--engine", opts->engine,
                  one_of(engine_kind_names()) +
                      " (staged restarts each fault from cached golden activations; stacked also runs "
                      "several faults of one layer as one batch after it, for GPUs; naive runs the whole "
                      "network per fault, the reference)")
      ->capture_default_str()
      ->check(CLI::IsMember(engine_kind_names()));
  cmd->add_option("--memory-limit", opts->memory,
                  "budget for cached activations (K/M/G), in device memory with --use-cuda (default: " +
                      format_memory_size(kDefaultMemoryLimit) + ", " +
                      format_memory_size(kDefaultCudaMemoryLimit) + " with --use-cuda)");
  cmd->add_option_function<std::string>(
      "--stack",
      [opts](const std::string& v) { opts->request.campaign.stack = parse_count("--stack", v, 1); },
      "stacked engine: faults per batch (default: as many as a quarter of --memory-limit holds, at most 64)");
  cmd->add_option("--non-finite", opts->non_finite,
                  "images with NaN/Inf logits: argmax (critical iff PyTorch's argmax differs from golden's, "
                  "as the seed's campaigns) or critical (always)")
      ->capture_default_str()
      ->check(CLI::IsMember(non_finite_rule_names()));
  opts->margin = cmd->add_option(
      "--margin", opts->iterative.margin,
      "iterative SFI: draw faults, stratified, until the interval of the rate of --estimand has "
      "a half-width of at most E (0.01: one percentage point)");
  cmd->add_option("--confidence", opts->iterative.confidence, "of the --margin intervals")
      ->capture_default_str()
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--estimand",
         [opts](const std::string& v) { opts->iterative.estimand = *value_named(kEstimandNames, v); },
         "with --margin: the rate whose interval stops it: faults (the share of faults with a critical "
         "image; "
         "default) or inferences (the mean SDC-1 rate over faults)")
      ->check(CLI::IsMember(names_of(kEstimandNames)))
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--strata", [opts](const std::string& v) { opts->iterative.strata = *value_named(kStrataNames, v); },
         "with --margin: " + one_of(names_of(kStrataNames)) +
             " (delta: the binary exponent of |faulty - stored|, known before a fault runs; default: "
             "stage-delta for weights, bit for activations)")
      ->check(CLI::IsMember(names_of(kStrataNames)))
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--allocation",
         [opts](const std::string& v) { opts->iterative.allocation = *value_named(kAllocationNames, v); },
         "with --margin: neyman (each stratum in proportion to its population and spread; default) or "
         "proportional (--strata layer --allocation proportional: dnnfi's first design)")
      ->check(CLI::IsMember(names_of(kAllocationNames)))
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--pilot", [opts](const std::string& v) { opts->iterative.pilot = parse_count("--pilot", v, 1); },
         "with --margin: faults per stratum before the allocation (default: 3)")
      ->needs(opts->margin);
  cmd->add_flag("--per-layer", opts->iterative.per_layer,
                "with --margin --strata layer --allocation proportional: every layer's own rate too")
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--seed", [opts](const std::string& v) { opts->iterative.seed = parse_count("--seed", v); },
         "with --margin: the order faults are drawn in (default: 38)")
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--round", [opts](const std::string& v) { opts->iterative.round = parse_count("--round", v, 1); },
         "with --margin: faults per round (default: a fifth of those drawn so far, >= 50; with --strata "
         "layer "
         "--allocation proportional 1% of the list, >= 50)")
      ->needs(opts->margin);
  cmd->add_option("--replay", opts->replay,
                  "take each fault's counts from this results file instead of running inference");
  cmd->add_flag(
      "--adopt", opts->request.campaign.adopt,
      "take the rows of an -o without provenance (.csv.json) as this campaign's: checked row by row "
      "and recorded as adopted (default: refused, their origin is unknown)");
  cmd->add_flag("--overwrite", opts->request.campaign.overwrite,
                "replace the results of another campaign in -o (a dnnfi results file with its provenance; "
                "default: refused), e.g. after retraining the model");
  cmd->add_flag("--per-image", opts->request.campaign.per_image,
                "also write which images each fault made critical, and their faulty class, to "
                "RESULTS.images.csv beside -o (read by report and the Python package)");
  cmd->add_flag("-q,--quiet", opts->quiet, "no progress bar");
}

CampaignRequest campaign_request(const RunOptions& opts) {
  auto request = opts.request;
  auto& c = request.campaign;
  if (!opts.faults_file.empty()) c.faults = opts.faults_file;
  if (!opts.fault_model.empty()) c.fault_model = parse_fault_model(opts.fault_model);
  c.output = opts.output;
  c.engine = *parse_engine_kind(opts.engine);
  c.non_finite = *parse_non_finite_rule(opts.non_finite);
  if (opts.margin->count() > 0) c.iterative = opts.iterative;
  if (!opts.replay.empty()) c.replay = opts.replay;
  if (!opts.memory.empty()) c.memory_limit = parse_memory_size(opts.memory);
  if (!opts.shard.empty()) c.shard = parse_shard(opts.shard);
  return request;
}

}  // namespace dnnfi::cli
