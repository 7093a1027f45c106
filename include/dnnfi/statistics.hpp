#pragma once
// The statistics of fault-injection samples: intervals of proportions that hold near 0 and 1,
// stratified estimates and their effective sample size, and the margin a sample achieves.
// Reports, iterative campaigns and their samplers all count with these.
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace dnnfi
