// `dnnfi report` and `dnnfi compare`: findings from results files.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/outputs.hpp"
#include "dnnfi/provenance.hpp"
#include "platform/process.hpp"
#include "workload.hpp"

namespace dnnfi {
namespace {

std::vector<ResultRow> read_rows(const std::filesystem::path& file) {
  ResultsReader reader(file);
  auto rows = reader.read_all();
  if (reader.torn_bytes() > 0)
    spdlog::warn("{}: ignoring a torn last line ({} bytes; the campaign was interrupted)", file.string(),
                 reader.torn_bytes());
  return rows;
}

}  // namespace

ReportOutcome report_results(const ReportRequest& request) {
  std::vector<std::filesystem::path> inputs{request.results};
  if (request.reference) inputs.push_back(*request.reference);
  if (request.model && request.model->model_file) inputs.push_back(*request.model->model_file);
  if (request.json) check_output(*request.json, OutputKind::kReportJson, inputs, "--json");
  if (request.html) {
    check_output(*request.html, OutputKind::kReportHtml, inputs, "--html");
    std::error_code ec;
    if (request.json && std::filesystem::weakly_canonical(*request.json, ec) ==
                            std::filesystem::weakly_canonical(*request.html, ec))
      throw Error(ExitCode::kUsage, "--json and --html name the same file, " + request.html->string());
  }
  ReportOptions options;
  // The campaign's own record says what its faults hit; options given say it for other files.
  const auto provenance = read_provenance(request.results);
  options.format = request.format.value_or(
      provenance ? parse_word_format(provenance->format).value_or(WordFormat::kFp32) : WordFormat::kFp32);
  options.target = request.target.value_or(
      provenance ? parse_fault_target(provenance->target).value_or(FaultTarget::kWeights)
                 : FaultTarget::kWeights);
  if (request.bits)
    options.bits = *request.bits;
  else if (provenance && !provenance->bits.empty())
    options.bits = parse_bits_option(provenance->bits);
  options.burst = request.burst.value_or(provenance ? provenance->burst : 1);
  if (request.model) {
    const auto work = resolve_workload(*request.model);
    options.layers = work.model.info(work.where).layers;
  }
  ReportOutcome outcome{make_report(read_rows(request.results), request.results.string(), options),
                        std::nullopt};
  if (request.reference)
    outcome.comparison = compare_files(request.results, *request.reference, request.max_critical_diff);
  const auto json = report_json(outcome.report, outcome.comparison ? &*outcome.comparison : nullptr);
  if (request.json) replace_file(*request.json, json);
  if (request.html) {
    // The charts are drawn by matplotlib (python3-matplotlib) into one self-contained page, written
    // beside the page and renamed over it once complete.
    const auto data =
        std::filesystem::temp_directory_path() / ("dnnfi-report-" + std::to_string(::getpid()) + ".json");
    replace_file(data, json);
    const auto page = temporary_beside(*request.html);
    const int status = run_process(
        {python_interpreter(), (scripts_dir() / "report_html.py").string(), data.string(), page.string()});
    std::error_code ec;
    std::filesystem::remove(data, ec);
    if (status == 0) std::filesystem::rename(page, *request.html, ec);
    if (status != 0 || ec) {
      std::filesystem::remove(page, ec);
      throw ResourceError("could not write " + request.html->string() + " (report_html.py exit status " +
                          std::to_string(status) + ", its message is above; it needs python3-matplotlib)");
    }
  }
  return outcome;
}

Comparison compare_files(const std::filesystem::path& a, const std::filesystem::path& b,
                         std::int64_t max_critical_diff) {
  if (max_critical_diff < 0)
    throw Error(ExitCode::kUsage,
                "--max-critical-diff must be 0 or more, got " + std::to_string(max_critical_diff));
  auto comparison = compare_results(read_rows(a), a.string(), read_rows(b), b.string(), max_critical_diff);
  if (comparison.common == 0)
    throw InputError("no fault of " + a.string() + " is in " + b.string() +
                     " with the same fault model and image count; nothing to compare");
  return comparison;
}

}  // namespace dnnfi
