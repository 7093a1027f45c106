// Statistical fault lists (Leveugle et al., DATE 2009) as the seed generated them, and the
// ways a campaign takes part of a list (spread samples, shards).
#include <cmath>
#include <limits>
#include <random>
#include <unordered_set>

#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/settings.hpp"
#include "random.hpp"

namespace dnnfi {

double fault_population(const std::vector<Layer>& layers) {
  double weights = 0;
  for (const auto& layer : layers) weights += static_cast<double>(layer.numel());
  return weights * 32 * 2;
}

double statistical_sample_size(double population, const SampleSpec& spec) {
  const double e = spec.error_margin, t = spec.t_value, p = spec.p;
  return population / (1 + e * e * (population - 1) / (t * t * p * (1 - p)));
}

std::vector<Fault> generate_fault_list(const std::vector<Layer>& layers, const SampleSpec& spec,
                                       FaultModel model) {
  if (!(spec.error_margin > 0) || !(spec.t_value > 0) || !(spec.p > 0 && spec.p < 1))
    throw InputError("statistical sample needs e > 0, t > 0 and 0 < p < 1");
  double total_weights = 0;
  for (const auto& layer : layers) total_weights += static_cast<double>(layer.numel());
  // The seed rounded the sample size to an integer first, then split it over the layers, each
  // layer's share rounded: this reproduces every per-layer count of the 15 published lists.
  const double n = std::nearbyint(statistical_sample_size(fault_population(layers), spec));

  std::mt19937_64 rng(spec.seed);
  std::vector<Fault> faults;
  for (const auto& layer : layers) {
    const std::uint64_t sites = static_cast<std::uint64_t>(layer.numel()) * 32;
    auto wanted =
        static_cast<std::uint64_t>(std::nearbyint(n * static_cast<double>(layer.numel()) / total_weights));
    wanted = std::min(wanted, sites);
    std::unordered_set<std::uint64_t> taken;
    taken.reserve(wanted * 2);
    while (taken.size() < wanted) {
      const std::uint64_t offset = uniform_below(rng, static_cast<std::uint64_t>(layer.numel()));
      const std::uint64_t bit = uniform_below(rng, 32);
      if (!taken.insert(offset * 32 + bit).second) continue;
      Fault fault;
      fault.injection = static_cast<std::int64_t>(faults.size());
      fault.layer = layer.name;
      fault.bits = BitMask::bit(static_cast<int>(bit));
      fault.model = model;
      fault.index.assign(layer.shape.size(), 0);
      std::uint64_t rest = offset;
      for (std::size_t d = layer.shape.size(); d-- > 0;) {
        fault.index[d] = static_cast<std::int64_t>(rest % static_cast<std::uint64_t>(layer.shape[d]));
        rest /= static_cast<std::uint64_t>(layer.shape[d]);
      }
      faults.push_back(std::move(fault));
    }
  }
  return faults;
}

std::vector<Fault> spread_sample(const std::vector<Fault>& faults, std::size_t count) {
  if (count == 0 || count >= faults.size()) return faults;
  std::vector<Fault> sample;
  sample.reserve(count);
  for (std::size_t i = 0; i < count; ++i) sample.push_back(faults[i * faults.size() / count]);
  return sample;
}

std::vector<Fault> shard(const std::vector<Fault>& faults, const Shard& part) {
  check_shard(part);
  std::vector<Fault> taken;
  for (std::size_t i = part.index; i < faults.size(); i += part.count) taken.push_back(faults[i]);
  return taken;
}

}  // namespace dnnfi
