// Strata and pools (strata.hpp).
#include "strata.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "dnnfi/errors.hpp"
#include "fault_lists/random.hpp"

namespace dnnfi {
namespace {

class ModelFaultValues final : public FaultValues {
 public:
  ModelFaultValues(const Model& model, const std::vector<Layer>& targets) : model_(model) {
    for (const auto& layer : targets) {
      const auto w = model.weight(layer.name).detach().to(torch::kCPU, torch::kFloat).contiguous();
      Weights weights;
      weights.values.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
      weights.shape = w.sizes().vec();
      weights.per_channel = w.dim() > 0 && w.size(0) > 0 ? w.numel() / w.size(0) : 1;
      weights_.emplace(layer.name, std::move(weights));
    }
  }
  std::pair<float, float> values(const Fault& fault) const override {
    const auto& shape = weights_.at(fault.layer).shape;
    std::int64_t flat = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + fault.index.at(d);
    return values(fault.layer, flat, fault.bits, fault.model);
  }
  std::pair<float, float> values(const std::string& layer, std::int64_t flat, BitMask bits,
                                 FaultModel fault_model) const override {
    const auto& w = weights_.at(layer);
    const float stored = w.values.at(static_cast<std::size_t>(flat));
    const float faulty = apply_fault(model_.space().format, stored, bits, fault_model,
                                     model_.scale(layer, flat / std::max<std::int64_t>(w.per_channel, 1)));
    return {model_.computed_value(layer, stored), model_.computed_value(layer, faulty)};
  }

