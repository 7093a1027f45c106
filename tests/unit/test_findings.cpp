// Statistics, reports and comparisons of results, on hand-made rows with known answers.
#include <catch2/catch.hpp>
#include <cmath>

#include "dnnfi/errors.hpp"
#include "dnnfi/findings.hpp"
#include "test_support.hpp"

using namespace dnnfi;
using Catch::Matchers::Contains;

namespace {

ResultRow row(std::int64_t injection, const std::string& layer, int bit, std::int64_t critical,
              std::int64_t masked = 0, std::int64_t n = 100, std::int64_t non_finite = 0) {
  ResultRow r;
  r.fault.injection = injection;
  r.fault.layer = layer;
  r.fault.index = {0, 0, 0, static_cast<std::int64_t>(injection)};
  r.fault.bits = BitMask::bit(bit);
  r.counts = Counts{n, masked, n - masked - critical, critical, non_finite, {}};
  return r;
}

}  // namespace

TEST_CASE("Wilson intervals match hand-computed values and stay inside 0..1", "[findings]") {
  // 5838 of 16627 (the published ResNet20 list), z = 2.5758: center and half-width by hand.
  const auto ci = wilson_interval(5838, 16627, kZ99);
  const double n = 16627, p = 5838 / n, z = kZ99;
  const double center = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z / (1 + z * z / n) * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  CHECK(ci.low == Approx(center - half).epsilon(1e-12));
  CHECK(ci.high == Approx(center + half).epsilon(1e-12));
  CHECK(ci.low == Approx(0.3416).margin(5e-4));
  CHECK(ci.high == Approx(0.3606).margin(5e-4));
  // None of 50: the interval is not [0, 0] as the normal approximation would say.
  const auto none = wilson_interval(0, 50, kZ99);
  CHECK(none.low == 0);
  CHECK(none.high == Approx(0.1172).margin(5e-4));
  const auto all = wilson_interval(50, 50, kZ99);
  CHECK(all.high == Approx(1.0));
  // The interval holds the rate exactly, whatever the rounding (charts draw rate - low and
  // high - rate as error bars, which must not be negative): 0 of n starts at 0, n of n ends at 1.
  for (int trials = 1; trials <= 200; ++trials) {
    CHECK(wilson_interval(0, trials, kZ99).low == 0.0);
    CHECK(wilson_interval(trials, trials, kZ99).high == 1.0);
    for (int k = 0; k <= trials; k += 7) {
      const auto interval = wilson_interval(k, trials, kZ99);
      const double rate = static_cast<double>(k) / trials;
      CHECK(interval.low <= rate);
      CHECK(interval.high >= rate);
    }
  }
  CHECK(all.low > 0.85);
  // The whole population sampled: no sampling error left.
  const auto census = wilson_interval(30, 100, kZ99, 100);
  CHECK(census.low == Approx(0.3));
  CHECK(census.high == Approx(0.3));
  CHECK(wilson_interval(30, 100, kZ99, 200).half_width() < wilson_interval(30, 100, kZ99).half_width());
}

TEST_CASE("the statistical list's size achieves its design margin read backwards", "[findings]") {
  const double population = 268336.0 * 64;  // ResNet20
  CHECK(achieved_margin(16627, population) == Approx(0.01).epsilon(1e-3));
  CHECK(achieved_margin(population, population) == 0);
  CHECK(achieved_margin(16627, 0) > achieved_margin(16627, population));
}

TEST_CASE("a report counts the population of the list's format and bits, and names their fields",
          "[findings]") {
  const std::vector<ResultRow> rows = {row(0, "a", 7, 3), row(1, "a", 6, 0), row(2, "b", 0, 0)};
  ReportOptions options;
  options.layers = {{"a", {2, 2}}, {"b", {2, 2}}};
  options.format = WordFormat::kInt8;
  const auto int8 = make_report(rows, "r.csv", options);
  CHECK(int8.population == 8 * 8 * 2);
  REQUIRE(int8.fields.size() == 2);
  CHECK(int8.fields[0].name == "sign");
  CHECK(int8.fields[1].name == "magnitude");
  CHECK_THAT(report_json(int8), Contains("\"format\":\"int8\",\"word_bits\":8,\"target\":\"weights\""));
  CHECK_THAT(report_text(int8), Contains("faults in        weights stored as int8 (8 bits)"));
  // A --bits 23-30 list: the population of those bits only, so a wider margin for the same faults.
  options.format = WordFormat::kFp32;
  const auto every = make_report(rows, "r.csv", options);
  options.bits = BitMask(0x7F800000u);
  const auto exponent = make_report(rows, "r.csv", options);
  CHECK(every.population == 8 * 32 * 2);
  CHECK(exponent.population == 8 * 8 * 2);
  CHECK(exponent.margin < every.margin);  // the finite-population correction of a smaller population
  // A bit past the word is no fault of that format: said, naming the fault.
  options.format = WordFormat::kInt8;
  options.bits = BitMask(0xFFFFFFFFu);
  CHECK_THROWS_WITH(make_report({row(5, "a", 12, 0)}, "r.csv", options),
                    Contains("Injection 5 faults bit 12, past the 8 bits of int8"));
}

