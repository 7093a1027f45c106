#include "scale_out.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/outputs.hpp"

extern char** environ;

namespace dnnfi::cli {
namespace {

std::vector<std::string> g_arguments;

std::filesystem::path own_executable() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw ResourceError("cannot find the running dnnfi executable (/proc/self/exe)");
  return exe;
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                              "_-+=/.,:@%") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A word of an #SBATCH line: sbatch reads double quotes (with backslash escapes), not a shell's
// single quotes.
std::string sbatch_quote(const std::string& word) {
  std::string out = "\"";
  for (char c : word) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// A job name Slurm and squeue show plainly: the output's name with anything but letters,
// digits, '.', '_' and '-' made '_'.
std::string job_name(const std::filesystem::path& output) {
  auto name = "dnnfi-" + output.stem().string();
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return name;
}

std::int64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  for (std::string key; in >> key;) {
    std::int64_t kib = 0;
    in >> kib;
    if (key == "MemAvailable:") return kib * 1024;
    in.ignore(256, '\n');
  }
  return 0;
}

std::string shell_line(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + shell_quote(w);
  return out;
}

// The last lines of a worker's log, for the message when it fails.
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

pid_t spawn_worker(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The parent's pid tells a worker to stop when the parent dies (see run_command.cpp).
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

// Creates a folder dnnfi keeps a campaign's parts or scripts in; a ResourceError naming it (exit
// 4) when it cannot be made.
void make_folder(const std::filesystem::path& folder, const char* what) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec)
    throw ResourceError(folder.string() + ": the folder for " + what + " cannot be made (" + ec.message() +
                        ")");
}

// A job script is read line by line: a value with a line break (or another control character)
// would end its line and start a command of its own.
void check_script_value(const std::string& value, const std::string& what) {
  for (const char c : value)
    if (static_cast<unsigned char>(c) < 0x20)
      throw Error(ExitCode::kUsage, what + " '" + value.substr(0, value.find(c)) +
                                        "...' holds a line break or another control character, which a "
                                        "job script cannot hold; choose another");
}

void write_script(const std::filesystem::path& path, const std::string& text, bool executable) {
  replace_file(path, text);
  if (executable)
    std::filesystem::permissions(path,
                                 std::filesystem::perms::owner_exec | std::filesystem::perms::group_exec,
                                 std::filesystem::perm_options::add);
}

// Runs a command and returns its standard output; an Error with its output when it fails.
std::string capture(const std::vector<std::string>& argv) {
  const auto line = shell_line(argv) + " 2>&1";
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) throw ResourceError("cannot run " + argv[0]);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0)
    throw ResourceError(fmt::format("{} failed (status {}): {}", shell_line(argv), WEXITSTATUS(status), out));
  return out;
}

}  // namespace

void remember_arguments(int argc, char** argv) { g_arguments.assign(argv, argv + argc); }

std::vector<std::string> subcommand_arguments(const std::string& name, const std::vector<std::string>& drop,
                                              const std::vector<std::string>& drop_flags) {
  std::size_t i = 1;
  while (i < g_arguments.size() && g_arguments[i] != name) ++i;
  std::vector<std::string> out;
  for (++i; i < g_arguments.size(); ++i) {
    const auto& a = g_arguments[i];
    if (a == "--") {
      out.insert(out.end(), g_arguments.begin() + static_cast<std::ptrdiff_t>(i), g_arguments.end());
      break;
    }
    bool dropped = false;
    for (const auto& opt : drop) {
      if (a == opt) {
        ++i;  // and its value
        dropped = true;
      } else if ((opt.size() > 2 && a.rfind(opt + "=", 0) == 0) ||
                 (opt.size() == 2 && a.size() > 2 && a.rfind(opt, 0) == 0)) {
        dropped = true;
      }
      if (dropped) break;
    }
    for (const auto& flag : drop_flags) dropped = dropped || a == flag;
    if (!dropped) out.push_back(a);
  }
  return out;
}

std::filesystem::path parts_folder(const std::filesystem::path& output) {
  auto folder = output;
  folder += ".parts";
  return folder;
}

