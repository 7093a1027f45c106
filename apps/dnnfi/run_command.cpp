#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>

#include "commands.hpp"
#include "dnnfi/errors.hpp"
#include "options.hpp"
#include "progress.hpp"

namespace dnnfi::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int signal) {
  g_stop.store(true);
  std::signal(signal, SIG_DFL);  // a second Ctrl-C ends the process at once
}

void print_summary(const CampaignSummary& s, const CampaignOptions& options) {
  const auto& t = s.totals;
  auto pct = [&](std::int64_t v) {
    return t.injections ? 100.0 * static_cast<double>(v) / t.injections : 0.0;
  };
  fmt::print("campaign: {} faults x {} images, {} done now, {} resumed from {}\n", s.faults, s.images, s.ran,
             s.resumed, options.output.string());
  fmt::print("  masked        {:>12} ({:6.2f}%)\n", t.masked, pct(t.masked));
  fmt::print("  non-critical  {:>12} ({:6.2f}%)\n", t.non_critical, pct(t.non_critical));
  fmt::print("  critical      {:>12} ({:6.2f}%)\n", t.critical, pct(t.critical));
  fmt::print(
      "  non-finite    {:>12} ({:6.2f}%)   images with NaN/Inf logits, classified by --non-finite {}\n",
      t.non_finite, pct(t.non_finite), to_string(options.non_finite));
  if (s.ran > 0 && s.seconds > 0 && s.macs > 0)  // not for a replay, which infers nothing
    fmt::print("  speed         {:.2f} faults/s, {:.0f} fault-images/s ({:.1f} s)\n", s.ran / s.seconds,
               static_cast<double>(s.ran) * static_cast<double>(s.images) / s.seconds, s.seconds);
  if (s.macs > 0 && s.seconds > 0)
    fmt::print("  work          {:.1f} GFLOP in conv/linear layers, {:.1f} GFLOP/s\n", 2 * s.macs / 1e9,
               2 * s.macs / 1e9 / s.seconds);
  if (const auto& it = s.iterative) {
    const auto& e = it->estimate;
    fmt::print(
        "iterative: {} of the list's {} faults ({:.1f}%) in {} round(s); critical-fault rate {:.2f}% "
        "[{:.2f}%, {:.2f}%] ({:g}% confidence, layers as strata)\n",
        e.drawn, it->list_faults, 100.0 * static_cast<double>(e.drawn) / static_cast<double>(it->list_faults),
        it->rounds, 100 * e.rate, 100 * e.interval.low, 100 * e.interval.high, 100 * it->confidence);
    fmt::print("  margin        +-{:.3f}% achieved, +-{:.3f}% asked{}: {}\n", 100 * e.interval.half_width(),
               100 * it->target,
               it->per_layer ? fmt::format(" (worst layer +-{:.3f}%)", 100 * it->worst_layer_margin) : "",
               it->met ? "met" : "NOT met (the list ran out or the run stopped)");
  }
}

}  // namespace

void setup_run(CLI::App& app) {
  struct Options {
    ModelOptions model;
    InferenceOptions inference;
    CampaignOptions campaign;
    std::string fault_model, shard;
    std::string non_finite{to_string(kDefaultNonFiniteRule)};
    std::string replay;
    IterativeOptions iterative;
    std::string engine{to_string(CampaignOptions{}.engine)};
    std::string memory = format_memory_size(CampaignOptions{}.memory_limit);
    std::string faults_file, output;
    bool quiet = false;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("run", "fault-injection campaign: golden vs faulty inference per fault");
  add_model_options(*cmd, opts->model);
  add_inference_options(*cmd, opts->inference);
  cmd->add_option("-f,--faults", opts->faults_file,
                  "fault list CSV (seed format); default: the statistical list for seed 38");
  cmd->add_option("--fault-model", opts->fault_model,
                  one_of(fault_model_names()) + " (default: the list's fault_model column, else " +
                      std::string(to_string(kDefaultFaultModel)) + ")")
      ->check(CLI::IsMember(fault_model_names()));
  cmd->add_option("-o,--output", opts->output, "results CSV; an existing one is resumed")->required();
  cmd->add_option_function<std::string>(
      "--layers", [opts](const std::string& v) { opts->campaign.layers = v; },
      "run only the faults of the layers whose name matches this regular expression");
  cmd->add_option("--shard", opts->shard,
                  "run every N-th fault starting at K (K/N, 0-based; default: all faults)");
  cmd->add_option("--sample", opts->campaign.sample, "run only N faults spread evenly over the list (0: all)")
      ->capture_default_str();
  cmd->add_option("--engine", opts->engine,
                  one_of(engine_kind_names()) +
                      " (staged restarts each fault from cached golden activations; naive runs the whole "
                      "network per fault, the reference)")
      ->capture_default_str()
      ->check(CLI::IsMember(engine_kind_names()));
  cmd->add_option("--memory-limit", opts->memory, "budget for cached activations (K/M/G)")
      ->capture_default_str();
  cmd->add_option("--non-finite", opts->non_finite,
                  "images with NaN/Inf logits: argmax (critical iff PyTorch's argmax differs from golden's, "
                  "as the seed's campaigns) or critical (always)")
      ->capture_default_str()
      ->check(CLI::IsMember(non_finite_rule_names()));
  auto* margin =
      cmd->add_option("--margin", opts->iterative.margin,
                      "iterative SFI: draw faults until the critical-fault rate's interval half-width "
                      "is at most E (0.01: one percentage point)");
  cmd->add_option("--confidence", opts->iterative.confidence, "of the --margin intervals")
      ->capture_default_str()
      ->needs(margin);
  cmd->add_flag("--per-layer", opts->iterative.per_layer, "with --margin: every layer's own rate too")
      ->needs(margin);
  cmd->add_option("--seed", opts->iterative.seed, "with --margin: the order faults are drawn in")
      ->capture_default_str()
      ->needs(margin);
  cmd->add_option("--round", opts->iterative.round,
                  "with --margin: faults per round (default: 1% of the list, >= 50)")
      ->needs(margin);
  cmd->add_option("--replay", opts->replay,
                  "take each fault's counts from this results file instead of running inference");
  cmd->add_flag("-q,--quiet", opts->quiet, "no progress bar");
  cmd->callback([opts, margin] {
    auto& c = opts->campaign;
    if (!opts->faults_file.empty()) c.faults = opts->faults_file;
    if (!opts->fault_model.empty()) c.fault_model = parse_fault_model(opts->fault_model);
    c.output = opts->output;
    c.engine = *parse_engine_kind(opts->engine);
    c.non_finite = *parse_non_finite_rule(opts->non_finite);
    if (margin->count() > 0) c.iterative = opts->iterative;
    if (!opts->replay.empty()) c.replay = opts->replay;
    c.memory_limit = parse_memory_size(opts->memory);
    if (!opts->shard.empty()) c.shard = parse_shard(opts->shard);
    ProgressBar progress;
    if (!opts->quiet && ::isatty(STDERR_FILENO)) c.observer = &progress;
    c.stop = &g_stop;
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    const auto summary = run_campaign(opts->model, opts->inference, c);
    print_summary(summary, c);
    if (!summary.complete()) {
      fmt::print("interrupted: {} of {} faults done; run the same command again to resume\n",
                 summary.resumed + summary.ran, summary.faults);
      throw Error(ExitCode::kInterrupted, "stopped by a signal");
    }
  });
}

}  // namespace dnnfi::cli
