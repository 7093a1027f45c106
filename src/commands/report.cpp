// `dnnfi report` and `dnnfi compare`: findings from results files.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/per_image.hpp"
#include "dnnfi/provenance.hpp"
#include "platform/files.hpp"
#include "platform/process.hpp"
#include "results/outputs.hpp"
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
    if (request.json && resolved_path(*request.json) == resolved_path(*request.html))
      throw Error(ExitCode::kUsage, "--json and --html name the same file, " + request.html->string());
  }
  ReportOptions options;
  // The campaign's own record says what its faults hit; options given for other files must
  // not contradict it.
  const auto provenance = read_provenance(request.results);
  const auto contradiction = [&](const char* option, const std::string& given, const std::string& recorded) {
    if (given != recorded)
      throw Error(ExitCode::kUsage, fmt::format("{} {}: {} is a campaign of {} {} (its provenance {}); "
                                                "drop {} or give {}",
                                                option, given, request.results.string(), option, recorded,
                                                provenance_path(request.results).string(), option, recorded));
  };
  if (provenance && request.format)
    contradiction("--format", std::string(to_string(*request.format)), provenance->format);
  if (provenance && request.target)
    contradiction("--target", std::string(to_string(*request.target)), provenance->target);
  if (provenance && request.burst)
    contradiction("--burst", std::to_string(*request.burst), std::to_string(provenance->burst));
  options.format = request.format.value_or(
      provenance ? parse_word_format(provenance->format).value_or(WordFormat::kFp32) : WordFormat::kFp32);
  options.target = request.target.value_or(
      provenance ? parse_fault_target(provenance->target).value_or(FaultTarget::kWeights)
                 : FaultTarget::kWeights);
  if (provenance && request.bits) {
    const auto in_word = [&](BitMask bits) { return BitMask(bits.word() & all_bits(options.format).word()); };
    const auto recorded =
        provenance->bits.empty() ? all_bits(options.format) : in_word(parse_bits_option(provenance->bits));
    contradiction("--bits", format_bit_ranges(in_word(*request.bits)), format_bit_ranges(recorded));
  }
  if (request.bits)
    options.bits = *request.bits;
  else if (provenance && !provenance->bits.empty())
    options.bits = parse_bits_option(provenance->bits);
  options.burst = request.burst.value_or(provenance ? provenance->burst : 1);
  if (request.model) {
    // The population and the strata are what the campaign's faults were drawn from: the
    // model's weights, or with activation targets its layers' outputs (of the parameters the
    // campaign recorded).
    auto model = *request.model;
    if (provenance && provenance->params == "all") model.params = ParamSelection::kAll;
    const auto work = resolve_workload(model);
    const bool zoo_campaign = provenance && provenance->dataset.size() > 6 &&
                              provenance->dataset.compare(provenance->dataset.size() - 6, 6, " (zoo)") == 0;
    if (zoo_campaign && !model.model_file && provenance->model != work.label)
      throw Error(ExitCode::kUsage, "-n/-d " + work.label + ": " + request.results.string() +
                                        " is a campaign of " + provenance->model +
                                        " (its provenance); give -n/-d " + "of that model");
    options.layers = fault_targets(work, FaultSpace{options.format, options.target});
  }
  if (provenance && !provenance->design.empty())
    options.design = parse_design(provenance->design, provenance->design_strata, provenance->design_members,
                                  provenance_path(request.results).string());
  const auto rows = read_rows(request.results);
  ReportOutcome outcome{make_report(rows, request.results.string(), options), std::nullopt};
  // Per-image outcomes beside the results (run --per-image), checked against its rows.
  const auto per_image = per_image_path(request.results);
  if (is_per_image_file(per_image)) {
    const auto file = read_per_image(per_image);
    check_per_image(file, rows, per_image, request.results);
    outcome.report.per_image =
        per_image_findings(file, static_cast<std::int64_t>(rows.size()), per_image.string());
  } else if (provenance && !provenance->per_image.empty()) {
    spdlog::warn("{}: its per-image outcomes ({}) are not beside it; the report leaves them out",
                 request.results.string(), per_image.string());
  }
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
    // The page's folder is made as --json's is; a folder that cannot be made is said as such.
    if (request.html->has_parent_path()) {
      std::error_code made;
      std::filesystem::create_directories(request.html->parent_path(), made);
      if (made)
        throw ResourceError(request.html->string() + ": its folder cannot be made (" + made.message() + ")");
    }
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
                         std::int64_t max_critical_diff, const std::optional<std::filesystem::path>& json) {
  if (json) check_output(*json, OutputKind::kReportJson, {a, b}, "--json");
  if (max_critical_diff < 0)
    throw Error(ExitCode::kUsage,
                "--max-critical-diff must be 0 or more, got " + std::to_string(max_critical_diff));
  // Bit b of one word format is another fault than bit b of another (an fp16 exponent bit is an
  // fp32 mantissa bit), and a weight is not an activation: only campaigns of one kind pair up.
  const auto space = [](const std::filesystem::path& file) {
    const auto p = read_provenance(file);
    return p ? p->format + " " + p->target : std::string("fp32 weights");
  };
  if (space(a) != space(b))
    throw InputError(a.string() + " holds faults of " + space(a) + " and " + b.string() + " of " + space(b) +
                     " (their provenance; a file without one: fp32 weights): the same Layer, TensorIndex and "
                     "Bit are different faults there; compare campaigns of one format and target");
  auto comparison = compare_results(read_rows(a), a.string(), read_rows(b), b.string(), max_critical_diff);
  if (comparison.common == 0)
    throw InputError("no fault of " + a.string() + " is in " + b.string() +
                     " with the same fault model and image count; nothing to compare");
  if (json) replace_file(*json, comparison_json(comparison));
  return comparison;
}

}  // namespace dnnfi
