#include "dnnfi/campaign.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "dnnfi/errors.hpp"
#include "progress.hpp"

namespace dnnfi {

std::vector<Fault> shard(const std::vector<Fault>& faults, std::size_t k, std::size_t n) {
  if (n == 0 || k >= n) throw Error(ExitCode::kUsage, "shard K/N needs 0 <= K < N");
  std::vector<Fault> part;
  for (std::size_t i = k; i < faults.size(); i += n) part.push_back(faults[i]);
  return part;
}

CampaignSummary run_fault_loop(const std::vector<Fault>& faults, FaultRunner& runner, const LoopOptions& options) {
  CampaignSummary summary;
  summary.faults = faults.size();
  summary.images = options.images;

  std::map<std::int64_t, const Fault*> by_injection;
  for (const auto& f : faults) by_injection[f.injection] = &f;

  std::vector<ResultRow> existing;
  ResultsFile results(options.output, &existing);
  std::map<std::int64_t, bool> done;
  long line_no = 1;
  for (const auto& row : existing) {
    ++line_no;
    auto it = by_injection.find(row.fault.injection);
    const Fault* planned = it == by_injection.end() ? nullptr : it->second;
    const auto where = options.output.string();
    if (planned == nullptr || planned->layer != row.fault.layer || planned->index != row.fault.index ||
        planned->bit != row.fault.bit || planned->model.value_or(options.default_model) != row.model)
      throw InputError(where, line_no, "Injection " + std::to_string(row.fault.injection) +
                                           " does not match this campaign's fault list (another list, shard or "
                                           "fault model?); use another -o to start a new campaign");
    if (row.counts.injections != options.images)
      throw InputError(where, line_no, "row was computed over " + std::to_string(row.counts.injections) +
                                           " images, this campaign runs " + std::to_string(options.images) +
                                           "; use another -o or the same --images");
    if (done.emplace(row.fault.injection, true).second) {
      summary.totals += row.counts;
      ++summary.resumed;
    }
  }
  std::vector<Fault> todo;
  for (const auto& f : faults)
    if (!done.count(f.injection)) todo.push_back(f);
  if (summary.resumed > 0) {
    spdlog::info("{}: resuming, {} of {} faults already done", options.output.string(), summary.resumed,
                 summary.faults);
    if (options.on_resume) options.on_resume(summary.resumed);
  }

  ProgressBar progress(summary.faults, summary.resumed, options.progress);
  const auto start = std::chrono::steady_clock::now();
  if (!todo.empty()) runner.run(todo, options.default_model, [&](std::size_t i, const Counts& counts) {
    results.append(ResultRow{todo[i], todo[i].model.value_or(options.default_model), counts});
    summary.totals += counts;
    ++summary.ran;
    progress.update(summary.resumed + summary.ran, summary.totals.critical, summary.totals.injections);
    return options.stop == nullptr || !options.stop->load();
  });
  progress.finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace dnnfi