std::filesystem::path part_file(const std::filesystem::path& output, std::size_t k, std::size_t n) {
  return parts_folder(output) / fmt::format("shard-{}-of-{}.csv", k, n);
}

std::size_t choose_workers(std::size_t requested, std::size_t faults, std::int64_t per_worker_bytes,
                           const std::filesystem::path& output) {
  // Parts of an earlier run resume only as the same shards; a folder whose parts cannot be this
  // campaign's is named, never obeyed.
  const auto folder = parts_folder(output);
  std::error_code ec;
  std::size_t earlier = 0;
  std::string first_part;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    unsigned long k = 0, n = 0;
    char tail = 0;
    const auto name = entry.path().filename().string();
    if (std::sscanf(name.c_str(), "shard-%lu-of-%lu.cs%c", &k, &n, &tail) != 3 || tail != 'v') continue;
    if (earlier > 0 && n != earlier)
      throw InputError(
          folder.string() + " holds parts of " + std::to_string(earlier) + " workers (" + first_part +
          ") and of " + std::to_string(n) + " (" + name +
          "): not the parts of one run; remove the folder to start afresh, or choose another -o");
    earlier = n;
    first_part = name;
  }
  if (earlier > faults)
    throw InputError(
        folder.string() + " holds parts of " + std::to_string(earlier) + " workers (" + first_part +
        "), more than the campaign's " + std::to_string(faults) +
        " faults: they are not this campaign's parts; remove the folder to start afresh, or choose "
        "another -o");
  if (earlier > 0) {
    if (earlier != requested)
      spdlog::info("{} holds the parts of {} workers: resuming them as {} shards", folder.string(), earlier,
                   earlier);
    return earlier;
  }
  std::size_t workers = requested;
  if (workers > faults) {
    spdlog::warn("--workers {}: running {}, one per fault of the campaign", requested, faults);
    workers = faults;
  }
  const auto available = available_memory();
  if (per_worker_bytes > 0 && available > 0) {
    const auto fit = static_cast<std::size_t>(std::max<std::int64_t>(1, available / per_worker_bytes));
    if (workers > fit) {
      spdlog::warn(
          "--workers {}: running {}, as many as memory holds: each may cache up to {:.1f} GiB of activations "
          "(--memory-limit) and {:.1f} GiB are available; a lower --memory-limit allows more",
          requested, fit, static_cast<double>(per_worker_bytes) / (1 << 30),
          static_cast<double>(available) / (1 << 30));
      workers = fit;
    }
  }
  return workers;
}

std::size_t concurrent_workers(std::size_t workers, std::int64_t per_worker_bytes) {
  const auto available = available_memory();
  if (per_worker_bytes <= 0 || available <= 0) return workers;
  const auto fit = static_cast<std::size_t>(std::max<std::int64_t>(1, available / per_worker_bytes));
  if (workers <= fit) return workers;
  spdlog::warn(
      "{} parts: running {} at a time, as many as memory holds: each may cache up to {:.1f} GiB of "
      "activations (--memory-limit) and {:.1f} GiB are available; a lower --memory-limit allows more",
      workers, fit, static_cast<double>(per_worker_bytes) / (1 << 30),
      static_cast<double>(available) / (1 << 30));
  return fit;
}

void check_slurm_time(const std::string& time) {
  static const std::regex kTime(
      R"(^([0-9]+|[0-9]+:[0-9]{1,2}|[0-9]+:[0-9]{1,2}:[0-9]{1,2}|[0-9]+-[0-9]+(:[0-9]{1,2}(:[0-9]{1,2})?)?|UNLIMITED|INFINITE|unlimited|infinite)$)");
  if (!std::regex_match(time, kTime))
    throw Error(ExitCode::kUsage, "--time '" + time +
                                      "': expected a time sbatch takes: minutes, MM:SS, HH:MM:SS, D-HH, "
                                      "D-HH:MM or D-HH:MM:SS (e.g. 2:00:00)");
}

