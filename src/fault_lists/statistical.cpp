// Statistical fault lists (Leveugle et al., DATE 2009) as the seed generated them, and the
// ways a campaign takes part of a list (spread samples, shards).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <regex>
#include <unordered_set>

#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "random.hpp"
#include "text.hpp"

namespace dnnfi {
namespace {
std::regex compile(const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw Error(ExitCode::kUsage, "--layers '" + pattern + "' is not a regular expression: " + e.what());
  }
}
}  // namespace

double statistical_sample_size(double population, const SampleSpec& spec) {
  const double e = spec.error_margin, t = spec.t_value, p = spec.p;
  return population / (1 + e * e * (population - 1) / (t * t * p * (1 - p)));
}

namespace {

BitMask burst_mask(int start, int burst) {
  const std::uint64_t ones = (std::uint64_t{1} << burst) - 1;
  return BitMask(static_cast<std::uint32_t>(ones << start));
}

}  // namespace

double fault_population(const std::vector<Layer>& layers, const SampleSpec& spec) {
  return population(layers, spec.format, spec.bits, spec.burst);
}

std::vector<Fault> generate_fault_list(const std::vector<Layer>& layers, const SampleSpec& spec,
                                       FaultModel model) {
  // Option values: a usage error naming the option and the value.
  auto refuse = [](const char* option, const char* range, double value) {
    throw Error(ExitCode::kUsage, fmt::format("{} must be {}, got {:g}", option, range, value));
  };
  if (!(spec.error_margin > 0 && spec.error_margin < 1))
    refuse("-e/--error-margin", "in (0, 1)", spec.error_margin);
  if (!(spec.t_value > 0)) refuse("-t/--t-value", "above 0", spec.t_value);
  if (!(spec.p > 0 && spec.p < 1)) refuse("-p/--proportion", "in (0, 1)", spec.p);
  if (layers.empty()) throw Error(ExitCode::kUsage, "no layer to draw faults from");
  const auto starts = drawable_bits(spec.format, spec.bits, spec.burst);
  const auto bits_per_weight = static_cast<std::uint64_t>(starts.size());
  double total_weights = 0;
  for (const auto& layer : layers) total_weights += static_cast<double>(layer.numel());
  // The seed rounded the sample size to an integer first, then split it over the layers, each
  // layer's share rounded: this reproduces every per-layer count of the 15 published lists.
  const double n = std::nearbyint(statistical_sample_size(fault_population(layers, spec), spec));

  std::mt19937_64 rng(spec.seed);
  std::vector<Fault> faults;
  auto add = [&](const Layer& layer, std::uint64_t offset, int start) {
    Fault fault;
    fault.injection = static_cast<std::int64_t>(faults.size());
    fault.layer = layer.name;
    fault.bits = burst_mask(start, spec.burst);
    fault.model = model;
    fault.index.assign(layer.shape.size(), 0);
    std::uint64_t rest = offset;
    for (std::size_t d = layer.shape.size(); d-- > 0;) {
      fault.index[d] = static_cast<std::int64_t>(rest % static_cast<std::uint64_t>(layer.shape[d]));
      rest /= static_cast<std::uint64_t>(layer.shape[d]);
    }
    faults.push_back(std::move(fault));
  };
  std::vector<std::string> capped;  // layers with fewer possible faults than --per-layer asks for
  for (const auto& layer : layers) {
    const auto weights = static_cast<std::uint64_t>(layer.numel());
    if (spec.per_layer && *spec.per_layer > weights * bits_per_weight)
      capped.push_back(fmt::format("{} {}", layer.name, weights * bits_per_weight));
    const std::uint64_t count =
        spec.per_layer
            ? *spec.per_layer
            : static_cast<std::uint64_t>(std::nearbyint(n * static_cast<double>(weights) / total_weights));
    if (spec.all_bits) {
      // Whole weights, as many as the count asks for in faults (rounded up), every bit of each.
      const std::uint64_t wanted = std::min(weights, (count + bits_per_weight - 1) / bits_per_weight);
      std::unordered_set<std::uint64_t> taken;
      while (taken.size() < wanted) {
        const std::uint64_t offset = uniform_below(rng, weights);
        if (!taken.insert(offset).second) continue;
        for (int start : starts) add(layer, offset, start);
      }
      continue;
    }
    const std::uint64_t wanted = std::min(count, weights * bits_per_weight);
    std::unordered_set<std::uint64_t> taken;
    taken.reserve(wanted * 2);
    while (taken.size() < wanted) {
      const std::uint64_t offset = uniform_below(rng, weights);
      const int start = starts[uniform_below(rng, bits_per_weight)];
      if (!taken.insert(offset * 32 + static_cast<std::uint64_t>(start)).second) continue;
      add(layer, offset, start);
    }
  }
  if (!capped.empty())
    spdlog::warn(
        "--per-layer {}: {} layer(s) have fewer possible faults and get every one of them ({})",
        *spec.per_layer, capped.size(),
        fmt::format(
            "{}", fmt::join(capped.begin(), capped.begin() + std::min<std::size_t>(capped.size(), 5), ", ")) +
            (capped.size() > 5 ? ", ..." : ""));
  return faults;
}

namespace {
// The items whose layer name (`name_of(item)`) holds a match of `pattern` (a search, as
// --emulate-tf32's: "layer3" keeps every layer of layer3, "^conv1$" conv1 alone).
template <typename T, typename Name>
std::vector<T> matching(const std::vector<T>& items, const std::string& pattern, Name name_of) {
  const auto re = compile(pattern);
  std::vector<T> kept;
  std::copy_if(items.begin(), items.end(), std::back_inserter(kept),
               [&](const T& item) { return std::regex_search(name_of(item), re); });
  return kept;
}
}  // namespace

std::vector<Layer> select_layers(const std::vector<Layer>& layers, const std::string& pattern) {
  auto kept = matching(layers, pattern, [](const Layer& l) { return l.name; });
  if (kept.empty())
    throw Error(ExitCode::kUsage, "--layers '" + pattern + "' matches no layer (see `dnnfi layers`)");
  return kept;
}

std::vector<Fault> select_faults(const std::vector<Fault>& faults, const std::string& pattern) {
  return matching(faults, pattern, [](const Fault& f) { return f.layer; });
}

std::vector<Fault> spread_sample(const std::vector<Fault>& faults, std::size_t count) {
  if (count == 0 || count >= faults.size()) return faults;
  std::vector<Fault> sample;
  sample.reserve(count);
  for (std::size_t i = 0; i < count; ++i) sample.push_back(faults[i * faults.size() / count]);
  return sample;
}

void check_shard(const Shard& part) {
  if (part.count == 0 || part.index >= part.count)
    throw Error(ExitCode::kUsage, "shard " + std::to_string(part.index) + "/" + std::to_string(part.count) +
                                      ": expected K/N with 0 <= K < N, e.g. 0/4");
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const auto k = text::parse_int(text.substr(0, slash));
  const auto n = slash == std::string::npos ? std::nullopt : text::parse_int(text.substr(slash + 1));
  if (!k || !n || *k < 0 || *n < 1 || *k >= *n)
    throw Error(ExitCode::kUsage, "--shard '" + text + "': expected K/N with 0 <= K < N, e.g. 0/4");
  return Shard{static_cast<std::size_t>(*k), static_cast<std::size_t>(*n)};
}

std::vector<Fault> shard(const std::vector<Fault>& faults, const Shard& part) {
  check_shard(part);
  std::vector<Fault> taken;
  for (std::size_t i = part.index; i < faults.size(); i += part.count) taken.push_back(faults[i]);
  return taken;
}

}  // namespace dnnfi
