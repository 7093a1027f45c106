// Samplers (src/campaign/sampler): allocation and stopping, with outcomes made up, no model.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>

#include "campaign/sampler.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/statistics.hpp"
#include "test_support.hpp"

using namespace dnnfi;

namespace {

// A made-up truth: exponent bits are critical, the rest are not.
ResultRow outcome(const Fault& f) {
  const bool critical = f.bits.lowest() >= 23 && f.bits.lowest() <= 30;
  return ResultRow{f, Counts{100, critical ? 0 : 100, 0, critical ? 100 : 0, 0, {}}, NonFiniteRule::kArgmax};
}

// Runs a sampler to its end, observing every drawn fault; returns the faults in drawing order.
std::vector<Fault> drain(Sampler& sampler, std::vector<std::size_t>* rounds = nullptr) {
  std::vector<Fault> drawn;
  for (auto round = sampler.next(); !round.empty(); round = sampler.next()) {
    if (rounds) rounds->push_back(round.size());
    for (const auto& f : round) {
      sampler.observe(outcome(f));
      drawn.push_back(f);
    }
  }
  return drawn;
}

}  // namespace

TEST_CASE("the whole list is one round, in order", "[sampler]") {
  const auto list = spread_sample(generate_fault_list(test::resnet20_layers(), {}), 30);
  auto sampler = whole_list(list);
  const auto round = sampler->next();
  REQUIRE(round.size() == 30);
  CHECK(round.front().injection == list.front().injection);
  CHECK(sampler->next().empty());
  CHECK(sampler->puts_in_order());
  CHECK_FALSE(sampler->status());
}

TEST_CASE("layer rounds allocate in proportion to the layers' weights and stop at the margin", "[sampler]") {
  const auto layers = test::resnet20_layers();
  const auto list = generate_fault_list(layers, {});
  IterativeOptions options;
  options.margin = 0.03;
  auto sampler = layer_rounds(list, layers, options);
  std::vector<std::size_t> rounds;
  const auto drawn = drain(*sampler, &rounds);
  const auto status = *sampler->status();
  CHECK(status.met);
  CHECK(status.estimate.interval.half_width() <= 0.03);
  CHECK(status.rounds == rounds.size());
  CHECK(status.estimate.drawn == static_cast<std::int64_t>(drawn.size()));
  // No fault twice, and every one of the list.
  std::set<std::int64_t> seen;
  for (const auto& f : drawn) CHECK(seen.insert(f.injection).second);
  // Proportional allocation: each layer's share of the draws follows its share of the weights
  // (each rounded up, at least one, over a total that the roundings themselves exceed by at most
  // one fault a layer).
  std::map<std::string, double> drawn_in;
  for (const auto& f : drawn) drawn_in[f.layer] += 1;
  double weights = 0;
  for (const auto& l : layers) weights += static_cast<double>(l.numel());
  for (const auto& l : layers) {
    const double expected = static_cast<double>(l.numel()) / weights * static_cast<double>(drawn.size());
    CHECK(std::abs(drawn_in[l.name] - expected) <=
          static_cast<double>(layers.size()) * l.numel() / weights + 1);
  }
  // The first round is 1% of the list (at least 50) spread over every layer, rounded up.
  CHECK(rounds.front() >= 167);
  CHECK(rounds.front() <= 167 + layers.size());
}

TEST_CASE("layer rounds draw the same faults for the same seed, others for another", "[sampler]") {
  const auto layers = test::resnet20_layers();
  const auto list = generate_fault_list(layers, {});
  IterativeOptions options;
  options.margin = 0.05;
  auto a = layer_rounds(list, layers, options);
  auto b = layer_rounds(list, layers, options);
  options.seed = 7;
  auto c = layer_rounds(list, layers, options);
  const auto da = drain(*a), db = drain(*b), dc = drain(*c);
  REQUIRE(da.size() == db.size());
  for (std::size_t i = 0; i < da.size(); ++i) CHECK(da[i].injection == db[i].injection);
  CHECK_FALSE(std::equal(da.begin(), da.end(), dc.begin(), dc.end(),
                         [](const Fault& x, const Fault& y) { return x.injection == y.injection; }));
}

