#include "dnnfi/statistics.hpp"

#include <algorithm>
#include <cmath>

namespace dnnfi {

Interval wilson_interval(double successes, double trials, double z, double population) {
  if (trials <= 0) return Interval{0, 1};
  const double p = successes / trials;
  // The finite-population correction shrinks the variance p(1-p)/n by (N - n) / (N - 1): the
  // same as a larger sample, n / correction, in Wilson's formula.
  double n = trials;
  if (population > 1) {
    const double correction = std::max(0.0, (population - trials) / (population - 1));
    if (correction == 0) return Interval{p, p};  // the whole population: no sampling error
    n = trials / correction;
  }
  const double z2 = z * z;
  const double denominator = 1 + z2 / n;
  const double center = (p + z2 / (2 * n)) / denominator;
  const double half = z / denominator * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  // The interval always holds p; rounding must not push a bound past it (0 of n: low is 0
  // exactly, n of n: high is 1), which charts would draw as a negative error bar.
  return Interval{std::clamp(center - half, 0.0, p), std::clamp(center + half, p, 1.0)};
}

double normal_quantile(double confidence) {
  // Bisection on the normal tail, 0.5 erfc(z / sqrt 2) = (1 - confidence) / 2: exact to double
  // precision in 100 halvings, no table needed.
  const double tail = (1 - confidence) / 2;
  double low = 0, high = 40;
  for (int i = 0; i < 100; ++i) {
    const double mid = (low + high) / 2;
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > tail ? low : high) = mid;
  }
  return (low + high) / 2;
}

StratifiedEstimate stratified_estimate(const std::vector<Stratum>& strata, double z) {
  StratifiedEstimate e;
  double weight = 0, variance = 0;
  for (const auto& s : strata)
    if (s.drawn > 0) weight += s.weight;
  if (weight <= 0) return StratifiedEstimate{0, Interval{0, 1}, 0};
  for (const auto& s : strata) {
    if (s.drawn == 0) continue;
    const double w = s.weight / weight, n = static_cast<double>(s.drawn);
    const double p = static_cast<double>(s.critical) / n;
    const double correction = s.population > 1 ? std::max(0.0, (s.population - n) / (s.population - 1)) : 1.0;
    e.rate += w * p;
    variance += w * w * p * (1 - p) / n * correction;
    e.drawn += s.drawn;
  }
  // Effective sample size: the simple random sample with this estimate's variance. When every
  // stratum's rate is 0 or 1 there is no variance to go by: the draws themselves count.
  const double effective = variance > 0 ? e.rate * (1 - e.rate) / variance : static_cast<double>(e.drawn);
  e.interval = wilson_interval(e.rate * effective, effective, z);
  return e;
}

double achieved_margin(double n, double population, double t, double p) {
  if (n <= 0) return 1;
  const double correction = population > 1 ? std::max(0.0, (population - n) / (population - 1)) : 1.0;
  return std::sqrt(t * t * p * (1 - p) * correction / n);
}

}  // namespace dnnfi
