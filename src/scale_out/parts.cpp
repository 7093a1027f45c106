// The parts of a campaign (scale_out.hpp): where they live, how many, what each runs; and the two
// ways to run them, wired from a request.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>

#include "dnnfi/errors.hpp"
#include "dnnfi/scale_out.hpp"
#include "dnnfi/settings.hpp"
#include "platform/file_lock.hpp"
#include "results/outputs.hpp"

namespace dnnfi {
namespace {

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

std::string own_executable() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw ResourceError("cannot find the running dnnfi executable (/proc/self/exe)");
  return exe.string();
}

// The campaign's inputs, which its -o must not be.
std::vector<std::filesystem::path> campaign_inputs(const CampaignRequest& request) {
  std::vector<std::filesystem::path> inputs;
  for (const auto& input :
       {request.campaign.faults, request.campaign.replay, request.model.model_file, request.model.data})
    if (input) inputs.push_back(*input);
  return inputs;
}

void check_splittable(const CampaignRequest& request, const char* how) {
  const auto& c = request.campaign;
  if (c.iterative || c.replay)
    throw Error(ExitCode::kUsage,
                std::string(how) + " splits a campaign into shards: not with --margin or --replay");
  if (c.shard.count > 1)
    throw Error(ExitCode::kUsage, std::string(how) + " chooses the shards itself: drop --shard");
}

// The lock on the merged results file for as long as the parts run and merge: a second run on
// the same -o is refused at once. An output the lock created and nothing merged into is removed.
class OutputClaim {
 public:
  explicit OutputClaim(const std::filesystem::path& output) : path_(output), lock_(output) {}
  ~OutputClaim() {
    std::error_code ec;
    if (lock_.created() && std::filesystem::file_size(path_, ec) == 0 && !ec)
      std::filesystem::remove(path_, ec);
  }
  OutputClaim(const OutputClaim&) = delete;
  OutputClaim& operator=(const OutputClaim&) = delete;

 private:
  std::filesystem::path path_;
  FileLock lock_;
};

}  // namespace

std::filesystem::path parts_folder(const std::filesystem::path& output) {
  auto folder = output;
  folder += ".parts";
  return folder;
}

std::filesystem::path part_file(const std::filesystem::path& output, std::size_t k, std::size_t n) {
  return parts_folder(output) / fmt::format("shard-{}-of-{}.csv", k, n);
}

PartsFacts find_parts_facts(const CampaignRequest& request, bool earlier_parts) {
  PartsFacts facts;
  // Parts of an earlier run resume only as the same shards; a folder whose parts are of several
  // runs is named, never obeyed.
  const auto folder = parts_folder(request.campaign.output);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (!earlier_parts) break;
    unsigned long k = 0, n = 0;
    char tail = 0;
    const auto name = entry.path().filename().string();
    if (std::sscanf(name.c_str(), "shard-%lu-of-%lu.cs%c", &k, &n, &tail) != 3 || tail != 'v' || n == 0)
      continue;
    if (facts.earlier_parts > 0 && n != facts.earlier_parts)
      throw InputError(
          folder.string() + " holds parts of " + std::to_string(facts.earlier_parts) + " workers (" +
          facts.earlier_part + ") and of " + std::to_string(n) + " (" + name +
          "): not the parts of one run; remove the folder to start afresh, or choose another -o");
    facts.earlier_parts = n;
    facts.earlier_part = name;
  }
  facts.faults = count_campaign_faults(request);
  facts.available_memory = available_memory();
  facts.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  facts.executable = own_executable();
  return facts;
}