int run_workers(const WorkerPlan& plan, const std::atomic<bool>& stop) {
  const auto folder = parts_folder(plan.output);
  make_folder(folder, "the workers' parts");
  const auto exe = own_executable().string();
  struct Worker {
    pid_t pid = 0;
    int status = -1;  // exit status once ended
    std::filesystem::path part, log;
  };
  std::vector<Worker> workers(plan.workers);
  const auto at_once = std::max<std::size_t>(1, std::min(plan.concurrent, plan.workers));
  spdlog::info("{} workers x {} thread(s){}, their parts and logs in {}", plan.workers, plan.threads,
               at_once < plan.workers ? fmt::format(" ({} at a time)", at_once) : "", folder.string());
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t k = 0; k < plan.workers; ++k) {
    workers[k].part = part_file(plan.output, k, plan.workers);
    workers[k].log = workers[k].part;
    workers[k].log.replace_extension(".log");
  }
  const auto spawn = [&](std::size_t k) {
    std::vector<std::string> argv{exe, "run"};
    argv.insert(argv.end(), plan.run_arguments.begin(), plan.run_arguments.end());
    for (const auto& a : {std::string("--threads"), std::to_string(plan.threads), std::string("--shard"),
                          fmt::format("{}/{}", k, plan.workers), std::string("-o"), workers[k].part.string(),
                          std::string("-q")})
      argv.push_back(a);
    workers[k].pid = spawn_worker(argv, workers[k].log);
  };

  // Start as many as may run at once, the next as one ends; a stop request or a failed worker
  // stops the others (each keeps its rows), and this process returns only once every worker
  // it started has ended.
  bool told_to_stop = false;
  const Worker* failed = nullptr;
  std::size_t started = 0, running = 0;
  for (;;) {
    if (stop.load() && !told_to_stop) {
      told_to_stop = true;
      for (auto& w : workers)
        if (w.pid > 0 && w.status < 0) ::kill(w.pid, SIGTERM);
    }
    while (!told_to_stop && running < at_once && started < workers.size()) {
      spawn(started++);
      ++running;
    }
    if (running == 0) break;
    for (auto& w : workers) {
      if (w.pid <= 0 || w.status >= 0) continue;
      int raw = 0;
      if (::waitpid(w.pid, &raw, WNOHANG) != w.pid) continue;
      w.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      --running;
      if (w.status != 0 && w.status != 130 && failed == nullptr) {
        failed = &w;
        spdlog::error("worker {} failed (exit {}):{}", w.part.filename().string(), w.status,
                      tail_of(w.log, 5));
        told_to_stop = true;
        for (auto& other : workers)
          if (other.pid > 0 && other.status < 0) ::kill(other.pid, SIGTERM);
      }
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (failed != nullptr)
    throw Error(
        static_cast<ExitCode>(failed->status),
        fmt::format("worker {} failed (exit {}): {}; its part and log are in {} (parts left by another "
                    "campaign? remove the folder to start afresh)",
                    failed->part.filename().string(), failed->status, last_error_line(failed->log),
                    folder.string()));
  if (stop.load() || started < workers.size() ||
      std::any_of(workers.begin(), workers.end(), [](const Worker& w) { return w.status == 130; })) {
    fmt::print("interrupted: the workers' parts are kept in {}; run the same command again to resume\n",
               folder.string());
    return static_cast<int>(ExitCode::kInterrupted);
  }

  MergeOptions merge;
  merge.output = plan.output;
  for (const auto& w : workers) merge.inputs.push_back(w.part);
  const auto merged = merge_results(merge);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::error_code ec;
  std::filesystem::remove_all(folder, ec);
  const auto& totals = merged.totals;
  fmt::print("campaign: {} faults x {} images by {} workers x {} thread(s) in {:.1f} s, merged into {}\n",
             merged.rows,
             totals.injections / std::max<std::int64_t>(1, static_cast<std::int64_t>(merged.rows)),
             plan.workers, plan.threads, seconds, plan.output.string());
  fmt::print("  masked {}, non-critical {}, critical {}, non-finite {}\n", totals.masked, totals.non_critical,
             totals.critical, totals.non_finite ? std::to_string(*totals.non_finite) : "n/a");
  return 0;
}

int run_slurm(const SlurmPlan& plan) {
  const auto output = resolved_path(plan.output);
  auto folder = output;
  folder += ".slurm";
  const auto exe = own_executable().string();
  const auto cwd = std::filesystem::current_path().string();
  check_script_value(output.string(), "-o");
  check_script_value(cwd, "the working folder");
  check_script_value(exe, "the dnnfi executable's path");
  if (plan.partition) check_script_value(*plan.partition, "--partition");
  for (const auto& argument : plan.run_arguments) check_script_value(argument, "the option value");
  const auto n = plan.tasks;
  const auto array_file = folder / "array.sbatch", merge_file = folder / "merge.sbatch";
  for (const auto& script : {array_file, merge_file})
    check_output(script, OutputKind::kSlurmScript, {}, "-o (its job scripts)");
  make_folder(folder, "the job scripts");
  make_folder(parts_folder(output), "the tasks' parts");
  std::string common = fmt::format("#SBATCH --chdir={}\n", sbatch_quote(cwd));
  if (plan.partition) common += "#SBATCH --partition=" + sbatch_quote(*plan.partition) + "\n";
  if (plan.time) common += "#SBATCH --time=" + *plan.time + "\n";

  std::vector<std::string> run{exe, "run"};
  run.insert(run.end(), plan.run_arguments.begin(), plan.run_arguments.end());
  std::string array = "#!/bin/bash\n";
  array += fmt::format(
      "# written by dnnfi slurm: campaign {} in {} array tasks, one shard each; a requeued task resumes its "
      "part.\n",
      output.string(), n);
  array += fmt::format("#SBATCH --job-name={}\n#SBATCH --array=0-{}\n#SBATCH --requeue\n",
                       sbatch_quote(job_name(output)), n - 1);
  array += fmt::format("#SBATCH --output={}\n#SBATCH --open-mode=append\n",
                       sbatch_quote((folder / "shard-%a.log").string()));
  if (plan.cpus_per_task) array += fmt::format("#SBATCH --cpus-per-task={}\n", *plan.cpus_per_task);
  array += common;
  array += "set -eu\n";
  array += fmt::format(
      "exec {} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" --shard \"$SLURM_ARRAY_TASK_ID/{}\" \\\n"
      "  -o {}/\"shard-$SLURM_ARRAY_TASK_ID-of-{}.csv\" -q\n",
      shell_line(run), n, shell_quote(parts_folder(output).string()), n);

  std::vector<std::string> merge_cmd{exe, "merge", "-o", output.string()};
  for (std::size_t k = 0; k < n; ++k) merge_cmd.push_back(part_file(output, k, n).string());
  std::string merge = "#!/bin/bash\n";
  merge += fmt::format(
      "# written by dnnfi slurm: merges the {} parts of {} once every array task has succeeded.\n", n,
      output.string());
  merge +=
      fmt::format("#SBATCH --job-name={}\n#SBATCH --output={}\n", sbatch_quote(job_name(output) + "-merge"),
                  sbatch_quote((folder / "merge.log").string()));
  merge += common;
  merge += "set -eu\nexec " + shell_line(merge_cmd) + "\n";

  write_script(array_file, array, true);
  write_script(merge_file, merge, true);
  if (!plan.submit) {
    fmt::print("# {}\n{}\n# {}\n{}\n", array_file.string(), array, merge_file.string(), merge);
    fmt::print(
        "# to submit:\njob=$(sbatch --parsable {})\nsbatch --dependency=afterok:${{job%%;*}} "
        "--kill-on-invalid-dep=yes {}\n",
        shell_quote(array_file.string()), shell_quote(merge_file.string()));
    return 0;
  }
  auto job = capture({"sbatch", "--parsable", array_file.string()});
  job = job.substr(0, job.find_first_of(";\n"));
  auto merge_job = capture({"sbatch", "--parsable", "--dependency=afterok:" + job,
                            "--kill-on-invalid-dep=yes", merge_file.string()});
  merge_job = merge_job.substr(0, merge_job.find_first_of(";\n"));
  fmt::print("submitted array job {} ({} tasks) and merge job {}; results in {}\n", job, n, merge_job,
             output.string());
  fmt::print(
      "a task that fails or is cancelled drops the merge job: resubmit the task (sbatch --array=K {}), "
      "then the merge (sbatch --dependency=afterok:JOB {})\n",
      shell_quote(array_file.string()), shell_quote(merge_file.string()));
  return 0;
}

}  // namespace dnnfi::cli
