#pragma once
// Which faults a campaign runs next, given what it has seen, and when it stops: the home of every
// sampling strategy. A new one is one class behind this interface and its options; the execution
// (execute.hpp) asks it for rounds and tells it every finished fault.
#include <memory>
#include <optional>
#include <vector>

#include "dnnfi/campaign.hpp"
#include "dnnfi/fault.hpp"
#include "dnnfi/provenance.hpp"
#include "dnnfi/results.hpp"
#include "plan.hpp"
#include "strata.hpp"

namespace dnnfi {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The faults to add to the campaign now (a round), given every row observed so far; empty when
  // the campaign is done: all its faults drawn, its stopping rule met, or its pool spent.
  virtual std::vector<Fault> next() = 0;
  // A finished fault of the campaign: run now, or found in the results file. Each drawn fault is
  // observed once.
  virtual void observe(const ResultRow& row) = 0;
  // A campaign of every fault of a list ends with its rows in the list's order (a resume that was
  // not a plain continuation is put in order); a sampled one keeps its drawing order.
  virtual bool puts_in_order() const { return false; }
  // Where it stopped, for the summary (samplers with a stopping rule).
  virtual std::optional<IterativeStatus> status() const { return std::nullopt; }
  // Its design, strata and the stratum of every fault drawn so far, for reports (provenance.hpp).
  virtual void describe(Provenance&) const {}
};

// Every fault of `faults`, in one round (a campaign's list after --sample and --shard).
std::unique_ptr<Sampler> whole_list(std::vector<Fault> faults);

// Today's iterative campaign (--margin, IterativeOptions): layers as strata, proportional
// allocation in rounds of 1% of the list (at least 50), each layer's faults in an order shuffled
// by the seed, until the stratified estimate's interval (and with per_layer each layer's) has a
// half-width of at most the margin, or the list runs out. `layers` are the strata (their weights:
// their shares of the model's elements); every fault of `list` is of one of them.
std::unique_ptr<Sampler> layer_rounds(const std::vector<Fault>& list, const std::vector<Layer>& layers,
                                      const IterativeOptions& options);

// Stratified adaptive rounds (IterativeOptions): a pilot per stratum of `pool`, then Neyman (or
// proportional) allocation of what the margin still needs, until the interval of the estimand's
// stratified estimate has a half-width of at most the margin, or the pool runs out.
std::unique_ptr<Sampler> stratified_rounds(std::unique_ptr<FaultPool> pool, const IterativeOptions& options);

// The one place that chooses: the plan's iterative options make layer rounds over `targets` or
// stratified rounds over the plan's list or population (`values`: the weights' values, for
// data-aware strata), else the whole list of the plan's part.
std::unique_ptr<Sampler> make_sampler(const CampaignPlan& plan, const std::vector<Layer>& targets,
                                      const FaultValues* values = nullptr);

}  // namespace dnnfi
