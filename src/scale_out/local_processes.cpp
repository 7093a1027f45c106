// The parts of a campaign as local processes (scale_out.hpp, local_processes).
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <thread>

#include "dnnfi/errors.hpp"
#include "dnnfi/scale_out.hpp"
#include "folders.hpp"

extern char** environ;

namespace dnnfi {
namespace {

// The last lines of a worker's log, for the log when it fails.
std::string tail_of(const std::filesystem::path& log, std::size_t lines) {
  std::ifstream in(log);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "\n  " + all[i];
  return out;
}

// The worker's own message: its last "error:" line, else its last line.
std::string last_error_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string last, error;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    last = line;
    if (line.find("error: ") != std::string::npos) error = line.substr(line.find("error: ") + 7);
  }
  return !error.empty() ? error : !last.empty() ? last : "it wrote no message";
}

// A worker that was stopped rather than failed: it stopped on Ctrl-C or SIGTERM (130, keeping its
// rows), or a signal to stop ended it before it could say so (while it was starting up).
bool stopped_status(int status) { return status == 130 || status == 128 + SIGTERM || status == 128 + SIGINT; }

pid_t spawn_worker(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The parent's pid tells a worker to stop when the parent dies (apps/dnnfi/run_command.cpp).
  const auto parent = "DNNFI_WORKER_PARENT=" + std::to_string(::getpid());
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string(*e).rfind("DNNFI_WORKER_PARENT=", 0) != 0) env.push_back(*e);
  env.push_back(const_cast<char*>(parent.c_str()));
  env.push_back(nullptr);
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw ResourceError(std::string("cannot start a worker: ") + std::strerror(error));
  return pid;
}

class LocalProcesses final : public PartsRunner {
 public:
  int run(const PartsPlan& plan, const std::atomic<bool>& stop) override {
    make_folder(plan.folder, "the workers' parts");
    struct Worker {
      pid_t pid = 0;
      int status = -1;  // exit status once ended
    };
    std::vector<Worker> workers(plan.parts.size());
    const auto at_once = std::max<std::size_t>(1, std::min(plan.at_once, plan.parts.size()));
    spdlog::info("{} workers x {} thread(s){}, their parts and logs in {}", plan.parts.size(), plan.threads,
                 at_once < plan.parts.size() ? fmt::format(" ({} at a time)", at_once) : "",
                 plan.folder.string());
    const auto start = std::chrono::steady_clock::now();

    // Start as many as may run at once, the next as one ends; a stop request or a failed worker
    // stops the others (each keeps its rows), and run() returns only once every worker it started
    // has ended, also when something here throws.
    struct StopOnError {
      std::vector<Worker>& workers;
      ~StopOnError() {
        if (std::uncaught_exceptions() == 0) return;
        for (auto& w : workers)
          if (w.pid > 0 && w.status < 0) {
            ::kill(w.pid, SIGTERM);
            ::waitpid(w.pid, nullptr, 0);
          }
      }
    } stop_on_error{workers};
    bool told_to_stop = false;
    std::optional<std::size_t> failed;
    std::size_t started = 0, running = 0;
    const auto stop_all = [&] {
      told_to_stop = true;
      for (auto& w : workers)
        if (w.pid > 0 && w.status < 0) ::kill(w.pid, SIGTERM);
    };
    for (;;) {
      if (stop.load() && !told_to_stop) stop_all();
      while (!told_to_stop && running < at_once && started < workers.size()) {
        workers[started].pid = spawn_worker(plan.parts[started].command, plan.parts[started].log);
        ++started;
        ++running;
      }
      if (running == 0) break;
      for (std::size_t k = 0; k < workers.size(); ++k) {
        auto& w = workers[k];
        if (w.pid <= 0 || w.status >= 0) continue;
        int raw = 0;
        if (::waitpid(w.pid, &raw, WNOHANG) != w.pid) continue;
        w.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        --running;
        if (w.status != 0 && !stopped_status(w.status) && !failed) {
          failed = k;
          spdlog::error("worker {} failed (exit {}):{}", plan.parts[k].file.filename().string(), w.status,
                        tail_of(plan.parts[k].log, 5));
          stop_all();
        }
      }
      if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (failed) {
      const auto& part = plan.parts[*failed];
      throw Error(
          static_cast<ExitCode>(workers[*failed].status),
          fmt::format("worker {} failed (exit {}): {}; its part and log are in {} (parts left by another "
                      "campaign? remove the folder to start afresh)",
                      part.file.filename().string(), workers[*failed].status, last_error_line(part.log),
                      plan.folder.string()));
    }
    if (stop.load() || started < workers.size() ||
        std::any_of(workers.begin(), workers.end(),
                    [](const Worker& w) { return stopped_status(w.status); })) {
      fmt::print("interrupted: the workers' parts are kept in {}; run the same command again to resume\n",
                 plan.folder.string());
      return static_cast<int>(ExitCode::kInterrupted);
    }

    MergeOptions merge;
    merge.output = plan.output;
    merge.output_locked = true;  // by the caller, for the whole run
    merge.overwrite = plan.overwrite;
    for (const auto& part : plan.parts) merge.inputs.push_back(part.file);
    const auto merged = merge_results(merge);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::error_code ec;
    std::filesystem::remove_all(plan.folder, ec);
    const auto& totals = merged.totals;
    fmt::print("campaign: {} faults x {} images by {} workers x {} thread(s) in {:.1f} s, merged into {}\n",
               merged.rows,
               totals.injections / std::max<std::int64_t>(1, static_cast<std::int64_t>(merged.rows)),
               plan.parts.size(), plan.threads, seconds, plan.output.string());
    fmt::print("  masked {}, non-critical {}, critical {}, non-finite {}\n", totals.masked,
               totals.non_critical, totals.critical,
               totals.non_finite ? std::to_string(*totals.non_finite) : "n/a");
    return 0;
  }
};

}  // namespace

std::unique_ptr<PartsRunner> local_processes() { return std::make_unique<LocalProcesses>(); }

}  // namespace dnnfi