 private:
  struct Weights {
    std::vector<float> values;  // row-major, PyTorch's index order
    std::vector<std::int64_t> shape;
    std::int64_t per_channel = 1;  // elements per output channel (the int8 scale's)
  };
  const Model& model_;
  std::unordered_map<std::string, Weights> weights_;
};

// The size of a change as a stratum level: the binary exponent of |faulty - stored|, with
// levels apart for no change of the word, a change that rounds to nothing, and a non-finite one.
constexpr int kUnchanged = 100000, kZero = 100001, kNonFinite = 100002;
int change_level(float stored, float faulty) {
  if (float_bits(stored) == float_bits(faulty)) return kUnchanged;
  const double delta = static_cast<double>(faulty) - static_cast<double>(stored);
  if (!std::isfinite(faulty) || !std::isfinite(delta)) return kNonFinite;
  if (delta == 0) return kZero;
  return std::ilogb(std::fabs(delta));
}

std::string level_name(int level) {
  if (level == kUnchanged) return kUnchangedKey;
  if (level == kZero) return "|d| 0";
  if (level == kNonFinite) return "|d| inf";
  return fmt::format("|d| 2^{}", level);
}

std::string key_of(const std::string& layer, int bit, int level, Strata strata) {
  if (level == kUnchanged) return kUnchangedKey;
  switch (strata) {
    case Strata::kNone:
      return "all";
    case Strata::kLayer:
      return layer;
    case Strata::kBit:
      return fmt::format("bit {}", bit);
    case Strata::kLayerBit:
      return fmt::format("{} bit {}", layer, bit);
    case Strata::kDelta:
      return level_name(level);
    case Strata::kStageDelta:
      return stage_of(layer) + " " + level_name(level);
    case Strata::kLayerDelta:
      return layer + " " + level_name(level);
  }
  return layer;
}

// Keys in a natural order: runs of digits (with a leading minus after '^') compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  const auto number_at = [](const std::string& s, std::size_t& k) {
    const bool negative = s[k] == '-';
    if (negative) ++k;
    long long v = 0;
    while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) v = v * 10 + (s[k++] - '0');
    return negative ? -v : v;
  };
  const auto numeric = [](const std::string& s, std::size_t k) {
    return std::isdigit(static_cast<unsigned char>(s[k])) ||
           (s[k] == '-' && k > 0 && s[k - 1] == '^' && k + 1 < s.size() &&
            std::isdigit(static_cast<unsigned char>(s[k + 1])));
  };
  while (i < a.size() && j < b.size()) {
    if (numeric(a, i) && numeric(b, j)) {
      const auto x = number_at(a, i), y = number_at(b, j);
      if (x != y) return x < y;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

void require_values(Strata strata, const FaultValues* values) {
  if (is_data_aware(strata) && values == nullptr)
    throw Error(ExitCode::kUsage,
                "--strata " + std::string(name_of(kStrataNames, strata)) +
                    " needs each fault's stored weight and faulty value: not for activation "
                    "faults (their values are known only when they run); use layer, bit or "
                    "layer-bit");
}

// A stratum's own draws: a seed of its own, so its order does not depend on the others'.
std::mt19937_64 stratum_rng(std::uint64_t seed, std::size_t h) {
  return std::mt19937_64(seed ^ (0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(h) + 1)));
}

class ListPool final : public FaultPool {
 public:
  ListPool(const std::vector<Fault>& list, std::shared_ptr<const ListStrata> strata, std::uint64_t seed)
      : list_(list), strata_(std::move(strata)) {
    keys_ = strata_->keys;
    for (std::size_t h = 0; h < keys_.size(); ++h) {
      populations_.push_back(static_cast<double>(strata_->members[h].size()));
      rngs_.push_back(stratum_rng(seed, h));
      for (const auto place : strata_->members[h]) stratum_.emplace(list_[place].injection, h);
    }
    taken_.assign(keys_.size(), 0);
    swapped_.resize(keys_.size());
  }
  // The next faults of a uniform random order, found by a Fisher-Yates shuffle taken only as far
  // as it is drawn (the places it has swapped kept apart).
  std::vector<Fault> draw(std::size_t h, std::size_t count) override {
    std::vector<Fault> out;
    const auto& members = strata_->members.at(h);
    auto& swapped = swapped_[h];
    const auto at = [&](std::size_t i) {
      const auto it = swapped.find(i);
      return it == swapped.end() ? members[i] : it->second;
    };
    for (; count > 0 && taken_[h] < members.size(); --count) {
      const auto j = taken_[h]++;
      const auto r = j + static_cast<std::size_t>(uniform_below(rngs_[h], members.size() - j));
      const auto chosen = at(r);
      swapped[r] = at(j);
      out.push_back(list_[chosen]);
    }
    return out;
  }
  std::optional<std::size_t> stratum_of(std::int64_t injection) const override {
    const auto it = stratum_.find(injection);
    if (it == stratum_.end()) return std::nullopt;
    return it->second;
  }

 private:
  const std::vector<Fault>& list_;
  std::shared_ptr<const ListStrata> strata_;
  std::vector<std::mt19937_64> rngs_;
  std::vector<std::size_t> taken_;
  std::vector<std::unordered_map<std::size_t, std::uint32_t>> swapped_;
  std::unordered_map<std::int64_t, std::size_t> stratum_;
};

// The population's numbering: element offsets of the targets and the word's width.
struct Numbering {
  std::vector<std::int64_t> offsets;  // per target, its first element's place
  std::int64_t elements = 0;
  int width = 32;
  explicit Numbering(const PopulationSpec& spec) : width(word_bits(spec.format)) {
    for (const auto& t : spec.targets) {
      offsets.push_back(elements);
      elements += t.numel();
    }
  }
  std::int64_t id(std::size_t target, std::int64_t element, int bit) const {
    return (offsets[target] + element) * width + bit;
  }
};

std::vector<std::int64_t> unflatten(const std::vector<std::int64_t>& shape, std::int64_t flat) {
  std::vector<std::int64_t> index(shape.size(), 0);
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

BitMask burst_mask(int start, int burst) {
  const std::uint64_t ones = (std::uint64_t{1} << burst) - 1;
  return BitMask(static_cast<std::uint32_t>(ones << start));
}

class PopulationPool final : public FaultPool {
 public:
  PopulationPool(const PopulationSpec& spec, Strata strata, const FaultValues* values, std::uint64_t seed)
      : spec_(spec), strata_(strata), values_(values), numbering_(spec), rng_(seed) {
    require_values(strata, values);
    starts_ = drawable_bits(spec.format, spec.bits, spec.burst);
    // One pass: every fault's stratum counted, each stratum's reservoir filled.
    std::map<std::string, std::size_t> index;
    std::vector<std::string> names;
    scan([&](const std::string& key) {
      const auto [it, fresh] = index.emplace(key, names.size());
      if (fresh) names.push_back(key);
      return it->second;
    });
    // Strata in natural key order.
    std::vector<std::size_t> order(names.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return natural_less(names[a], names[b]); });
    std::vector<std::size_t> rank(names.size());
    for (std::size_t r = 0; r < order.size(); ++r) {
      rank[order[r]] = r;
      keys_.push_back(names[order[r]]);
      populations_.push_back(static_cast<double>(seen_[order[r]]));
    }
    std::vector<std::vector<std::int64_t>> reservoirs(names.size());
    std::vector<std::uint64_t> seen(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      reservoirs[rank[i]] = std::move(reservoirs_[i]);
      seen[rank[i]] = seen_[i];
    }
    reservoirs_ = std::move(reservoirs);
    seen_ = std::move(seen);
    for (std::size_t h = 0; h < reservoirs_.size(); ++h) {
      auto rng = stratum_rng(seed, h);
      shuffle(reservoirs_[h], rng);
    }
    key_index_.clear();
    for (std::size_t h = 0; h < keys_.size(); ++h) key_index_.emplace(keys_[h], h);
    taken_.assign(keys_.size(), 0);
  }

  std::vector<Fault> draw(std::size_t h, std::size_t count) override {
    std::vector<Fault> out;
    while (count > 0 && drawn_total(h) < static_cast<std::size_t>(populations_[h])) {
      if (taken_[h] == reservoirs_[h].size()) refill(h);
      if (taken_[h] == reservoirs_[h].size()) break;
      const auto id = reservoirs_[h][taken_[h]++];
      drawn_.insert(id);
      ++drawn_in_[h];
      out.push_back(*population_fault(spec_, id));
      --count;
    }
    return out;
  }

  std::optional<std::size_t> stratum_of(std::int64_t injection) const override {
    const auto fault = population_fault(spec_, injection);
    if (!fault) return std::nullopt;
    const int level =
        values_ ? change_level(values_->values(*fault).first, values_->values(*fault).second) : 0;
    const auto it = key_index_.find(key_of(fault->layer, fault->bits.lowest(), level, strata_));
    if (it == key_index_.end()) return std::nullopt;
    return it->second;
  }

 private:
  // Faults a reservoir keeps before a stratum's further draws need another pass: far more than a
  // campaign draws from one stratum, at 8 bytes each.
  static constexpr std::size_t kReservoir = 1 << 14;

  std::size_t drawn_total(std::size_t h) const { return drawn_in_[h]; }

  // Every fault of the population in a fixed order: its stratum (by `stratum_id` of its key)
  // counted and offered to that stratum's reservoir (Algorithm R); with `only`, just that
  // stratum's faults not drawn yet.
  template <typename StratumId>
  void scan(StratumId stratum_id, std::optional<std::size_t> only = std::nullopt) {
    const bool need_values = values_ != nullptr && is_data_aware(strata_);
    // A key depends on the target, the bit and the change's level only: each is made once.
    std::unordered_map<std::uint64_t, std::size_t> known;
    for (std::size_t t = 0; t < spec_.targets.size(); ++t) {
      const auto& target = spec_.targets[t];
      const auto numel = target.numel();
      for (std::int64_t e = 0; e < numel; ++e) {
        for (int b : starts_) {
          int level = 0;
          if (need_values) {
            const auto [stored, faulty] =
                values_->values(target.name, e, burst_mask(b, spec_.burst), spec_.model);
            level = change_level(stored, faulty);
          }
          const auto combo = (static_cast<std::uint64_t>(t) << 40) | (static_cast<std::uint64_t>(b) << 32) |
                             static_cast<std::uint32_t>(level + (1 << 30));
          auto found = known.find(combo);
          if (found == known.end())
            found = known.emplace(combo, stratum_id(key_of(target.name, b, level, strata_))).first;
          const auto h = found->second;
          if (only && h != *only) continue;
          const auto id = numbering_.id(t, e, b);
          if (!only) {
            if (h >= seen_.size()) {
              seen_.resize(h + 1, 0);
              reservoirs_.resize(h + 1);
              drawn_in_.resize(h + 1, 0);
            }
          } else if (drawn_.count(id)) {
            continue;
          }
          const auto k = seen_[h]++;
          auto& reservoir = reservoirs_[h];
          if (reservoir.size() < kReservoir) {
            reservoir.push_back(id);
          } else {
            const auto r = uniform_below(rng_, k + 1);
            if (r < kReservoir) reservoir[r] = id;
          }
        }
      }
    }
  }

  // A stratum that needs more than its reservoir held: another pass over its faults not drawn yet.
  void refill(std::size_t h) {
    const auto counted = seen_[h];
    reservoirs_[h].clear();
    seen_[h] = 0;
    scan([&](const std::string& key) { return key_index_.at(key); }, h);
    seen_[h] = counted;
    shuffle(reservoirs_[h], rng_);
    taken_[h] = 0;
  }

  PopulationSpec spec_;
  Strata strata_;
  const FaultValues* values_;
  Numbering numbering_;
  std::mt19937_64 rng_;
  std::vector<int> starts_;
  std::vector<std::uint64_t> seen_;
  std::vector<std::vector<std::int64_t>> reservoirs_;
  std::vector<std::size_t> taken_, drawn_in_;
  std::unordered_set<std::int64_t> drawn_;
  std::unordered_map<std::string, std::size_t> key_index_;
};

}  // namespace