TEST_CASE("per-layer rounds go on until every layer's own interval meets the margin or its faults run out",
          "[sampler]") {
  const auto layers = test::resnet20_layers();
  const auto list = generate_fault_list(layers, {});
  IterativeOptions options;
  options.margin = 0.1;
  auto global = layer_rounds(list, layers, options);
  options.per_layer = true;
  auto per_layer = layer_rounds(list, layers, options);
  const auto g = drain(*global), p = drain(*per_layer);
  CHECK(p.size() > g.size());
  std::map<std::string, std::int64_t> in_list;
  for (const auto& f : list) ++in_list[f.layer];
  const double z = normal_quantile(options.confidence);
  const auto status = *per_layer->status();
  for (const auto& s : status.strata) {
    const double margin =
        wilson_interval(static_cast<double>(s.critical), static_cast<double>(s.drawn), z, s.population)
            .half_width();
    CHECK((margin <= 0.1 || s.drawn == in_list[s.name]));
  }
}

TEST_CASE("a list too small for the margin is drawn whole and the margin said unmet", "[sampler]") {
  const auto layers = test::resnet20_layers();
  const auto list = spread_sample(generate_fault_list(layers, {}), 200);
  IterativeOptions options;
  options.margin = 0.005;
  auto sampler = layer_rounds(list, layers, options);
  const auto drawn = drain(*sampler);
  CHECK(drawn.size() == list.size());
  CHECK_FALSE(sampler->status()->met);
}

// ---- Stratified designs: the statistics, the strata, the pools and the rounds ----

TEST_CASE("smoothed variances: a stratum that showed no critical fault still has a spread",
          "[sampler][stratified]") {
  StratumSample none;
  for (int i = 0; i < 30; ++i) none.add(0);
  // Per fault, Jeffreys: p = (0 + 1/2) / 31.
  const double p = 0.5 / 31;
  CHECK(smoothed_variance(none, Estimand::kFaults, 0) == Approx(p * (1 - p)));
  // Per inference: one pseudo-observation of p(1 - p) at p = (0 + a) / (30 + 2a), a = pooled / 2.
  const double a = 0.01, q = a / (30 + 2 * a);
  CHECK(smoothed_variance(none, Estimand::kInferences, 0.02) == Approx(q * (1 - q) / 30));
  StratumSample half;
  for (int i = 0; i < 10; ++i) half.add(i % 2);
  const double h = 5.5 / 11;
  CHECK(smoothed_variance(half, Estimand::kFaults, 0) == Approx(h * (1 - h)));
}

TEST_CASE("a stratified mean weighs strata by population; drawn whole, a stratum has no variance",
          "[sampler][stratified]") {
  const double z = normal_quantile(0.99);
  StratumSample a, b;
  a.population = 100;
  b.population = 300;
  for (int i = 0; i < 10; ++i) a.add(i < 5 ? 1 : 0);
  for (int i = 0; i < 30; ++i) b.add(i < 3 ? 1 : 0);
  const auto m = stratified_mean({a, b}, Estimand::kFaults, z);
  CHECK(m.value == Approx(0.25 * 0.5 + 0.75 * 0.1));
  CHECK(m.drawn == 40);
  CHECK(m.interval.low < m.value);
  CHECK(m.interval.high > m.value);
  CHECK(m.interval.low > 0);
  // The variance by the formula: sum W^2 S~^2 / n (N - n) / (N - 1), S~^2 Jeffreys-smoothed.
  const double pa = 5.5 / 11, pb = 3.5 / 31;
  const double expected = 0.0625 * pa * (1 - pa) / 10 * 90 / 99 + 0.5625 * pb * (1 - pb) / 30 * 270 / 299;
  CHECK(m.variance == Approx(expected));
  // A census of both: no variance left.
  StratumSample c;
  c.population = 4;
  for (int i = 0; i < 4; ++i) c.add(i == 0 ? 1 : 0);
  const auto census = stratified_mean({c}, Estimand::kFaults, z);
  CHECK(census.value == Approx(0.25));
  CHECK(census.variance == Approx(0).margin(1e-15));
  // An exact stratum counts as 0 without a draw; a stratum without draws leaves nothing known.
  StratumSample exact;
  exact.population = 100;
  exact.exact = true;
  CHECK(stratified_mean({a, exact}, Estimand::kFaults, z).value == Approx(0.25));
  StratumSample empty;
  empty.population = 10;
  const auto unknown = stratified_mean({a, empty}, Estimand::kFaults, z);
  CHECK(unknown.interval.low == 0);
  CHECK(unknown.interval.high == 1);
}

