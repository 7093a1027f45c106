#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/outputs.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "scale_out.hpp"

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
  if (t.non_finite)
    fmt::print(
        "  non-finite    {:>12} ({:6.2f}%)   images with NaN/Inf logits, classified by --non-finite {}\n",
        *t.non_finite, pct(*t.non_finite), to_string(options.non_finite));
  else
    fmt::print(
        "  non-finite             n/a   images with NaN/Inf logits: not recorded by the replayed rows\n");
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

// The options of a campaign, shared by `run` and `slurm` (which runs them as array tasks).
struct RunOptions {
  ModelOptions model;
  InferenceOptions inference;
  CampaignOptions campaign;
  std::string fault_model, shard;
  std::string non_finite{to_string(kDefaultNonFiniteRule)};
  std::string replay;
  IterativeOptions iterative;
  std::string engine{to_string(CampaignOptions{}.engine)};
  std::string memory;
  std::string faults_file, output;
  bool quiet = false;
  CLI::Option* margin = nullptr;
  CLI::Option* threads = nullptr;
};

void add_run_options(CLI::App* cmd, const std::shared_ptr<RunOptions>& opts) {
  add_model_options(*cmd, opts->model);
  add_inference_options(*cmd, opts->inference);
  opts->threads = cmd->get_option("--threads");
  cmd->add_option("-f,--faults", opts->faults_file,
                  "fault list CSV (seed format); default: the statistical list for seed 38");
  cmd->add_option("--fault-model", opts->fault_model,
                  one_of(fault_model_names()) + " (default: the list's fault_model column, else " +
                      std::string(to_string(kDefaultFaultModel)) + ")")
      ->check(CLI::IsMember(fault_model_names()));
  cmd->add_option("-o,--output", opts->output, "results CSV; an existing one is resumed")->required();
  add_target_option(*cmd, opts->campaign.target);
  cmd->add_option_function<std::string>(
      "--layers", [opts](const std::string& v) { opts->campaign.layers = v; },
      "run only the faults of the layers whose name holds a match of this regular expression (searched: "
      "'layer3', '^conv1$')");
  cmd->add_option("--shard", opts->shard,
                  "run every N-th fault starting at K (K/N, 0-based; default: all faults)");
  cmd->add_option_function<std::string>(
      "--sample", [opts](const std::string& v) { opts->campaign.sample = parse_count("--sample", v, 1); },
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
      "--stack", [opts](const std::string& v) { opts->campaign.stack = parse_count("--stack", v, 1); },
      "stacked engine: faults per batch (default: as many as a quarter of --memory-limit holds, at most 64)");
  cmd->add_option("--non-finite", opts->non_finite,
                  "images with NaN/Inf logits: argmax (critical iff PyTorch's argmax differs from golden's, "
                  "as the seed's campaigns) or critical (always)")
      ->capture_default_str()
      ->check(CLI::IsMember(non_finite_rule_names()));
  opts->margin =
      cmd->add_option("--margin", opts->iterative.margin,
                      "iterative SFI: draw faults until the critical-fault rate's interval half-width "
                      "is at most E (0.01: one percentage point)");
  cmd->add_option("--confidence", opts->iterative.confidence, "of the --margin intervals")
      ->capture_default_str()
      ->needs(opts->margin);
  cmd->add_flag("--per-layer", opts->iterative.per_layer, "with --margin: every layer's own rate too")
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--seed", [opts](const std::string& v) { opts->iterative.seed = parse_count("--seed", v); },
         "with --margin: the order faults are drawn in (default: 38)")
      ->needs(opts->margin);
  cmd->add_option_function<std::string>(
         "--round", [opts](const std::string& v) { opts->iterative.round = parse_count("--round", v, 1); },
         "with --margin: faults per round (default: 1% of the list, >= 50)")
      ->needs(opts->margin);
  cmd->add_option("--replay", opts->replay,
                  "take each fault's counts from this results file instead of running inference");
  cmd->add_flag(
      "--adopt", opts->campaign.adopt,
      "take the rows of an -o without provenance (.csv.json) as this campaign's: checked row by row "
      "and recorded as adopted (default: refused, their origin is unknown)");
  cmd->add_flag("--overwrite", opts->campaign.overwrite,
                "replace the results of another campaign in -o (a dnnfi results file with its provenance; "
                "default: refused), e.g. after retraining the model");
  cmd->add_flag("-q,--quiet", opts->quiet, "no progress bar");
}

// The parsed options as the library takes them.
CampaignOptions campaign_options(RunOptions& opts) {
  auto c = opts.campaign;
  if (!opts.faults_file.empty()) c.faults = opts.faults_file;
  if (!opts.fault_model.empty()) c.fault_model = parse_fault_model(opts.fault_model);
  c.output = opts.output;
  c.engine = *parse_engine_kind(opts.engine);
  c.non_finite = *parse_non_finite_rule(opts.non_finite);
  if (opts.margin->count() > 0) c.iterative = opts.iterative;
  if (!opts.replay.empty()) c.replay = opts.replay;
  if (!opts.memory.empty()) c.memory_limit = parse_memory_size(opts.memory);
  if (!opts.shard.empty()) c.shard = parse_shard(opts.shard);
  return c;
}