std::unique_ptr<FaultValues> model_fault_values(const Model& model, const std::vector<Layer>& targets) {
  return std::make_unique<ModelFaultValues>(model, targets);
}

std::string stage_of(const std::string& layer) { return layer.substr(0, layer.find('.')); }

bool is_data_aware(Strata strata) {
  return strata == Strata::kDelta || strata == Strata::kStageDelta || strata == Strata::kLayerDelta;
}

std::string stratum_key(const Fault& fault, Strata strata, const FaultValues* values) {
  require_values(strata, values);
  int level = 0;
  if (values && is_data_aware(strata)) {
    const auto [stored, faulty] = values->values(fault);
    level = change_level(stored, faulty);
  }
  return key_of(fault.layer, fault.bits.lowest(), level, strata);
}

double FaultPool::population() const {
  double total = 0;
  for (auto n : populations_) total += n;
  return total;
}

std::shared_ptr<const ListStrata> list_strata(const std::vector<Fault>& list, Strata strata,
                                              const FaultValues* values) {
  require_values(strata, values);
  std::map<std::string, std::vector<std::uint32_t>, bool (*)(const std::string&, const std::string&)> by_key(
      natural_less);
  for (std::size_t i = 0; i < list.size(); ++i) {
    int level = 0;
    if (values && is_data_aware(strata)) {
      const auto [stored, faulty] = values->values(list[i]);
      level = change_level(stored, faulty);
    }
    by_key[key_of(list[i].layer, list[i].bits.lowest(), level, strata)].push_back(
        static_cast<std::uint32_t>(i));
  }
  auto result = std::make_shared<ListStrata>();
  for (auto& [key, members] : by_key) {
    result->keys.push_back(key);
    result->members.push_back(std::move(members));
  }
  return result;
}