TEST_CASE("a domain of a stratified sample: the design-weighted ratio and its linearized variance",
          "[sampler][stratified]") {
  const double z = normal_quantile(0.99);
  // Two strata: A (N 100, 10 drawn, 4 in the domain with values 1, 1, 0, 0.5), B (N 300, 30 drawn,
  // 6 in the domain with values 1, 0, 0, 0, 0, 0).
  const std::vector<double> in_a{1, 1, 0, 0.5}, in_b{1, 0, 0, 0, 0, 0};
  const auto cell = [](double population, std::int64_t drawn, const std::vector<double>& values) {
    DomainCell c{population, drawn, static_cast<std::int64_t>(values.size()), 0, 0};
    for (double v : values) {
      c.sum += v;
      c.sum_squares += v * v;
    }
    return c;
  };
  const auto m = domain_mean({cell(100, 10, in_a), cell(300, 30, in_b)}, Estimand::kInferences, z);
  // N^_D = 100/10 * 4 + 300/30 * 6 = 100; Y^_D = 10 * 2.5 + 10 * 1 = 35.
  const double r = 0.35;
  CHECK(m.value == Approx(r));
  CHECK(m.drawn == 10);
  // u_i = [i in D](y_i - r) over every draw of the stratum (0 outside the domain), its sample
  // variance; the variance sum N_h^2 (N_h - n_h)/(N_h - 1) s_u^2 / n_h, over N^_D^2.
  const auto u_variance = [&](const std::vector<double>& values, int drawn) {
    std::vector<double> u(static_cast<std::size_t>(drawn), 0.0);
    for (std::size_t i = 0; i < values.size(); ++i) u[i] = values[i] - r;
    double mean = 0, squares = 0;
    for (double x : u) mean += x / drawn;
    for (double x : u) squares += (x - mean) * (x - mean);
    return squares / (drawn - 1);
  };
  const double linearized = (100.0 * 100 * 90 / 99 * u_variance(in_a, 10) / 10 +
                             300.0 * 300 * 270 / 299 * u_variance(in_b, 30) / 30) /
                            (100.0 * 100);
  // The domain's parts as strata of N^_hD = 40 and 60 faults, each variance with one
  // pseudo-observation at p~ = (sum + a) / (n + 2a), a = pooled mean 0.35 / 2.
  const auto part_variance = [](const std::vector<double>& values, double part) {
    const double n = static_cast<double>(values.size()), a = 0.35 / 2;
    double sum = 0, squares = 0;
    for (double v : values) sum += v;
    for (double v : values) squares += (v - sum / n) * (v - sum / n);
    const double p = (sum + a) / (n + 2 * a);
    const double variance = (squares + p * (1 - p)) / n;
    return (part / 100) * (part / 100) * variance / n * (part - n) / (part - 1);
  };
  const double smoothed = part_variance(in_a, 40) + part_variance(in_b, 60);
  const double expected = std::max(linearized, smoothed);
  CHECK(m.variance == Approx(expected));
  CHECK(m.effective == Approx(r * (1 - r) / expected));
  const auto wilson = wilson_interval(r * m.effective, m.effective, z);
  CHECK(m.interval.low == Approx(wilson.low));
  CHECK(m.interval.high == Approx(wilson.high));
  // A domain that is a whole stratum, drawn whole: its rate, without sampling error.
  const auto census = domain_mean({cell(4, 4, {1, 0, 0, 0})}, Estimand::kFaults, z);
  CHECK(census.value == Approx(0.25));
  CHECK(census.interval.low == Approx(0.25));
  CHECK(census.interval.high == Approx(0.25));
  // Values that do not vary (no critical fault): Wilson at the domain's own draws, not a point.
  const auto none = domain_mean({cell(1000, 50, std::vector<double>(20, 0.0))}, Estimand::kFaults, z);
  CHECK(none.value == 0);
  CHECK(none.interval.low == 0);
  CHECK(none.interval.high == Approx(wilson_interval(0, 20, z).high));
  CHECK(none.interval.high > 0.1);
  // No draws in the domain: nothing known.
  const auto unknown = domain_mean({DomainCell{100, 10, 0, 0, 0}}, Estimand::kFaults, z);
  CHECK(unknown.interval.low == 0);
  CHECK(unknown.interval.high == 1);
}

