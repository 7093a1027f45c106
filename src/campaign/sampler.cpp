// The samplers (sampler.hpp): the whole list, and layers as strata in rounds.
#include "sampler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "dnnfi/errors.hpp"
#include "dnnfi/word_format.hpp"
#include "fault_lists/random.hpp"

namespace dnnfi {
namespace {

class WholeList final : public Sampler {
 public:
  explicit WholeList(std::vector<Fault> faults) : faults_(std::move(faults)) {}
  std::vector<Fault> next() override { return std::exchange(faults_, {}); }
  void observe(const ResultRow&) override {}
  bool puts_in_order() const override { return true; }

 private:
  std::vector<Fault> faults_;  // until drawn
};

class LayerRounds final : public Sampler {
 public:
  LayerRounds(const std::vector<Fault>& list, const std::vector<Layer>& layers,
              const IterativeOptions& options)
      : options_(options), z_(normal_quantile(options.confidence)) {
    for (const auto& layer : layers) {
      index_.emplace(layer.name, strata_.size());
      strata_.push_back(Stratum{layer.name, static_cast<double>(layer.numel()),
                                population({layer}, options.format, options.bits, options.burst), 0, 0});
    }
    order_.resize(strata_.size());
    for (const auto& f : list) {
      const auto it = index_.find(f.layer);
      if (it == index_.end())
        throw InputError("fault " + std::to_string(f.injection) + ": no layer " + f.layer);
      order_[it->second].push_back(f);
    }
    // Layers without faults in the list cannot be estimated: the model's rate is that of the
    // layers the list covers, their weights renormalized.
    double covered = 0;
    for (std::size_t s = 0; s < strata_.size(); ++s)
      if (!order_[s].empty()) covered += strata_[s].weight;
    for (std::size_t s = 0; s < strata_.size(); ++s) {
      if (order_[s].empty()) {
        spdlog::warn("layer {} has no fault in the list: the estimate leaves it out", strata_[s].name);
        strata_[s].weight = 0;
      } else {
        strata_[s].weight /= covered;
      }
    }
    std::mt19937_64 rng(options.seed);
    for (auto& faults : order_) shuffle(faults, rng);
    taken_.assign(strata_.size(), 0);
    round_ = options.round > 0 ? options.round : std::max<std::size_t>(50, (list.size() + 99) / 100);
    status_.target = options.margin;
    status_.confidence = options.confidence;
    status_.per_layer = options.per_layer;
    status_.list_faults = list.size();
  }

  void observe(const ResultRow& row) override {
    auto& s = strata_[index_.at(row.fault.layer)];
    ++s.drawn;
    s.critical += row.counts.critical > 0;
  }

  std::vector<Fault> next() override {
    auto& status = status_;
    status.estimate = stratified_estimate(strata_, z_);
    status.worst_layer_margin = 0;
    std::vector<bool> layer_met(strata_.size(), true);
    for (std::size_t s = 0; s < strata_.size(); ++s) {
      if (strata_[s].weight == 0) continue;
      const double m = strata_[s].drawn ? layer_margin(strata_[s]) : 1.0;
      status.worst_layer_margin = std::max(status.worst_layer_margin, m);
      layer_met[s] = m <= options_.margin;
    }
    const bool global_met =
        status.estimate.drawn > 0 && status.estimate.interval.half_width() <= options_.margin;
    status.met = global_met && (!options_.per_layer || std::all_of(layer_met.begin(), layer_met.end(),
                                                                   [](bool met) { return met; }));
    status.strata = strata_;
    if (status.rounds > 0 || drawn_ > 0)
      spdlog::info(
          "round {}: {} faults, critical-fault rate {:.2f}% +- {:.2f}% (target {:.2f}%){}", status.rounds,
          status.estimate.drawn, 100 * status.estimate.rate, 100 * status.estimate.interval.half_width(),
          100 * options_.margin,
          options_.per_layer ? fmt::format(", worst layer +- {:.2f}%", 100 * status.worst_layer_margin) : "");
    if (status.met) return {};

    // The next round. Until the model's margin is met: proportional allocation of the grown
    // total over every layer (each at least one fault). After that, with --per-layer: a round's
    // worth spread over the layers whose own margin is not met yet.
    std::vector<std::size_t> want(strata_.size(), 0);
    if (!global_met) {
      const double total = static_cast<double>(drawn_ + round_);
      for (std::size_t s = 0; s < strata_.size(); ++s)
        if (strata_[s].weight > 0)
          want[s] = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(strata_[s].weight * total)));
    } else {
      double open = 0;
      for (std::size_t s = 0; s < strata_.size(); ++s)
        if (!layer_met[s] && taken_[s] < order_[s].size()) open += strata_[s].weight;
      for (std::size_t s = 0; s < strata_.size(); ++s)
        if (!layer_met[s] && taken_[s] < order_[s].size())
          want[s] = taken_[s] +
                    std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(
                                                 strata_[s].weight / open * static_cast<double>(round_))));
    }
    std::vector<Fault> fresh;
    for (std::size_t s = 0; s < strata_.size(); ++s)
      for (; taken_[s] < std::min(want[s], order_[s].size()); ++taken_[s])
        fresh.push_back(order_[s][taken_[s]]);
    if (fresh.empty()) {
      spdlog::warn("the list has no more faults to draw: the margin {:.2f}% is not met",
                   100 * options_.margin);
      return {};
    }
    drawn_ += fresh.size();
    ++status.rounds;
    return fresh;
  }

  std::optional<IterativeStatus> status() const override { return status_; }

 private:
  double layer_margin(const Stratum& s) const {
    return wilson_interval(static_cast<double>(s.critical), static_cast<double>(s.drawn), z_, s.population)
        .half_width();
  }

  IterativeOptions options_;
  double z_;
  std::vector<Stratum> strata_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::vector<Fault>> order_;  // [stratum] the list's faults in drawing order
  std::vector<std::size_t> taken_;         // [stratum] how many of them are drawn
  std::size_t round_ = 0;
  std::size_t drawn_ = 0;
  IterativeStatus status_;
};

}  // namespace

std::unique_ptr<Sampler> whole_list(std::vector<Fault> faults) {
  return std::make_unique<WholeList>(std::move(faults));
}

std::unique_ptr<Sampler> layer_rounds(const std::vector<Fault>& list, const std::vector<Layer>& layers,
                                      const IterativeOptions& options) {
  return std::make_unique<LayerRounds>(list, layers, options);
}

std::unique_ptr<Sampler> make_sampler(const CampaignPlan& plan, const std::vector<Layer>& targets) {
  if (plan.iterative) return layer_rounds(plan.faults.faults, targets, *plan.iterative);
  return whole_list(plan.faults.faults);
}

}  // namespace dnnfi
