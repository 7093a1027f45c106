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
  if (population > 0 && trials >= population) return Interval{p, p};  // the whole population
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

namespace {

double population_weight_sum(const std::vector<StratumSample>& strata) {
  double total = 0;
  for (const auto& s : strata) total += s.population;
  return total;
}

double pooled_mean(const std::vector<StratumSample>& strata) {
  double sum = 0, drawn = 0;
  for (const auto& s : strata)
    if (!s.exact) {
      sum += s.sum;
      drawn += static_cast<double>(s.drawn);
    }
  return drawn > 0 ? sum / drawn : 0;
}

// (N - n) / (N - 1): the share of a stratum's sampling variance a sample of n leaves.
double correction(double population, double drawn) {
  return population > 1 ? std::max(0.0, (population - drawn) / (population - 1)) : 0.0;
}

}  // namespace

double smoothed_variance(const StratumSample& stratum, Estimand estimand, double pooled) {
  const double n = static_cast<double>(stratum.drawn);
  if (estimand == Estimand::kFaults) {
    const double p = (stratum.sum + 0.5) / (n + 1);
    return p * (1 - p);
  }
  const double a = std::max(pooled, 1e-9) / 2;
  const double p = (stratum.sum + a) / (n + 2 * a);
  const double sample =
      n > 1 ? std::max(0.0, (stratum.sum_squares - n * stratum.mean() * stratum.mean()) / (n - 1)) : 0;
  return ((n > 1 ? n - 1 : 0) * sample + p * (1 - p)) / std::max(n, 1.0);
}

StratifiedMean stratified_mean(const std::vector<StratumSample>& strata, Estimand estimand, double z) {
  StratifiedMean m;
  const double total = population_weight_sum(strata);
  const double pooled = pooled_mean(strata);
  bool missing = total <= 0;
  for (const auto& s : strata) {
    m.drawn += s.drawn;
    if (s.exact || s.population <= 0) continue;
    if (s.drawn == 0) {
      missing = true;
      continue;
    }
    const double w = s.population / total;
    m.value += w * s.mean();
    m.variance += w * w * smoothed_variance(s, estimand, pooled) / static_cast<double>(s.drawn) *
                  correction(s.population, static_cast<double>(s.drawn));
  }
  if (missing) {
    m.interval = Interval{0, 1};
    return m;
  }
  m.value = std::clamp(m.value, 0.0, 1.0);
  // With no variance left (every stratum drawn whole) the estimate is the population's rate.
  if (m.variance <= 0) {
    m.effective = static_cast<double>(m.drawn);
    m.interval = Interval{m.value, m.value};
    return m;
  }
  m.effective = std::max(m.value * (1 - m.value), 1e-12) / m.variance;
  m.interval = wilson_interval(m.value * m.effective, m.effective, z);
  return m;
}

StratifiedMean domain_mean(const std::vector<DomainCell>& cells, Estimand estimand, double z) {
  StratifiedMean m;
  double size = 0, total = 0;  // N^_D and Y^_D
  for (const auto& c : cells) {
    if (c.in_domain == 0 || c.drawn == 0) continue;
    const double w = c.population / static_cast<double>(c.drawn);
    size += w * static_cast<double>(c.in_domain);
    total += w * c.sum;
    m.drawn += c.in_domain;
  }
  if (m.drawn == 0 || size <= 0) {
    m.interval = Interval{0, 1};
    return m;
  }
  const double r = std::clamp(total / size, 0.0, 1.0);
  m.value = r;
  bool census = true;  // every stratum the domain has draws in drawn whole: no sampling error
  for (const auto& c : cells) {
    if (c.in_domain == 0) continue;
    census = census && static_cast<double>(c.drawn) >= c.population;
    if (c.drawn < 2) continue;
    const double n = static_cast<double>(c.drawn), k = static_cast<double>(c.in_domain);
    // u over all n_h draws of the stratum (0 outside the domain): its sum and sum of squares.
    const double u_sum = c.sum - r * k;
    const double u_squares = c.sum_squares - 2 * r * c.sum + r * r * k;
    const double s2 = std::max(0.0, (u_squares - u_sum * u_sum / n) / (n - 1));
    m.variance += c.population * c.population * correction(c.population, n) * s2 / n;
  }
  m.variance /= size * size;
  // The same draws as a stratified sample of the domain's parts of the strata (N^_hD = N_h
  // n_hD / n_h), each part's variance smoothed as a stratum's: a part whose few draws did not
  // vary is not taken to have no variance. The larger of the two variances is used.
  std::vector<StratumSample> parts;
  for (const auto& c : cells) {
    if (c.in_domain == 0 || c.drawn == 0) continue;
    StratumSample part;
    part.population = c.population * static_cast<double>(c.in_domain) / static_cast<double>(c.drawn);
    part.drawn = c.in_domain;
    part.sum = c.sum;
    part.sum_squares = c.sum_squares;
    parts.push_back(part);
  }
  const double pooled = pooled_mean(parts);
  double smoothed = 0;
  for (const auto& part : parts) {
    const double w = part.population / size, n = static_cast<double>(part.drawn);
    smoothed += w * w * smoothed_variance(part, estimand, pooled) / n * correction(part.population, n);
  }
  m.variance = std::max(m.variance, smoothed);
  if (census) {
    m.effective = static_cast<double>(m.drawn);
    m.interval = Interval{r, r};
    return m;
  }
  const double spread = r * (1 - r);
  m.effective = m.variance > 0 && spread > 0 ? spread / m.variance : static_cast<double>(m.drawn);
  m.interval = wilson_interval(r * m.effective, m.effective, z);
  return m;
}

std::vector<double> neyman_allocation(const std::vector<StratumSample>& strata, Estimand estimand, double z,
                                      double margin, bool proportional) {
  const double total = population_weight_sum(strata);
  const double pooled = pooled_mean(strata);
  const double target = (margin / z) * (margin / z);
  std::vector<double> want(strata.size(), 0);
  std::vector<double> sd(strata.size(), 0);
  std::vector<bool> whole(strata.size(), false);
  for (std::size_t h = 0; h < strata.size(); ++h)
    if (!strata[h].exact && strata[h].population > 0)
      sd[h] = proportional ? 1.0 : std::sqrt(smoothed_variance(strata[h], estimand, pooled));
  // n = (sum W S)^2 / (V + sum W S^2 / N) over the strata not drawn whole; a stratum whose share
  // passes its population is drawn whole and the rest allocated again.
  for (bool changed = true; changed;) {
    changed = false;
    double ws = 0, ws2 = 0;
    for (std::size_t h = 0; h < strata.size(); ++h) {
      if (whole[h] || sd[h] <= 0) continue;
      const double w = strata[h].population / total;
      ws += w * sd[h];
      ws2 += w * sd[h] * sd[h] / total;
    }
    if (ws <= 0) break;
    const double n = ws * ws / (target + ws2);
    for (std::size_t h = 0; h < strata.size(); ++h) {
      if (whole[h] || sd[h] <= 0) continue;
      want[h] = n * (strata[h].population / total) * sd[h] / ws;
      if (want[h] >= strata[h].population) {
        whole[h] = changed = true;
        want[h] = strata[h].population;
      }
    }
  }
  return want;
}

}  // namespace dnnfi
