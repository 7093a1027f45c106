#pragma once
// Campaigns past one process. A campaign is split by faults into parts, one shard each, planned
// purely (plan_parts), then run by a runner: local processes (`run --workers N`) or a Slurm job
// array (`dnnfi slurm`). Every part runs this dnnfi with the command line derived from the
// campaign's own request, so each is the campaign the user asked for; the parts are merged into
// the single-process results file, byte for byte.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/commands.hpp"

namespace dnnfi {

// The `dnnfi run` arguments that ask for `request`: every option that differs from its default,
// as --option=value in a fixed order, without -o, --threads, --shard and -q, which each part is
// given.
std::vector<std::string> run_arguments(const CampaignRequest& request);

// Where the parts of `output` are kept: OUT.csv.parts/shard-K-of-N.csv (and .log).
std::filesystem::path parts_folder(const std::filesystem::path& output);
std::filesystem::path part_file(const std::filesystem::path& output, std::size_t k, std::size_t n);

// What the parts plan is made from besides the request: found by find_parts_facts(), or given.
struct PartsFacts {
  std::size_t faults = 0;             // the campaign's
  std::size_t earlier_parts = 0;      // N of the parts an earlier run left in the parts folder (0: none)
  std::string earlier_part;           // the name of one of them, for messages
  std::int64_t available_memory = 0;  // bytes; 0: unknown
  int cores = 1;
  std::string executable;  // this dnnfi
};
// The campaign's faults, the memory, the cores, this executable and, with `earlier_parts`, the
// parts an earlier run left (an InputError naming the folder when they are of several runs).
PartsFacts find_parts_facts(const CampaignRequest& request, bool earlier_parts);

// How a backend asks for parts.
struct PartsRequest {
  std::size_t parts = 2;             // --workers N / --tasks N
  std::string option = "--workers";  // for messages: "--workers 1000: running 2, ..."
  std::string verb = "running";      // "running" / "writing"
  std::optional<int> threads;        // per part; Default: cores / parts
  std::int64_t memory_per_part = 0;  // bytes a part may use; 0: not bounded by memory
};

struct Part {
  Shard shard;
  std::filesystem::path file, log;
  std::vector<std::string> command;  // the whole command line this part runs
};

struct PartsPlan {
  std::filesystem::path output;  // the merged results file
  std::filesystem::path folder;  // its parts folder
  std::vector<std::string> run;  // the executable, "run" and run_arguments(request)
  std::vector<Part> parts;
  int threads = 1;          // per part
  std::size_t at_once = 1;  // parts running at once (memory); the next starts as one ends
  bool overwrite = false;   // the merge replaces another campaign's results in the output (--overwrite)
};

// Pure: N parts, N as requested, at most one per fault and as many as memory holds (said in the
// log when fewer); or, where an earlier run left parts, its N, so they resume (an InputError
// naming the folder when that N is more than the campaign's faults: they are not its parts).
// The parts of an earlier run beyond what memory holds run in turns.
PartsPlan plan_parts(const CampaignRequest& request, const PartsRequest& parts, const PartsFacts& facts);

// Runs the parts of a plan.
class PartsRunner {
 public:
  virtual ~PartsRunner() = default;
  // The exit status: 0 when the parts are done (and merged) or handed to a scheduler, 130 when
  // stopped with every part's rows kept (the same command resumes them). A part that fails is an
  // Error with its own message, its exit status and its folder named.
  virtual int run(const PartsPlan& plan, const std::atomic<bool>& stop) = 0;
};

// Local processes: at most plan.at_once at a time, stopped together (each keeping its rows) on
// `stop` or when one fails, never left running when run() returns; their parts merged into the
// output (whose lock the caller holds) and removed.
std::unique_ptr<PartsRunner> local_processes();

struct SlurmOptions {
  std::optional<std::string> partition, time;  // sbatch --partition, --time of each task
  std::optional<int> cpus_per_task;            // each task runs that many threads
  bool submit = false;                         // submit with sbatch; else print the scripts
};
// `--time` as sbatch takes it: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or UNLIMITED;
// a usage Error naming the value otherwise.
void check_slurm_time(const std::string& time);
// A Slurm job array, one task per part (OUT.csv.slurm/array.sbatch, --requeue: a requeued task
// resumes its part) and a merge job after it (merge.sbatch, afterok), submitted or printed.
std::unique_ptr<PartsRunner> slurm_array(const SlurmOptions& options);

// `run --workers N`: the campaign in N local processes, merged into -o (locked for the whole
// run). The exit status, as PartsRunner::run.
int run_in_processes(const CampaignRequest& request, std::size_t workers, std::optional<int> threads,
                     const std::atomic<bool>& stop);
// True when -o already holds rows and no parts are left beside it: the campaign was merged (or
// run in one process), and the same process resumes it.
bool resumes_in_one_process(const std::filesystem::path& output);
// `dnnfi slurm`: the campaign as a job array of `tasks` parts and a merge job.
int run_on_slurm(const CampaignRequest& request, std::size_t tasks, const SlurmOptions& options);

}  // namespace dnnfi
