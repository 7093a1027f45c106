#pragma once
// The statistics of fault-injection samples: intervals of proportions that hold near 0 and 1,
// stratified estimates and their effective sample size, and the margin a sample achieves.
// Reports, iterative campaigns and their samplers all count with these.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/names.hpp"

namespace dnnfi {

// z of a two-sided 99% normal interval.
inline constexpr double kZ99 = 2.5758293035489004;

// Wilson score interval of a proportion `successes` / `trials` at normal quantile `z`; with
// `population` > 0 the sampling variance carries the finite-population correction
// (N - n) / (N - 1). Valid near 0 and 1, unlike the normal approximation.
struct Interval {
  double low = 0, high = 0;
  double half_width() const { return (high - low) / 2; }
};
Interval wilson_interval(double successes, double trials, double z, double population = 0);

// z of a two-sided normal interval at `confidence` (0.99 -> 2.5758).
double normal_quantile(double confidence);

// One stratum (a layer) of a stratified sample: its weight in the population (its share of the
// model's weights), its population size, the faults drawn and how many were critical.
struct Stratum {
  std::string name;
  double weight = 0;
  double population = 0;
  std::int64_t drawn = 0, critical = 0;
};
// The stratified estimate of the whole population's rate, sum of weight x rate, and its interval:
// Wilson's at the effective sample size p(1-p)/variance (Kish), the variance carrying each
// stratum's finite-population correction; strata without draws are left out.
struct StratifiedEstimate {
  double rate = 0;
  Interval interval;
  std::int64_t drawn = 0;
};
StratifiedEstimate stratified_estimate(const std::vector<Stratum>& strata, double z);

// The margin of error a sample of n faults achieves for a population of N (the DATE 2009 sample
// size formula solved for e, worst case p = 0.5, t = 2.58 as the seed's lists were sized);
// N = 0: an unbounded population.
double achieved_margin(double n, double population, double t = 2.58, double p = 0.5);

// The two rates a campaign estimates. The per-fault critical rate: the share of faults that make
// at least one image critical (each fault's value 0 or 1). The per-inference SDC-1 rate: the mean
// over faults of critical / n_injections, what the iterative-SFI literature estimates (each
// fault's value in 0..1).
enum class Estimand { kFaults, kInferences };
inline constexpr Named<Estimand> kEstimandNames[] = {{Estimand::kFaults, "faults"},
                                                     {Estimand::kInferences, "inferences"}};

// One stratum of a stratified sample: its population N_h, the faults drawn from it, and the sum
// and sum of squares of their values. `exact`: every fault of the stratum is known to be 0 (a
// fault that leaves its word unchanged is masked on every image), so nothing is drawn from it.
struct StratumSample {
  std::string name;
  double population = 0;
  std::int64_t drawn = 0;
  double sum = 0, sum_squares = 0;
  bool exact = false;
  void add(double value) {
    ++drawn;
    sum += value;
    sum_squares += value * value;
  }
  double mean() const { return drawn > 0 ? sum / static_cast<double>(drawn) : 0; }
};

// The smoothed variance of a stratum's values, what estimates and allocations use: a stratum
// whose draws are all 0 (or all 1) is not a stratum without variance. Per fault (0/1 values):
// p~(1 - p~) with p~ = (x + 1/2) / (n + 1), Jeffreys' smoothing. Per inference (values in 0..1):
// the sample variance with one pseudo-observation of the largest variance a stratum of smoothed
// mean p~ can have, ((n - 1) s^2 + p~(1 - p~)) / n, with p~ = (sum + a) / (n + 2a) and
// a = pooled / 2, `pooled` the mean of every value drawn (the half count of Jeffreys', scaled to
// the rate's size).
double smoothed_variance(const StratumSample& stratum, Estimand estimand, double pooled);

// A stratified estimate: sum of W_h ybar_h (W_h = N_h / N), its variance sum of
// W_h^2 S~_h^2 / n_h (N_h - n_h) / (N_h - 1) with smoothed S~_h^2, and its interval: Wilson's at the
// effective sample size value (1 - value) / variance (Kish). Every stratum needs a draw unless it
// is exact; one without any makes the interval [0, 1].
struct StratifiedMean {
  double value = 0;
  double variance = 0;
  double effective = 0;  // sample size of a simple random sample with this variance
  Interval interval;
  std::int64_t drawn = 0;
};
StratifiedMean stratified_mean(const std::vector<StratumSample>& strata, Estimand estimand, double z);

// A domain of a stratified sample: a group of faults (a layer, a bit) that cuts across the
// strata. Per stratum: its population N_h, all its draws n_h, and of those the domain's count,
// sum and sum of squares of values. Strata the domain has no draws in add nothing.
struct DomainCell {
  double population = 0;
  std::int64_t drawn = 0;
  std::int64_t in_domain = 0;
  double sum = 0, sum_squares = 0;
};
// The domain's rate as the design weighs it, the ratio sum_h (N_h / n_h) y_hD / sum_h (N_h / n_h) n_hD.
// Its variance: the larger of the linearized one (u_i = [i in D](y_i - R), sum_h N_h^2
// (1 - n_h / N_h) s_uh^2 / n_h over N^_D^2) and that of the domain's parts of the strata taken as
// strata of N^_hD = N_h n_hD / n_h faults, each with its smoothed variance (as stratified_mean).
// Wilson's interval at the effective sample size R (1 - R) / variance, or at the domain's own
// draws when its values do not vary; a point where every stratum it has draws in was drawn
// whole. A domain without draws: [0, 1]. Its coverage is measured by bench/sfi_coverage --domains.
StratifiedMean domain_mean(const std::vector<DomainCell>& cells, Estimand estimand, double z);

// Neyman allocation: the draws each stratum should have for the stratified estimate's half-width
// to be `margin` at quantile `z` (normal approximation, finite-population corrected),
// n_h proportional to N_h S~_h, no stratum above its population (those that would be are drawn
// whole), exact strata none. With `proportional`, every S~_h is taken equal (n_h proportional
// to N_h).
std::vector<double> neyman_allocation(const std::vector<StratumSample>& strata, Estimand estimand, double z,
                                      double margin, bool proportional = false);

}  // namespace dnnfi