std::unique_ptr<FaultPool> list_pool(const std::vector<Fault>& list, std::shared_ptr<const ListStrata> strata,
                                     std::uint64_t seed) {
  return std::make_unique<ListPool>(list, std::move(strata), seed);
}

std::unique_ptr<FaultPool> list_pool(const std::vector<Fault>& list, Strata strata, const FaultValues* values,
                                     std::uint64_t seed) {
  return list_pool(list, list_strata(list, strata, values), seed);
}

std::unique_ptr<FaultPool> population_pool(const PopulationSpec& spec, Strata strata,
                                           const FaultValues* values, std::uint64_t seed) {
  return std::make_unique<PopulationPool>(spec, strata, values, seed);
}

std::optional<Fault> population_fault(const PopulationSpec& spec, std::int64_t injection) {
  const Numbering numbering(spec);
  if (injection < 0 || injection >= numbering.elements * numbering.width) return std::nullopt;
  const auto element = injection / numbering.width;
  const int bit = static_cast<int>(injection % numbering.width);
  const auto starts = drawable_bits(spec.format, spec.bits, spec.burst);
  if (std::find(starts.begin(), starts.end(), bit) == starts.end()) return std::nullopt;
  const auto t =
      static_cast<std::size_t>(std::upper_bound(numbering.offsets.begin(), numbering.offsets.end(), element) -
                               numbering.offsets.begin() - 1);
  Fault fault;
  fault.injection = injection;
  fault.layer = spec.targets[t].name;
  fault.index = unflatten(spec.targets[t].shape, element - numbering.offsets[t]);
  fault.bits = burst_mask(bit, spec.burst);
  fault.model = spec.model;
  return fault;
}

}  // namespace dnnfi
