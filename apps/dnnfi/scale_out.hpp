#pragma once
// Campaigns past one process: `run --workers N` (local processes, one shard each, merged) and
// `dnnfi slurm` (a job array, one shard per task, and a merge job). Both re-run this dnnfi with
// the user's own run options, so every part is the campaign the user described.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dnnfi::cli {

// The command line as main received it, for re-running a subcommand's options.
void remember_arguments(int argc, char** argv);
// The arguments after the subcommand `name`, without the options in `drop` (with their values;
// those in `drop_flags` take none), in every spelling: "-o X", "-oX", "--output X", "--output=X".
std::vector<std::string> subcommand_arguments(const std::string& name, const std::vector<std::string>& drop,
                                              const std::vector<std::string>& drop_flags);

// Where the shards of `output` are kept: OUT.csv.parts/shard-K-of-N.csv.
std::filesystem::path parts_folder(const std::filesystem::path& output);
std::filesystem::path part_file(const std::filesystem::path& output, std::size_t k, std::size_t n);

struct WorkerPlan {
  std::vector<std::string> run_arguments;  // the user's run options, without -o/--threads/--workers/-q
  std::filesystem::path output;
  std::size_t workers = 2;     // parts (shards), one worker each
  std::size_t concurrent = 2;  // workers running at once (memory); the next starts as one ends
  int threads = 1;             // per worker
};
// How many workers to start for `requested`: one per fault at most, no more than memory holds
// when each may cache `per_worker_bytes` (0: not bounded by memory), and, when the parts of an
// earlier run are there, as many as they were (so they resume). Says so when it is fewer.
std::size_t choose_workers(std::size_t requested, std::size_t faults, std::int64_t per_worker_bytes,
                           const std::filesystem::path& output);
// How many of `workers` parts may run at once when each may cache `per_worker_bytes` (0: all);
// says so when it is fewer.
std::size_t concurrent_workers(std::size_t workers, std::int64_t per_worker_bytes);
// Runs the workers, stops them all on `stop` (returning once every one has ended), merges their parts into
// the output and removes them; returns the exit status (130 when stopped: a rerun resumes every part).
int run_workers(const WorkerPlan& plan, const std::atomic<bool>& stop);

struct SlurmPlan {
  std::vector<std::string> run_arguments;  // as for the workers
  std::filesystem::path output;
  std::size_t tasks = 4;
  std::optional<std::string> partition, time;
  std::optional<int> cpus_per_task;
  bool submit = false;  // else print
};
// `--time` as sbatch takes it: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or
// UNLIMITED; a usage Error naming the value otherwise.
void check_slurm_time(const std::string& time);
// Writes OUT.csv.slurm/{array,merge}.sbatch and submits them (the merge after the array,
// afterok) or prints them with the commands that would submit them.
int run_slurm(const SlurmPlan& plan);

}  // namespace dnnfi::cli
