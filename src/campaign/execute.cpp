// The execution of a planned campaign (execute.hpp).
#include "execute.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>

namespace dnnfi {

CampaignSummary execute(const CampaignPlan& plan, const Provenance& provenance, Engine& engine,
                        ResultsStore& store, Sampler& sampler, const CampaignControls& controls) {
  CampaignSummary summary;
  summary.images = plan.images;
  store.begin(provenance);
  const auto stopped = [&] { return controls.stop != nullptr && controls.stop->load(); };
  std::vector<Fault> campaign;  // every fault drawn so far, in drawing order
  bool interrupted = false;
  for (std::size_t round = 0; !interrupted; ++round) {
    const auto fresh = sampler.next();
    if (fresh.empty()) break;
    // A stratified design is on record before the round runs: every row has its stratum there.
    auto described = provenance;
    sampler.describe(described);
    if (!described.design.empty()) store.update(described);
    // Faults the file holds are taken from it (a resumed campaign draws what an uninterrupted
    // one would have); the rest run.
    std::vector<Fault> todo;
    std::size_t found = 0;
    for (const auto& fault : fresh) {
      campaign.push_back(fault);
      if (const auto* row = store.find(fault.injection)) {
        sampler.observe(*row);
        summary.totals += row->counts;
        ++found;
      } else {
        todo.push_back(fault);
      }
    }
    summary.resumed += found;
    if (round == 0 && found > 0)
      spdlog::info("{}: resuming, {} of {} faults already done", store.path().string(), found, fresh.size());
    if (controls.observer) controls.observer->started(campaign.size(), campaign.size() - todo.size());
    const auto start = std::chrono::steady_clock::now();
    std::size_t ran = 0;
    if (!todo.empty())
      engine.run(todo, [&](std::size_t i, const Counts& counts) {
        const ResultRow row{todo[i], counts, plan.rule};
        store.append(row);
        sampler.observe(row);
        summary.totals += tally_of(counts);
        ++ran;
        ++summary.ran;
        if (controls.test_signal_after_rows > 0 && summary.ran == controls.test_signal_after_rows)
          std::raise(controls.test_signal);
        if (controls.observer) controls.observer->advanced(summary.resumed + summary.ran, summary.totals);
        return !stopped();
      });
    if (controls.observer) controls.observer->finished();
    summary.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    interrupted = ran < todo.size();  // stopped (Ctrl-C): the same command resumes it
  }
  summary.faults = campaign.size();
  summary.macs = engine.executed_macs();
  summary.iterative = sampler.status();
  if (summary.complete() && summary.resumed > 0 && sampler.puts_in_order()) store.finish_in_order(campaign);
  return summary;
}

}  // namespace dnnfi
