// `dnnfi slurm`: a campaign as a Slurm job array (one shard per task) and a merge job.
#include <memory>

#include "commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/scale_out.hpp"
#include "dnnfi/settings.hpp"
#include "run_options.hpp"

namespace dnnfi::cli {

void setup_slurm(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  auto slurm = std::make_shared<SlurmOptions>();
  auto tasks = std::make_shared<std::size_t>(4);
  auto* cmd = app.add_subcommand(
      "slurm", "a campaign as a Slurm job array (one shard per task) and a merge job; takes run's options");
  add_run_options(cmd, opts);
  cmd->add_option_function<std::string>(
         "--tasks", [tasks](const std::string& v) { *tasks = parse_count("--tasks", v, 1); },
         "array tasks, one shard each (at most one per fault)")
      ->required();
  cmd->add_option_function<std::string>(
      "--partition", [slurm](const std::string& v) { slurm->partition = v; }, "sbatch --partition");
  cmd->add_option_function<std::string>(
      "--time", [slurm](const std::string& v) { slurm->time = v; }, "sbatch --time of each task");
  cmd->add_option_function<std::string>(
      "--cpus-per-task",
      [slurm](const std::string& v) {
        slurm->cpus_per_task = static_cast<int>(parse_count("--cpus-per-task", v, 1, 4096));
      },
      "sbatch --cpus-per-task; each task runs that many threads");
  auto* submit = cmd->add_flag("--submit", slurm->submit, "submit the jobs with sbatch");
  auto* print = cmd->add_flag("--print", "print the job scripts and the commands that submit them");
  submit->excludes(print);
  cmd->callback([opts, slurm, tasks, submit, print] {
    if (submit->count() + print->count() == 0)
      throw Error(ExitCode::kUsage, "slurm: say --submit or --print");
    if (opts->threads->count() > 0)
      throw Error(ExitCode::kUsage, "slurm: each task runs --cpus-per-task threads; drop --threads");
    const int status = run_on_slurm(campaign_request(*opts), *tasks, *slurm);
    if (status != 0) throw Error(static_cast<ExitCode>(status), "slurm failed");
  });
}

}  // namespace dnnfi::cli