TEST_CASE("Neyman allocation follows N_h S_h, never past a stratum's population", "[sampler][stratified]") {
  const double z = normal_quantile(0.99);
  StratumSample spread, flat, small;
  spread.population = flat.population = 10000;
  small.population = 5;
  for (int i = 0; i < 20; ++i) {
    spread.add(i % 2);
    flat.add(0);
  }
  small.add(1);
  small.add(0);
  const auto n = neyman_allocation({spread, flat, small}, Estimand::kFaults, z, 0.01);
  const double s_spread = std::sqrt(smoothed_variance(spread, Estimand::kFaults, 0));
  const double s_flat = std::sqrt(smoothed_variance(flat, Estimand::kFaults, 0));
  CHECK(n[0] / n[1] == Approx(s_spread / s_flat).epsilon(1e-6));
  CHECK(n[1] > 20);  // the stratum that showed nothing critical is not starved
  CHECK(n[2] <= 5);
  // Proportional: by population alone.
  const auto p = neyman_allocation({spread, flat}, Estimand::kFaults, z, 0.01, true);
  CHECK(p[0] == Approx(p[1]));
}

namespace {

// Values as a weight fault would give them, from made-up stored weights (0.01 + flat / 1e4).
class MadeUpValues final : public FaultValues {
 public:
  explicit MadeUpValues(std::vector<Layer> layers) : layers_(std::move(layers)) {}
  std::pair<float, float> values(const Fault& fault) const override {
    const auto& shape = std::find_if(layers_.begin(), layers_.end(), [&](const Layer& l) {
                          return l.name == fault.layer;
                        })->shape;
    std::int64_t flat = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + fault.index.at(d);
    return values(fault.layer, flat, fault.bits, fault.model);
  }
  std::pair<float, float> values(const std::string&, std::int64_t flat, BitMask bits,
                                 FaultModel model) const override {
    const float stored = 0.01f + static_cast<float>(flat) / 1e4f;
    return {stored, apply_fault(stored, bits, model)};
  }

 private:
  std::vector<Layer> layers_;
};

std::vector<Layer> two_layers() { return {{"stage1.conv", {4, 3, 3, 3}, 0}, {"stage2.fc", {10, 8}, 0}}; }

}  // namespace

