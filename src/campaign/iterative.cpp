// Iterative statistical fault injection (campaign.hpp, run_iterative).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "dnnfi/campaign.hpp"
#include "dnnfi/errors.hpp"
#include "fault_lists/random.hpp"

namespace dnnfi {
namespace {

struct Layerwise {
  std::vector<Stratum> strata;
  std::vector<std::vector<Fault>> order;  // [stratum] the list's faults in drawing order
  std::vector<std::size_t> taken;         // [stratum] how many of them are drawn
};

Layerwise stratify(const std::vector<Fault>& list, const std::vector<Layer>& layers,
                   const IterativeOptions& options) {
  std::map<std::string, std::size_t> index;
  Layerwise w;
  for (const auto& layer : layers) {
    index.emplace(layer.name, w.strata.size());
    w.strata.push_back(Stratum{layer.name, static_cast<double>(layer.numel()),
                               population({layer}, options.format, options.bits, options.burst), 0, 0});
  }
  w.order.resize(w.strata.size());
  for (const auto& f : list) {
    const auto it = index.find(f.layer);
    if (it == index.end()) throw InputError("fault " + std::to_string(f.injection) + ": no layer " + f.layer);
    w.order[it->second].push_back(f);
  }
  // Layers without faults in the list cannot be estimated: the model's rate is that of the
  // layers the list covers, their weights renormalized.
  double covered = 0;
  for (std::size_t s = 0; s < w.strata.size(); ++s)
    if (!w.order[s].empty()) covered += w.strata[s].weight;
  for (std::size_t s = 0; s < w.strata.size(); ++s) {
    if (w.order[s].empty()) {
      spdlog::warn("layer {} has no fault in the list: the estimate leaves it out", w.strata[s].name);
      w.strata[s].weight = 0;
    } else {
      w.strata[s].weight /= covered;
    }
  }
  std::mt19937_64 rng(options.seed);
  for (auto& faults : w.order) shuffle(faults, rng);
  w.taken.assign(w.strata.size(), 0);
  return w;
}

double layer_margin(const Stratum& s, double z) {
  return wilson_interval(static_cast<double>(s.critical), static_cast<double>(s.drawn), z, s.population)
      .half_width();
}

}  // namespace

CampaignSummary run_iterative(const std::vector<Fault>& list, const std::vector<Layer>& layers,
                              Engine& engine, const LoopOptions& loop, const IterativeOptions& options) {
  if (!(options.margin > 0 && options.margin < 0.5))
    throw Error(ExitCode::kUsage, "--margin must be between 0 and 0.5 (0.01: one percentage point), got " +
                                      std::to_string(options.margin));
  if (!(options.confidence > 0 && options.confidence < 1))
    throw Error(ExitCode::kUsage,
                "--confidence must be between 0 and 1, got " + std::to_string(options.confidence));
  const double z = normal_quantile(options.confidence);
  auto w = stratify(list, layers, options);
  const std::size_t round =
      options.round > 0 ? options.round : std::max<std::size_t>(50, (list.size() + 99) / 100);

  std::vector<Fault> drawn;
  std::set<std::int64_t> drawn_set;
  IterativeStatus status;
  status.target = options.margin;
  status.confidence = options.confidence;
  status.per_layer = options.per_layer;
  status.list_faults = list.size();
  CampaignSummary summary;
  std::size_t ran = 0;  // over all rounds
  double seconds = 0;
  for (;;) {
    // Measure what is drawn so far (the rows in the file).
    for (auto& s : w.strata) s.drawn = s.critical = 0;
    std::map<std::string, std::size_t> stratum_of;
    for (std::size_t s = 0; s < w.strata.size(); ++s) stratum_of.emplace(w.strata[s].name, s);
    if (std::filesystem::exists(loop.output)) {
      ResultsReader reader(loop.output);
      for (ResultRow row; reader.next(row);) {
        if (!drawn_set.count(row.fault.injection)) continue;  // a later round's, when resuming
        const auto it = stratum_of.find(row.fault.layer);
        if (it == stratum_of.end())
          throw InputError(loop.output.string(), reader.line(),
                           "layer '" + row.fault.layer + "' is not a layer of this model; use another -o");
        auto& s = w.strata[it->second];
        ++s.drawn;
        s.critical += row.counts.critical > 0;
      }
    }
    status.estimate = stratified_estimate(w.strata, z);
    status.worst_layer_margin = 0;
    std::vector<bool> layer_met(w.strata.size(), true);
    for (std::size_t s = 0; s < w.strata.size(); ++s) {
      if (w.strata[s].weight == 0) continue;
      const double m = w.strata[s].drawn ? layer_margin(w.strata[s], z) : 1.0;
      status.worst_layer_margin = std::max(status.worst_layer_margin, m);
      layer_met[s] = m <= options.margin;
    }
    const bool global_met =
        status.estimate.drawn > 0 && status.estimate.interval.half_width() <= options.margin;
    status.met = global_met && (!options.per_layer || std::all_of(layer_met.begin(), layer_met.end(),
                                                                  [](bool met) { return met; }));
    if (status.rounds > 0 || !drawn.empty())
      spdlog::info(
          "round {}: {} faults, critical-fault rate {:.2f}% +- {:.2f}% (target {:.2f}%){}", status.rounds,
          status.estimate.drawn, 100 * status.estimate.rate, 100 * status.estimate.interval.half_width(),
          100 * options.margin,
          options.per_layer ? fmt::format(", worst layer +- {:.2f}%", 100 * status.worst_layer_margin) : "");
    if (status.met) break;

    // The next round. Until the model's margin is met: proportional allocation of the grown
    // total over every layer (each at least one fault). After that, with --per-layer: a round's
    // worth spread over the layers whose own margin is not met yet.
    std::vector<std::size_t> want(w.strata.size(), 0);
    if (!global_met) {
      const double total = static_cast<double>(drawn.size() + round);
      for (std::size_t s = 0; s < w.strata.size(); ++s)
        if (w.strata[s].weight > 0)
          want[s] = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(w.strata[s].weight * total)));
    } else {
      double open = 0;
      for (std::size_t s = 0; s < w.strata.size(); ++s)
        if (!layer_met[s] && w.taken[s] < w.order[s].size()) open += w.strata[s].weight;
      for (std::size_t s = 0; s < w.strata.size(); ++s)
        if (!layer_met[s] && w.taken[s] < w.order[s].size())
          want[s] = w.taken[s] +
                    std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(w.strata[s].weight / open *
                                                                                static_cast<double>(round))));
    }
    std::size_t added = 0;
    for (std::size_t s = 0; s < w.strata.size(); ++s)
      for (; w.taken[s] < std::min(want[s], w.order[s].size()); ++added) {
        drawn.push_back(w.order[s][w.taken[s]++]);
        drawn_set.insert(drawn.back().injection);
      }
    if (added == 0) {
      spdlog::warn("the list has no more faults to draw: the margin {:.2f}% is not met",
                   100 * options.margin);
      break;
    }
    ++status.rounds;
    LoopOptions round_loop = loop;
    round_loop.log_resume = status.rounds == 1;  // later rounds resume the earlier ones, as planned
    round_loop.allowed = &list;
    summary = run_fault_loop(drawn, engine, round_loop);
    ran += summary.ran;
    seconds += summary.seconds;
    if (!summary.complete()) break;  // stopped (Ctrl-C): resume later
  }
  if (summary.faults == 0) {  // nothing drawn: the totals of the file
    LoopOptions check = loop;
    check.allowed = &list;
    summary = run_fault_loop(drawn, engine, check);
  }
  // The campaign's figures over every round: rows found at the start, rows computed now.
  const std::size_t rows = summary.resumed + summary.ran;
  summary.ran = ran;
  summary.resumed = rows - ran;
  summary.seconds = seconds;
  status.strata = w.strata;
  summary.iterative = status;
  return summary;
}

}  // namespace dnnfi