TEST_CASE("a report groups faults by layer in network order, by bit and by bit field", "[findings]") {
  const std::vector<ResultRow> rows = {row(0, "b", 31, 3), row(1, "a", 30, 0, 100), row(2, "a", 3, 0, 50),
                                       row(3, "a", 30, 100, 0, 100, 40)};
  ReportOptions options;
  options.layers = {{"a", {2, 2}}, {"b", {2, 2}}, {"c", {1, 1}}};
  const auto r = make_report(rows, "r.csv", options);
  CHECK(r.overall.faults == 4);
  CHECK(r.overall.critical_faults == 2);
  CHECK(r.overall.critical_fault_rate == 0.5);
  CHECK(r.population == 9 * 64);
  REQUIRE(r.layers.size() == 2);  // network order, layer c has no fault
  CHECK(r.layers[0].name == "a");
  CHECK(r.layers[0].faults == 3);
  CHECK(r.layers[0].critical_faults == 1);
  CHECK(r.layers[1].name == "b");
  CHECK(r.layers[0].mean_sdc1 == Approx(1.0 / 3));
  CHECK(r.overall.masked_share == Approx(150.0 / 400));
  REQUIRE(r.overall.non_finite_share);
  CHECK(*r.overall.non_finite_share == Approx(40.0 / 400));
  REQUIRE(r.bits.size() == 3);
  CHECK(r.bits[1].name == "30");
  CHECK(r.bits[1].faults == 2);
  REQUIRE(r.fields.size() == 3);
  CHECK(r.fields[0].name == "sign");
  CHECK(r.fields[1].name == "exponent");
  CHECK(r.fields[2].name == "mantissa");
  CHECK(r.layer_fields[0][1].faults == 2);  // layer a, exponent
  CHECK(r.critical_sdc1 == std::vector<double>{0.03, 1.0});
  CHECK(r.most_critical.front().fault.injection == 3);
  const auto json = report_json(r);
  CHECK_THAT(json, Contains("\"faults\":4,\"critical_faults\":2,\"critical_fault_rate\":0.5,\"ci99\":["));
  CHECK_THAT(json, Contains("{\"layer\":\"a\",\"faults\":3,\"critical_faults\":1,"));
  CHECK_THAT(json, Contains("{\"bit\":30,\"field\":\"exponent\",\"faults\":2,"));
  CHECK_THAT(report_text(r), Contains("critical faults  2 of 4 = 50.0%"));
}

TEST_CASE("a report refuses layers the model does not have, and an empty file", "[findings]") {
  ReportOptions options;
  options.layers = {{"a", {2, 2}}};
  CHECK_THROWS_WITH(make_report({row(7, "z", 1, 0)}, "r.csv", options),
                    Contains("layer 'z' (Injection 7) is not a layer of the model"));
  CHECK_THROWS_AS(make_report({}, "r.csv", ReportOptions{}), InputError);
}

TEST_CASE("comparisons match faults by layer, index and bit, and measure critical differences",
          "[findings]") {
  std::vector<ResultRow> a = {row(0, "a", 1, 10), row(1, "a", 2, 0), row(2, "b", 3, 7), row(3, "b", 4, 1)};
  // B numbers its faults differently: matching goes by layer, index and bit.
  std::vector<ResultRow> b = {row(0, "a", 1, 11), row(1, "a", 2, 0), row(2, "b", 3, 3), row(3, "c", 4, 1)};
  for (auto& r : b) r.fault.injection += 10;
  b[1].counts.masked = 5;
  b[1].counts.non_critical -= 5;
  b.push_back(row(3, "b", 4, 1, 0, 50));  // the same fault as a[3], over another image count
  const auto c = compare_results(a, "a.csv", b, "b.csv", 2);
  CHECK(c.common == 3);
  CHECK(c.other_images == 1);
  CHECK(c.critical_exact == 1);
  CHECK(c.critical_within_1 == 2);
  CHECK(c.critical_within_k == 2);
  CHECK(c.largest_critical_diff == 4);
  CHECK(c.masked_exact == 2);
  CHECK_FALSE(c.within_limit());
  REQUIRE_FALSE(c.largest.empty());
  CHECK(c.largest.front().a.fault.layer == "b");
  CHECK(c.a_critical_fault_rate == Approx(2.0 / 3));
  CHECK(compare_results(a, "a.csv", a, "a.csv", 0).within_limit());
}

