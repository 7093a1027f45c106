// Samplers (src/campaign/sampler): allocation and stopping, with outcomes made up, no model.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "campaign/sampler.hpp"
#include "dnnfi/fault_list.hpp"
#include "test_support.hpp"

using namespace dnnfi;

namespace {

// A made-up truth: exponent bits are critical, the rest are not.
ResultRow outcome(const Fault& f) {
  const bool critical = f.bits.lowest() >= 23 && f.bits.lowest() <= 30;
  return ResultRow{f, Counts{100, critical ? 0 : 100, 0, critical ? 100 : 0, 0}, NonFiniteRule::kArgmax};
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
