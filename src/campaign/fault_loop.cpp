#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <set>

#include "dnnfi/campaign.hpp"
#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

// The rows of an existing results file that belong to this campaign; anything else is refused
// before the file is touched.
// `faults`: every fault the file may hold.
std::vector<ResultRow> resumable_rows(const std::vector<Fault>& faults, ResultsReader& reader,
                                      const LoopOptions& options) {
  const auto where = options.output.string();
  if (reader.has_header() && !reader.dnnfi_format())
    throw InputError(where, 1,
                     "not a dnnfi results file (it lacks dnnfi's columns " + std::string(kResultsHeader) +
                         "); choose another -o");
  std::map<std::int64_t, const Fault*> by_injection;
  for (const auto& f : faults) by_injection[f.injection] = &f;
  std::vector<ResultRow> kept;
  std::map<std::int64_t, long> line_of;
  for (ResultRow row; reader.next(row);) {
    if (const auto [at, fresh] = line_of.emplace(row.fault.injection, reader.line()); !fresh)
      throw InputError(where, reader.line(),
                       "Injection " + std::to_string(row.fault.injection) + " is already on line " +
                           std::to_string(at->second) +
                           "; keep one of the two rows (the file is left as it is)");
    const auto planned = by_injection.find(row.fault.injection);
    if (planned == by_injection.end() || !planned->second->same_site(row.fault))
      throw InputError(
          where, reader.line(),
          "Injection " + std::to_string(row.fault.injection) +
              " does not match this campaign's fault list (another list, shard or fault model?); use "
              "another -o to start a new campaign");
    if (row.counts.injections != options.images)
      throw InputError(where, reader.line(),
                       "row was computed over " + std::to_string(row.counts.injections) +
                           " images, this campaign runs " + std::to_string(options.images) +
                           "; use another -o or the same --images");
    if (row.rule != options.rule)
      throw InputError(where, reader.line(),
                       "row was classified with --non-finite " + std::string(to_string(row.rule)) +
                           ", this campaign uses " + std::string(to_string(options.rule)) +
                           "; use another -o or the same --non-finite");
    kept.push_back(std::move(row));
  }
  return kept;
}

// A campaign completed by a resume that was not a plain continuation (a partial merge, a file
// whose rows were reordered) ends with its rows in the campaign's order, so every complete file
// of one campaign is the same, byte for byte. Rewritten atomically; nothing else changes.
void put_in_order(const std::filesystem::path& path, const std::vector<Fault>& faults) {
  std::map<std::int64_t, std::size_t> position;
  for (std::size_t i = 0; i < faults.size(); ++i) position.emplace(faults[i].injection, i);
  auto rows = ResultsReader(path).read_all();
  auto at = [&](const ResultRow& row) { return position.at(row.fault.injection); };
  if (std::is_sorted(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return at(a) < at(b); }))
    return;
  std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return at(a) < at(b); });
  replace_results(path, rows);
  spdlog::info("{}: rows put in the campaign's order", path.string());
}

}  // namespace

std::size_t check_existing_rows(const std::vector<Fault>& allowed, const LoopOptions& options) {
  if (!std::filesystem::exists(options.output)) return 0;
  ResultsReader reader(options.output);
  return resumable_rows(allowed, reader, options).size();
}

CampaignSummary run_fault_loop(const std::vector<Fault>& faults, Engine& engine, const LoopOptions& options) {
  CampaignSummary summary;
  summary.faults = faults.size();
  summary.images = options.images;

  std::optional<ResultsReader> existing;
  if (std::filesystem::exists(options.output)) existing.emplace(options.output);
  std::map<std::int64_t, bool> done;
  if (existing) {
    std::set<std::int64_t> planned;
    for (const auto& f : faults) planned.insert(f.injection);
    for (const auto& row : resumable_rows(options.allowed ? *options.allowed : faults, *existing, options)) {
      if (planned.count(row.fault.injection) && done.emplace(row.fault.injection, true).second) {
        summary.totals += row.counts;
        ++summary.resumed;
      }
    }
    if (existing->torn_bytes() > 0)
      spdlog::warn("{}: dropping a torn last line ({} bytes); that fault runs again", options.output.string(),
                   existing->torn_bytes());
  }
  if (options.on_checked) options.on_checked();
  std::optional<ResultsWriter> results;
  if (existing)
    results.emplace(ResultsWriter::resume(options.output, *existing));
  else
    results.emplace(ResultsWriter::create(options.output));

  std::vector<Fault> todo;
  for (const auto& f : faults)
    if (!done.count(f.injection)) todo.push_back(f);
  if (summary.resumed > 0 && options.log_resume)
    spdlog::info("{}: resuming, {} of {} faults already done", options.output.string(), summary.resumed,
                 summary.faults);

  if (options.observer) options.observer->started(summary.faults, summary.resumed);
  const auto start = std::chrono::steady_clock::now();
  if (!todo.empty())
    engine.run(todo, [&](std::size_t i, const Counts& counts) {
      results->append(ResultRow{todo[i], counts, options.rule});
      summary.totals += counts;
      ++summary.ran;
      if (options.test_signal_after_rows > 0 && summary.ran == options.test_signal_after_rows)
        std::raise(options.test_signal);
      if (options.observer) options.observer->advanced(summary.resumed + summary.ran, summary.totals);
      return options.stop == nullptr || !options.stop->load();
    });
  if (options.observer) options.observer->finished();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.macs = engine.executed_macs();
  results.reset();
  if (summary.complete() && summary.resumed > 0 && options.allowed == nullptr)
    put_in_order(options.output, faults);
  return summary;
}

}  // namespace dnnfi