TEST_CASE("normal quantiles for the usual confidences", "[findings]") {
  CHECK(normal_quantile(0.99) == Approx(kZ99).epsilon(1e-12));
  CHECK(normal_quantile(0.95) == Approx(1.959963984540054).epsilon(1e-12));
  CHECK(normal_quantile(0.9973) == Approx(3.0).margin(1e-3));
}

TEST_CASE("a stratified estimate weights each stratum's rate by its share", "[findings]") {
  // Two layers, 3/4 and 1/4 of the weights: 10 of 100 and 50 of 100 faults critical.
  const std::vector<Stratum> strata = {
      {"a", 0.75, 1e9, 100, 10}, {"b", 0.25, 1e9, 100, 50}, {"c", 0.5, 1e9, 0, 0}};
  const auto e = stratified_estimate(strata, kZ99);
  // Stratum c has no draws: it is left out, the weights of a and b renormalized over them.
  const double wa = 0.75 / 1.0, wb = 0.25 / 1.0;
  CHECK(e.rate == Approx(wa * 0.1 + wb * 0.5));
  const double variance = wa * wa * 0.1 * 0.9 / 100 + wb * wb * 0.5 * 0.5 / 100;
  const double effective = e.rate * (1 - e.rate) / variance;
  const auto expected = wilson_interval(e.rate * effective, effective, kZ99);
  CHECK(e.interval.low == Approx(expected.low));
  CHECK(e.interval.high == Approx(expected.high));
  CHECK(e.drawn == 200);
  // Every stratum at 0: no variance to go by, the interval still has width (Wilson at the draws).
  const auto zero = stratified_estimate({{"a", 1, 1e9, 200, 0}}, kZ99);
  CHECK(zero.rate == 0);
  CHECK(zero.interval.high == Approx(wilson_interval(0, 200, kZ99).high));
}

TEST_CASE("a stratified campaign's report weighs its rates by its design, not by the sample", "[findings]") {
  // Stratum A (100 faults): injections 1, 2; stratum B (900): 3, 4, 5.
  const auto design = parse_design("test design", "A=100;B=900", "1:0,2:0,3:1,4:1,5:1", "it.csv.json");
  CHECK(design.strata == std::vector<std::string>{"A", "B"});
  const std::vector<ResultRow> rows{row(1, "a", 30, 10), row(2, "b", 3, 0), row(3, "a", 3, 0),
                                    row(4, "b", 2, 0), row(5, "b", 29, 1)};
  ReportOptions options;
  options.design = design;
  const auto report = make_report(rows, "it.csv", options);
  REQUIRE(report.design);
  const auto& d = *report.design;
  CHECK(d.population == 1000);
  // Per fault: 0.1 x 1/2 + 0.9 x 1/3; per inference: 0.1 x (0.10 + 0) / 2 + 0.9 x (0 + 0 + 0.01) / 3.
  CHECK(d.faults.value == Approx(0.35));
  CHECK(d.inferences.value == Approx(0.008));
  CHECK(report.overall.critical_fault_rate == Approx(0.4));  // the sample's, unweighted
  CHECK_FALSE(report.stratified);
  REQUIRE(d.strata.size() == 2);
  CHECK(d.strata[1].drawn == 3);
  CHECK(d.strata[1].critical_faults == 1);
  CHECK(d.strata[1].population == 900);
  // A stratum drawn whole has no sampling error, one fault or many.
  CHECK(wilson_interval(1, 1, kZ99, 1).low == 1);
  CHECK(wilson_interval(0, 2, kZ99, 2).high == 0);
  // Layer a: fault 1 stands for 50 faults (critical), fault 3 for 300 (not): 50 / 350.
  REQUIRE(d.layers.size() == 2);
  CHECK(d.layers[0].name == "a");
  CHECK(d.layers[0].critical_fault_rate == Approx(50.0 / 350));
  CHECK(d.layers[1].critical_fault_rate == Approx(300.0 / 650));
  CHECK(d.layers[1].population == Approx(650));
  // A simple random sample of 5 from 1000 at the same rate has a larger variance here.
  CHECK(d.design_effect > 0);
  CHECK_THAT(report_text(report), Contains("design           test design"));
  CHECK_THAT(report_json(report), Contains("\"design\":"));
  // A row the design did not draw, and designs that do not parse, are named.
  auto extra = rows;
  extra.push_back(row(6, "a", 1, 0));
  CHECK_THROWS_WITH(make_report(extra, "it.csv", options),
                    Contains("Injection 6 is not a fault the campaign's design drew"));
  CHECK_THROWS_WITH(parse_design("d", "A=x", "", "it.csv.json"),
                    Contains("it.csv.json") && Contains("'A=x'"));
  CHECK_THROWS_WITH(parse_design("d", "A=1", "1:3", "it.csv.json"), Contains("past the last"));
  CHECK_THROWS_WITH(parse_design("d", "A=1", "1:0,1:0", "it.csv.json"), Contains("listed twice"));
}