TEST_CASE("strata keys: layer, bit, and the size of the change a weight fault makes",
          "[sampler][stratified]") {
  const MadeUpValues values(two_layers());
  Fault f;
  f.layer = "stage2.fc";
  f.index = {0, 0};  // stored 0.01
  f.bits = BitMask::bit(30);
  f.model = FaultModel::kBitFlip;
  CHECK(stratum_key(f, Strata::kLayer, nullptr) == "stage2.fc");
  CHECK(stratum_key(f, Strata::kBit, nullptr) == "bit 30");
  CHECK(stratum_key(f, Strata::kLayerBit, nullptr) == "stage2.fc bit 30");
  // 0.01 = 1.28 * 2^-7; bit 30 set, it becomes 1.28 * 2^121.
  CHECK(stratum_key(f, Strata::kDelta, &values) == "|d| 2^121");
  CHECK(stratum_key(f, Strata::kStageDelta, &values) == "stage2 |d| 2^121");
  CHECK(stratum_key(f, Strata::kLayerDelta, &values) == "stage2.fc |d| 2^121");
  // The lowest mantissa bit of 0.01 (exponent -7): a change of 2^-30.
  f.bits = BitMask::bit(0);
  CHECK(stratum_key(f, Strata::kDelta, &values) == "|d| 2^-30");
  // Stuck-at-0 of a bit that is 0 leaves the word as it was: exact, masked.
  f.bits = BitMask::bit(31);
  f.model = FaultModel::kStuckAt0;
  CHECK(stratum_key(f, Strata::kDelta, &values) == kUnchangedKey);
  CHECK(stratum_key(f, Strata::kBit, &values) == "bit 31");  // only data-aware strata look at values
  // Data-aware strata need the values.
  CHECK_THROWS_WITH(stratum_key(f, Strata::kDelta, nullptr), Catch::Contains("--strata delta needs"));
}

TEST_CASE("a list pool draws each stratum's faults without repeats, in an order set by the seed",
          "[sampler][stratified]") {
  const auto layers = test::resnet20_layers();
  const auto list = spread_sample(generate_fault_list(layers, {}), 3000);
  auto pool = list_pool(list, Strata::kBit, nullptr, 38);
  CHECK(pool->population() == Approx(3000));
  std::set<std::int64_t> seen;
  std::vector<std::int64_t> first;
  for (std::size_t h = 0; h < pool->keys().size(); ++h) {
    const auto n = static_cast<std::size_t>(pool->populations()[h]);
    const auto part = pool->draw(h, 5);
    const auto rest = pool->draw(h, n);  // more than is left: what is left
    CHECK(part.size() + rest.size() == n);
    CHECK(pool->draw(h, 1).empty());
    for (const auto* faults : {&part, &rest})
      for (const auto& f : *faults) {
        CHECK(seen.insert(f.injection).second);
        CHECK(*pool->stratum_of(f.injection) == h);
        CHECK(pool->keys()[h] == "bit " + std::to_string(f.bits.lowest()));
      }
    if (!part.empty()) first.push_back(part.front().injection);
  }
  CHECK(seen.size() == 3000);
  // The same seed draws the same; another, another order.
  auto again = list_pool(list, Strata::kBit, nullptr, 38);
  auto other = list_pool(list, Strata::kBit, nullptr, 39);
  std::size_t same = 0, differs = 0;
  for (std::size_t h = 0; h < first.size(); ++h) {
    CHECK(again->draw(h, 1).front().injection == first[h]);
    (other->draw(h, 1).front().injection == first[h] ? same : differs)++;
  }
  CHECK(differs > same);
}

TEST_CASE("a list pool's draws are uniform within a stratum", "[sampler][stratified]") {
  // 100 faults of one stratum, the first of 4000 seeds' draws: each fault about 40 times.
  std::vector<Fault> list(100);
  for (std::size_t i = 0; i < list.size(); ++i) {
    list[i].injection = static_cast<std::int64_t>(i);
    list[i].layer = "l";
    list[i].index = {0};
    list[i].bits = BitMask::bit(1);
  }
  const auto strata = list_strata(list, Strata::kNone, nullptr);
  std::vector<int> hits(100, 0);
  for (std::uint64_t seed = 0; seed < 4000; ++seed)
    ++hits[list_pool(list, strata, seed)->draw(0, 1).front().injection];
  double chi2 = 0;
  for (int h : hits) chi2 += (h - 40.0) * (h - 40.0) / 40.0;
  CHECK(chi2 < 150);  // 99.9% point of chi-square with 99 degrees of freedom: 148.2
}