// Options a part of a campaign is given by whoever splits it, not by the user.
const std::vector<std::string> kPartOptions{"-o",          "--output",  "--threads",
                                            "--shard",     "--workers", "--tasks",
                                            "--partition", "--time",    "--cpus-per-task"};
const std::vector<std::string> kPartFlags{"-q", "--quiet", "--submit", "--print"};

// The campaign's inputs, which its -o must not be.
std::vector<std::filesystem::path> campaign_inputs(const RunOptions& opts, const CampaignOptions& c) {
  std::vector<std::filesystem::path> inputs;
  for (const auto& input : {c.faults, c.replay, opts.model.model_file, opts.model.data})
    if (input) inputs.push_back(*input);
  return inputs;
}

void check_splittable(const CampaignOptions& c, const char* how) {
  if (c.iterative || c.replay)
    throw Error(ExitCode::kUsage,
                std::string(how) + " splits a campaign into shards: not with --margin or --replay");
  if (c.shard.count > 1)
    throw Error(ExitCode::kUsage, std::string(how) + " chooses the shards itself: drop --shard");
}

// A worker started by `run --workers` stops (as on Ctrl-C, keeping its rows) when its parent
// dies, so a killed campaign leaves no orphan computing.
void follow_parent() {
  const char* parent = std::getenv("DNNFI_WORKER_PARENT");
  if (parent == nullptr) return;
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (std::to_string(::getppid()) != parent) std::raise(SIGTERM);  // it died before the call above
}

// DNNFI_TEST_SIGNAL_AFTER_ROWS=K[:SIGNAL] (KILL, TERM or INT; default KILL): tests stop a run at
// an exact row instead of sleeping.
void test_signal(CampaignOptions& c) {
  const char* setting = std::getenv("DNNFI_TEST_SIGNAL_AFTER_ROWS");
  if (setting == nullptr || *setting == '\0') return;
  const std::string text = setting;
  const auto colon = text.find(':');
  c.test_signal_after_rows = std::stoul(text.substr(0, colon));
  const auto name = colon == std::string::npos ? std::string("KILL") : text.substr(colon + 1);
  c.test_signal = name == "TERM" ? SIGTERM : name == "INT" ? SIGINT : SIGKILL;
}

}  // namespace

void setup_run(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  auto workers = std::make_shared<std::size_t>(1);
  auto progress = std::make_shared<std::string>("bar");
  auto progress_fd = std::make_shared<int>(STDERR_FILENO);
  auto* cmd = app.add_subcommand("run", "fault-injection campaign: golden vs faulty inference per fault");
  add_run_options(cmd, opts);
  cmd->add_option_function<std::string>(
      "--workers", [workers](const std::string& v) { *workers = parse_count("--workers", v, 1); },
      "run the campaign in N processes (one shard each, --threads threads each; default: cores / N) and "
      "merge their results; at most one per fault and as many as memory holds");
  auto* progress_option =
      cmd->add_option("--progress", *progress,
                      "bar (on a terminal) or json (one JSON object per line: faults done, total, rate; "
                      "for programs)")
          ->capture_default_str()
          ->check(CLI::IsMember({"bar", "json"}))
          ->excludes("--quiet");
  cmd->add_option("--progress-fd", *progress_fd, "write --progress json to this open file descriptor")
      ->capture_default_str()
      ->needs(progress_option);
  cmd->callback([opts, workers, progress, progress_fd] {
    const int mode = ::fcntl(*progress_fd, F_GETFL);
    if (mode == -1)
      throw Error(ExitCode::kUsage,
                  fmt::format("--progress-fd {}: not an open file descriptor", *progress_fd));
    if (*progress == "json" && (mode & O_ACCMODE) == O_RDONLY)
      throw Error(ExitCode::kUsage,
                  fmt::format("--progress-fd {}: open for reading only; progress lines need a descriptor "
                              "open for writing",
                              *progress_fd));
    if (*progress == "json" && *workers > 1)
      throw Error(ExitCode::kUsage, "--progress json follows one process: not with --workers");
    auto c = campaign_options(*opts);
    c.stop = &g_stop;
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    follow_parent();
    test_signal(c);
    if (*workers > 1 &&
        !(std::filesystem::exists(c.output) && !std::filesystem::exists(parts_folder(c.output)))) {
      check_splittable(c, "--workers");
      check_output(c.output, OutputKind::kResults, campaign_inputs(*opts, c), "-o");
      WorkerPlan plan;
      plan.run_arguments = subcommand_arguments("run", kPartOptions, kPartFlags);
      plan.output = c.output;
      // Each worker builds its own golden cache (host memory on the CPU) besides its model and data.
      const std::int64_t per_worker =
          opts->inference.use_cuda ? 0
                                   : c.memory_limit.value_or(kDefaultMemoryLimit) + (std::int64_t{512} << 20);
      plan.workers = choose_workers(*workers, count_campaign_faults(opts->model, opts->inference, c),
                                    per_worker, c.output);
      plan.concurrent = concurrent_workers(plan.workers, per_worker);
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      plan.threads = opts->threads->count() > 0 && opts->inference.threads > 0
                         ? opts->inference.threads
                         : std::max(1, cores / static_cast<int>(*workers));
      const int status = run_workers(plan, g_stop);
      if (status != 0) throw Error(static_cast<ExitCode>(status), "workers stopped");
      return;
    }
    if (*workers > 1) spdlog::info("{} exists (merged): resuming it in this process", c.output.string());
    ProgressBar bar;
    ProgressJson json(*progress_fd);
    if (*progress == "json")
      c.observer = &json;
    else if (!opts->quiet && ::isatty(STDERR_FILENO))
      c.observer = &bar;
    const auto summary = run_campaign(opts->model, opts->inference, c);
    print_summary(summary, c);
    if (!summary.complete()) {
      fmt::print("interrupted: {} of {} faults done; run the same command again to resume\n",
                 summary.resumed + summary.ran, summary.faults);
      throw Error(ExitCode::kInterrupted, "stopped by a signal");
    }
  });
}