PartsPlan plan_parts(const CampaignRequest& request, const PartsRequest& asked, const PartsFacts& facts) {
  PartsPlan plan;
  plan.output = request.campaign.output;
  plan.folder = parts_folder(plan.output);
  plan.overwrite = request.campaign.overwrite;
  plan.run = {facts.executable, "run"};
  const auto arguments = run_arguments(request);
  plan.run.insert(plan.run.end(), arguments.begin(), arguments.end());
  std::size_t n = asked.parts;
  const std::size_t fit = asked.memory_per_part > 0 && facts.available_memory > 0
                              ? static_cast<std::size_t>(
                                    std::max<std::int64_t>(1, facts.available_memory / asked.memory_per_part))
                              : SIZE_MAX;
  const auto memory_note = [&] {
    return fmt::format(
        "each may cache up to {:.1f} GiB of activations (--memory-limit) and {:.1f} GiB are available; a "
        "lower "
        "--memory-limit allows more",
        static_cast<double>(asked.memory_per_part) / (1 << 30),
        static_cast<double>(facts.available_memory) / (1 << 30));
  };
  if (facts.earlier_parts > 0) {
    if (facts.earlier_parts > facts.faults)
      throw InputError(
          plan.folder.string() + " holds parts of " + std::to_string(facts.earlier_parts) + " workers (" +
          facts.earlier_part + "), more than the campaign's " + std::to_string(facts.faults) +
          " faults: they are not this campaign's parts; remove the folder to start afresh, or choose "
          "another -o");
    n = facts.earlier_parts;
    if (n != asked.parts)
      spdlog::info("{} holds the parts of {} workers: resuming them as {} shards", plan.folder.string(), n,
                   n);
    plan.at_once = std::min(n, fit);
    if (plan.at_once < n)
      spdlog::warn("{} parts: running {} at a time, as many as memory holds: {}", n, plan.at_once,
                   memory_note());
  } else {
    if (n > facts.faults) {
      spdlog::warn("{} {}: {} {}, one per fault of the campaign", asked.option, asked.parts, asked.verb,
                   facts.faults);
      n = facts.faults;
    }
    if (n > fit) {
      spdlog::warn("{} {}: {} {}, as many as memory holds: {}", asked.option, asked.parts, asked.verb, fit,
                   memory_note());
      n = fit;
    }
    plan.at_once = n;
  }
  plan.threads = asked.threads && *asked.threads > 0
                     ? *asked.threads
                     : std::max(1, facts.cores / static_cast<int>(std::max<std::size_t>(1, asked.parts)));
  for (std::size_t k = 0; k < n; ++k) {
    Part part;
    part.shard = Shard{k, n};
    part.file = part_file(plan.output, k, n);
    part.log = part.file;
    part.log.replace_extension(".log");
    part.command = plan.run;
    for (const auto& a :
         {std::string("--threads"), std::to_string(plan.threads), std::string("--shard"),
          fmt::format("{}/{}", k, n), std::string("-o"), part.file.string(), std::string("-q")})
      part.command.push_back(a);
    plan.parts.push_back(std::move(part));
  }
  return plan;
}

bool resumes_in_one_process(const std::filesystem::path& output) {
  std::error_code ec;
  return std::filesystem::file_size(output, ec) > 0 && !ec &&
         !std::filesystem::exists(parts_folder(output), ec);
}

int run_in_processes(const CampaignRequest& request, std::size_t workers, std::optional<int> threads,
                     const std::atomic<bool>& stop) {
  check_splittable(request, "--workers");
  check_output(request.campaign.output, OutputKind::kResults, campaign_inputs(request), "-o");
  // One writer per results file: held from the start, while the workers run and merge.
  const OutputClaim claim(request.campaign.output);
  PartsRequest asked;
  asked.parts = workers;
  asked.threads = threads;
  // Each worker builds its own golden cache (host memory on the CPU) besides its model and data.
  asked.memory_per_part =
      request.inference.use_cuda
          ? 0
          : request.campaign.memory_limit.value_or(kDefaultMemoryLimit) + (std::int64_t{512} << 20);
  const auto plan = plan_parts(request, asked, find_parts_facts(request, /*earlier_parts=*/true));
  return local_processes()->run(plan, stop);
}

int run_on_slurm(const CampaignRequest& request, std::size_t tasks, const SlurmOptions& options) {
  check_splittable(request, "slurm");
  if (options.time) check_slurm_time(*options.time);
  check_output(request.campaign.output, OutputKind::kResults, campaign_inputs(request), "-o");
  PartsRequest asked;
  asked.parts = tasks;
  asked.option = "--tasks";
  asked.verb = "writing";
  asked.threads = 1;  // each task runs its CPUs' worth ($SLURM_CPUS_PER_TASK)
  // A requeued task resumes its own part: the array is written for the tasks asked for.
  const auto facts = find_parts_facts(request, /*earlier_parts=*/false);
  std::atomic<bool> never{false};
  return slurm_array(options)->run(plan_parts(request, asked, facts), never);
}

}  // namespace dnnfi