TEST_CASE("the population pool counts every element x bit and numbers faults by their place",
          "[sampler][stratified]") {
  PopulationSpec spec;
  spec.targets = two_layers();       // 108 + 80 elements
  spec.bits = BitMask(0xFF800000u);  // bits 23..31
  const MadeUpValues values(spec.targets);
  for (auto strata : {Strata::kLayerBit, Strata::kStageDelta}) {
    auto pool = population_pool(spec, strata, &values, 5);
    CHECK(pool->population() == Approx(188 * 9));
    std::set<std::int64_t> seen;
    for (std::size_t h = 0; h < pool->keys().size(); ++h) {
      const auto faults = pool->draw(h, 100000);
      CHECK(faults.size() == static_cast<std::size_t>(pool->populations()[h]));
      for (const auto& f : faults) {
        CHECK(seen.insert(f.injection).second);
        const auto again = population_fault(spec, f.injection);
        REQUIRE(again);
        CHECK(again->layer == f.layer);
        CHECK(again->index == f.index);
        CHECK(again->bits == f.bits);
        CHECK(stratum_key(f, strata, &values) == pool->keys()[h]);
      }
    }
    CHECK(seen.size() == 188 * 9);
  }
  CHECK_FALSE(population_fault(spec, 3));         // bit 3 is not drawable
  CHECK_FALSE(population_fault(spec, 188 * 32));  // past the last element
  CHECK(population_fault(spec, 108 * 32 + 23)->layer == "stage2.fc");
}

TEST_CASE("stratified rounds: a pilot, Neyman rounds, the margin met, no stratum starved",
          "[sampler][stratified]") {
  const auto layers = test::resnet20_layers();
  const auto list = generate_fault_list(layers, {});
  IterativeOptions options;
  options.margin = 0.01;
  options.strata = Strata::kBit;
  auto sampler = stratified_rounds(list_pool(list, Strata::kBit, nullptr, 38), options);
  std::vector<std::size_t> rounds;
  const auto drawn = drain(*sampler, &rounds);
  const auto status = *sampler->status();
  CHECK(status.met);
  CHECK(status.faults->interval.half_width() <= 0.01);
  CHECK(rounds.front() == 3 * 32);  // the pilot: 3 faults of each bit
  std::set<std::int64_t> seen;
  for (const auto& f : drawn) CHECK(seen.insert(f.injection).second);
  // The made-up truth: exponent bits critical, the rest not. Its rate is known exactly.
  double truth = 0;
  for (const auto& f : list) truth += f.bits.lowest() >= 23 && f.bits.lowest() <= 30;
  truth /= static_cast<double>(list.size());
  CHECK(status.faults->interval.low <= truth);
  CHECK(status.faults->interval.high >= truth);
  // Far fewer than simple random sampling, and every stratum drawn past its pilot although
  // every one is all-or-nothing here.
  CHECK(static_cast<double>(drawn.size()) < 0.5 * status.simple_random_needs);
  for (const auto& s : status.fault_samples) CHECK(s.drawn > 3);
}

TEST_CASE("stratified rounds are the same for the same seed, and stop on the estimand asked for",
          "[sampler][stratified]") {
  const auto layers = test::resnet20_layers();
  const auto list = generate_fault_list(layers, {});
  IterativeOptions options;
  options.margin = 0.02;
  options.strata = Strata::kLayerBit;
  auto a = stratified_rounds(list_pool(list, Strata::kLayerBit, nullptr, 38), options);
  auto b = stratified_rounds(list_pool(list, Strata::kLayerBit, nullptr, 38), options);
  const auto da = drain(*a), db = drain(*b);
  REQUIRE(da.size() == db.size());
  for (std::size_t i = 0; i < da.size(); ++i) CHECK(da[i].injection == db[i].injection);
  options.estimand = Estimand::kInferences;
  options.margin = 0.001;
  auto c = stratified_rounds(list_pool(list, Strata::kLayerBit, nullptr, 38), options);
  drain(*c);
  const auto status = *c->status();
  CHECK(status.met);
  CHECK(status.inferences->interval.half_width() <= 0.001);
  CHECK(status.estimand == Estimand::kInferences);
}
