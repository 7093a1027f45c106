// The parts of a campaign as a Slurm job array and a merge job (scale_out.hpp, slurm_array).
#include <fmt/format.h>
#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <regex>

#include "dnnfi/errors.hpp"
#include "dnnfi/scale_out.hpp"
#include "folders.hpp"
#include "platform/files.hpp"
#include "results/outputs.hpp"

namespace dnnfi {
namespace {

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

std::string shell_line(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + shell_quote(w);
  return out;
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

class SlurmArray final : public PartsRunner {
 public:
  explicit SlurmArray(SlurmOptions options) : options_(std::move(options)) {}
  int run(const PartsPlan& plan, const std::atomic<bool>&) override {
    const auto output = resolved_path(plan.output);
    auto folder = output;
    folder += ".slurm";
    const auto& exe = plan.run.front();
    const auto cwd = std::filesystem::current_path().string();
    check_script_value(output.string(), "-o");
    check_script_value(cwd, "the working folder");
    check_script_value(exe, "the dnnfi executable's path");
    if (options_.partition) check_script_value(*options_.partition, "--partition");
    for (const auto& argument : plan.run) check_script_value(argument, "the option value");
    const auto n = plan.parts.size();
    const auto array_file = folder / "array.sbatch", merge_file = folder / "merge.sbatch";
    for (const auto& script : {array_file, merge_file})
      check_output(script, OutputKind::kSlurmScript, {}, "-o (its job scripts)");
    make_folder(folder, "the job scripts");
    make_folder(parts_folder(output), "the tasks' parts");
    std::string common = fmt::format("#SBATCH --chdir={}\n", sbatch_quote(cwd));
    if (options_.partition) common += "#SBATCH --partition=" + sbatch_quote(*options_.partition) + "\n";
    if (options_.time) common += "#SBATCH --time=" + *options_.time + "\n";

    const auto& run = plan.run;
    std::string array = "#!/bin/bash\n";
    array += fmt::format(
        "# written by dnnfi slurm: campaign {} in {} array tasks, one shard each; a requeued task resumes "
        "its "
        "part.\n",
        output.string(), n);
    array += fmt::format("#SBATCH --job-name={}\n#SBATCH --array=0-{}\n#SBATCH --requeue\n",
                         sbatch_quote(job_name(output)), n - 1);
    array += fmt::format("#SBATCH --output={}\n#SBATCH --open-mode=append\n",
                         sbatch_quote((folder / "shard-%a.log").string()));
    if (options_.cpus_per_task) array += fmt::format("#SBATCH --cpus-per-task={}\n", *options_.cpus_per_task);
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
    if (!options_.submit) {
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

 private:
  SlurmOptions options_;
};

}  // namespace

void check_slurm_time(const std::string& time) {
  static const std::regex kTime(
      R"(^([0-9]+|[0-9]+:[0-9]{1,2}|[0-9]+:[0-9]{1,2}:[0-9]{1,2}|[0-9]+-[0-9]+(:[0-9]{1,2}(:[0-9]{1,2})?)?|UNLIMITED|INFINITE|unlimited|infinite)$)");
  if (!std::regex_match(time, kTime))
    throw Error(ExitCode::kUsage, "--time '" + time +
                                      "': expected a time sbatch takes: minutes, MM:SS, HH:MM:SS, D-HH, "
                                      "D-HH:MM or D-HH:MM:SS (e.g. 2:00:00)");
}

std::unique_ptr<PartsRunner> slurm_array(const SlurmOptions& options) {
  return std::make_unique<SlurmArray>(options);
}

}  // namespace dnnfi
