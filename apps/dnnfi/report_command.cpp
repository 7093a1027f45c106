#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "dnnfi/errors.hpp"
#include "options.hpp"

namespace dnnfi::cli {

void setup_report(CLI::App& app) {
  struct Options {
    ReportRequest request;
    ModelOptions model;
    std::string results, json, html, reference;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("report", "findings of a results file: per layer and per bit, with intervals");
  cmd->add_option("results", opts->results, "results CSV (dnnfi's, or a published list with results)")
      ->required();
  auto* name = cmd->add_option("-n,--name", opts->model.name,
                               "zoo model the results are of: layers in network order, its fault population");
  cmd->add_option("-d,--dataset", opts->model.dataset, "its dataset")->capture_default_str();
  cmd->add_option("--json", opts->json, "write the report as JSON");
  cmd->add_option("--html", opts->html, "write a self-contained HTML page with charts (python3-matplotlib)");
  cmd->add_option("--reference", opts->reference, "compare with this results file (e.g. the published list)");
  cmd->add_option("--max-critical-diff", opts->request.max_critical_diff,
                  "critical-count difference tolerated against --reference")
      ->capture_default_str();
  cmd->add_option_function<std::string>(
         "--format", [opts](const std::string& v) { opts->request.format = parse_word_format(v); },
         "the word the faults hit: " + one_of(word_format_names()) +
             " (default: the results' provenance, else fp32): per-bit fields and population")
      ->check(CLI::IsMember(word_format_names()));
  cmd->add_option_function<std::string>(
         "--target", [opts](const std::string& v) { opts->request.target = parse_fault_target(v); },
         "what the faults hit: " + one_of(fault_target_names()) +
             " (default: the results' provenance, else weights)")
      ->check(CLI::IsMember(fault_target_names()));
  cmd->add_option_function<std::string>(
      "--bits", [opts](const std::string& v) { opts->request.bits = parse_bits_option(v); },
      "the bits the list was drawn from, e.g. 23-30 (default: the provenance's, else every bit): the "
      "population");
  cmd->add_option_function<std::string>(
      "--burst",
      [opts](const std::string& v) {
        opts->request.burst = static_cast<int>(parse_count("--burst", v, 1, 32));
      },
      "adjacent bits per fault the list was drawn with (default: the provenance's, else 1)");
  cmd->callback([opts, name] {
    auto& r = opts->request;
    r.results = opts->results;
    if (name->count() > 0) r.model = opts->model;
    if (!opts->json.empty()) r.json = opts->json;
    if (!opts->html.empty()) r.html = opts->html;
    if (!opts->reference.empty()) r.reference = opts->reference;
    const auto outcome = report_results(r);
    fmt::print("{}", report_text(outcome.report));
    if (outcome.comparison) fmt::print("\nagainst the reference\n{}", comparison_text(*outcome.comparison));
  });
}

void setup_compare(CLI::App& app) {
  struct Options {
    std::string a, b, json;
    std::int64_t max_critical_diff = 2;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("compare", "two results files fault by fault; exit 1 past --max-critical-diff");
  cmd->add_option("a", opts->a, "results CSV")->required();
  cmd->add_option("b", opts->b, "results CSV to compare with (e.g. the published list)")->required();
  cmd->add_option("--max-critical-diff", opts->max_critical_diff, "largest critical-count difference allowed")
      ->capture_default_str();
  cmd->add_option("--json", opts->json, "write the comparison as JSON");
  cmd->callback([opts] {
    std::optional<std::filesystem::path> json;
    if (!opts->json.empty()) json = opts->json;
    const auto c = compare_files(opts->a, opts->b, opts->max_critical_diff, json);
    fmt::print("{}", comparison_text(c));
    if (!c.within_limit()) {
      fmt::print("critical counts differ by more than {} (largest {})\n", c.max_critical_diff,
                 c.largest_critical_diff);
      throw Error(ExitCode::kFailure, "the two campaigns disagree beyond --max-critical-diff");
    }
  });
}

}  // namespace dnnfi::cli