void setup_slurm(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  auto plan = std::make_shared<SlurmPlan>();
  auto* cmd = app.add_subcommand(
      "slurm", "a campaign as a Slurm job array (one shard per task) and a merge job; takes run's options");
  add_run_options(cmd, opts);
  cmd->add_option_function<std::string>(
         "--tasks", [plan](const std::string& v) { plan->tasks = parse_count("--tasks", v, 1); },
         "array tasks, one shard each (at most one per fault)")
      ->required();
  cmd->add_option_function<std::string>(
      "--partition", [plan](const std::string& v) { plan->partition = v; }, "sbatch --partition");
  cmd->add_option_function<std::string>(
      "--time", [plan](const std::string& v) { plan->time = v; }, "sbatch --time of each task");
  cmd->add_option_function<std::string>(
      "--cpus-per-task",
      [plan](const std::string& v) {
        plan->cpus_per_task = static_cast<int>(parse_count("--cpus-per-task", v, 1, 4096));
      },
      "sbatch --cpus-per-task; each task runs that many threads");
  auto* submit = cmd->add_flag("--submit", plan->submit, "submit the jobs with sbatch");
  auto* print = cmd->add_flag("--print", "print the job scripts and the commands that submit them");
  submit->excludes(print);
  cmd->callback([opts, plan, submit, print] {
    if (submit->count() + print->count() == 0)
      throw Error(ExitCode::kUsage, "slurm: say --submit or --print");
    auto c = campaign_options(*opts);
    check_splittable(c, "slurm");
    if (opts->threads->count() > 0)
      throw Error(ExitCode::kUsage, "slurm: each task runs --cpus-per-task threads; drop --threads");
    if (plan->time) check_slurm_time(*plan->time);
    check_output(c.output, OutputKind::kResults, campaign_inputs(*opts, c), "-o");
    const auto faults = count_campaign_faults(opts->model, opts->inference, c);
    if (plan->tasks > faults) {
      spdlog::warn("--tasks {}: writing {}, one per fault of the campaign", plan->tasks, faults);
      plan->tasks = faults;
    }
    plan->run_arguments = subcommand_arguments("slurm", kPartOptions, kPartFlags);
    plan->output = c.output;
    const int status = run_slurm(*plan);
    if (status != 0) throw Error(static_cast<ExitCode>(status), "slurm failed");
  });
}

void setup_merge(CLI::App& app) {
  auto options = std::make_shared<MergeOptions>();
  auto* cmd = app.add_subcommand("merge", "the shards of one campaign into one results file, in list order");
  cmd->add_option("-o,--output", options->output, "merged results CSV")->required();
  cmd->add_option("results", options->inputs, "shard results files (each with its .json provenance)")
      ->required();
  cmd->add_flag("--allow-partial", options->allow_partial, "write what is there when faults are missing");
  cmd->callback([options] {
    const auto summary = merge_results(*options);
    fmt::print("merged: {} of {} faults from {} file(s) into {}\n", summary.rows, summary.faults,
               options->inputs.size(), options->output.string());
    if (!summary.missing.empty())
      fmt::print("  {} faults missing (--allow-partial): a run with the same options and -o {} runs them\n",
                 summary.missing.size(), options->output.string());
  });
}

}  // namespace dnnfi::cli
