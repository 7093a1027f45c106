// `dnnfi run`: one campaign, in this process or in local worker processes.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>

#include "commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/scale_out.hpp"
#include "dnnfi/settings.hpp"
#include "progress.hpp"
#include "run_options.hpp"

namespace dnnfi::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int signal) {
  g_stop.store(true);
  std::signal(signal, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// A stratified campaign's end: both rates with their intervals, which one stopped it, and what
// the design saved against a simple random sample.
void print_stratified(const IterativeStatus& it) {
  const bool faults = it.estimand == Estimand::kFaults;
  const auto& stop = faults ? *it.faults : *it.inferences;
  fmt::print("iterative: {} faults drawn from a population of {} in {} round(s); {}\n", stop.drawn,
             it.list_faults, it.rounds, it.design);
  const auto line = [&](const char* name, const StratifiedMean& m, bool stops) {
    fmt::print(
        "  {:<20} {:.3f}% [{:.3f}%, {:.3f}%] ({:g}%, stratified; Wilson at {:.0f} effective faults){}\n",
        name, 100 * m.value, 100 * m.interval.low, 100 * m.interval.high, 100 * it.confidence, m.effective,
        stops ? "  <- stops it" : "");
  };
  line("critical-fault rate", *it.faults, faults);
  line("SDC-1 rate", *it.inferences, !faults);
  fmt::print("  margin        +-{:.3f}% achieved, +-{:.3f}% asked: {}\n", 100 * stop.interval.half_width(),
             100 * it.target, it.met ? "met" : "NOT met (the population ran out or the run stopped)");
  if (it.simple_random_needs > 0)
    fmt::print("  simple random sampling would need {:.0f} faults for that half-width ({:.2f}x these)\n",
               it.simple_random_needs,
               it.simple_random_needs / std::max<double>(1, static_cast<double>(stop.drawn)));
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
  if (const auto& it = s.iterative; it && !it->design.empty()) {
    print_stratified(*it);
  } else if (it) {
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
void test_signal(CampaignControls& c) {
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
    const auto request = campaign_request(*opts);
    const auto& c = request.campaign;
    CampaignControls controls;
    controls.stop = &g_stop;
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    follow_parent();
    test_signal(controls);
    if (*workers > 1 && !resumes_in_one_process(c.output)) {
      const auto threads =
          opts->threads->count() > 0 ? std::optional<int>(request.inference.threads) : std::nullopt;
      const int status = run_in_processes(request, *workers, threads, g_stop);
      if (status != 0) throw Error(static_cast<ExitCode>(status), "workers stopped");
      return;
    }
    if (*workers > 1) spdlog::info("{} exists (merged): resuming it in this process", c.output.string());
    ProgressBar bar;
    ProgressJson json(*progress_fd);
    if (*progress == "json")
      controls.observer = &json;
    else if (!opts->quiet && ::isatty(STDERR_FILENO))
      controls.observer = &bar;
    const auto summary = run_campaign(request, controls);
    print_summary(summary, c);
    if (!summary.complete()) {
      fmt::print("interrupted: {} of {} faults done; run the same command again to resume\n",
                 summary.resumed + summary.ran, summary.faults);
      throw Error(ExitCode::kInterrupted, "stopped by a signal");
    }
  });
}

}  // namespace dnnfi::cli
