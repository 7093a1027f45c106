#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "dnnfi/outcome.hpp"

using namespace dnnfi;

namespace {
torch::Tensor rows(std::vector<std::vector<float>> values) {
  auto t = torch::empty({static_cast<long>(values.size()), static_cast<long>(values[0].size())});
  for (std::size_t i = 0; i < values.size(); ++i)
    for (std::size_t j = 0; j < values[i].size(); ++j) t[i][j] = values[i][j];
  return t;
}
}  // namespace

TEST_CASE("identical logits are masked, changed logits with the same top-1 are non-critical", "[classify]") {
  auto golden = rows({{1, 2, 3}, {3, 2, 1}});
  auto faulty = rows({{1, 2, 3}, {3, 2.5f, 1}});
  auto c = classify(golden, faulty);
  CHECK(c.injections == 2);
  CHECK(c.masked == 1);
  CHECK(c.non_critical == 1);
  CHECK(c.critical == 0);
}

TEST_CASE("a changed top-1 is critical", "[classify]") {
  auto c = classify(rows({{1, 2, 3}}), rows({{1, 4, 3}}));
  CHECK(c.critical == 1);
  CHECK(c.masked == 0);
}

TEST_CASE("a one-ulp change is not masked", "[classify]") {
  const float g = 0.3f;
  auto c = classify(rows({{g, 1}}), rows({{std::nextafter(g, 1.0f), 1}}));
  CHECK(c.masked == 0);
  CHECK(c.non_critical == 1);
}

TEST_CASE("signed zero differs bitwise from zero", "[classify]") {
  auto c = classify(rows({{0.0f, 1}}), rows({{-0.0f, 1}}));
  CHECK(c.non_critical == 1);
}

TEST_CASE("NaN or Inf logits are critical when PyTorch's argmax moves, and always counted", "[classify]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // Golden top-1 is class 1 everywhere. Row 0: argmax takes the NaN (class 2): critical. Row 1:
  // Inf on the golden class keeps the argmax: non-critical, yet not masked. Row 2: NaN first
  // at class 0 wins over the later NaN: critical. Row 3: bit-identical: masked.
  auto golden = rows({{1, 5, 0}, {1, 5, 0}, {1, 5, 0}, {1, 5, 0}});
  auto faulty = rows({{1, 5, nan}, {1, inf, 0}, {nan, 5, nan}, {1, 5, 0}});
  SECTION("the seed's rule (default): argmax decides") {
    auto c = classify(golden, faulty);
    CHECK(c.critical == 2);
    CHECK(c.non_critical == 1);
    CHECK(c.masked == 1);
    CHECK(c.non_finite == 3);
    // A NaN in the golden class itself: argmax still lands on it, the image is non-critical.
    CHECK(classify(rows({{1, 5, 0}}), rows({{1, nan, 0}})).non_critical == 1);
  }
  SECTION("--non-finite critical: every NaN/Inf image is critical") {
    auto c = classify(golden, faulty, NonFiniteRule::kCritical);
    CHECK(c.critical == 3);
    CHECK(c.non_critical == 0);
    CHECK(c.masked == 1);
    CHECK(c.non_finite == 3);
    CHECK(c.masked + c.non_critical + c.critical == c.injections);
  }
}

TEST_CASE("counts summed batch by batch on the device equal the counts of the whole", "[classify]") {
  torch::manual_seed(5);
  const auto golden = torch::randn({50, 10});
  auto faulty = golden.clone();
  faulty.narrow(0, 10, 15).add_(torch::randn({15, 10}));  // some non-critical, some critical
  faulty[40][3] = std::numeric_limits<float>::quiet_NaN();
  faulty[41][0] = std::numeric_limits<float>::infinity();
  for (auto rule : {NonFiniteRule::kArgmax, NonFiniteRule::kCritical}) {
    CountSums sums;
    for (std::int64_t start = 0; start < 50; start += 16) {
      const auto length = std::min<std::int64_t>(16, 50 - start);
      sums.add(golden.narrow(0, start, length), faulty.narrow(0, start, length), rule, start);
    }
    const auto whole = classify(golden, faulty, rule);
    CHECK(sums.total() == whole);
    CHECK(whole.injections == 50);
    CHECK(whole.masked == 50 - 15 - 2);
    CHECK(whole.non_finite == 2);
    CHECK(whole.critical > 0);
  }
  CHECK(CountSums().total() == Counts{});
}

TEST_CASE("several faults' sums come to the host in one copy, each as its own total", "[classify]") {
  torch::manual_seed(6);
  const auto golden = torch::randn({40, 10});
  std::vector<CountSums> sums(4);  // the third gets no batch: an empty total
  for (std::size_t i = 0; i < sums.size(); ++i) {
    if (i == 2) continue;
    auto faulty = golden.clone();
    faulty.narrow(0, 0, static_cast<std::int64_t>(5 * (i + 1))).add_(1.0f);
    sums[i].add(golden.narrow(0, 0, 24), faulty.narrow(0, 0, 24), NonFiniteRule::kArgmax, 0);
    sums[i].add(golden.narrow(0, 24, 16), faulty.narrow(0, 24, 16), NonFiniteRule::kArgmax, 24);
  }
  const auto totals = CountSums::totals(sums);
  REQUIRE(totals.size() == 4);
  for (std::size_t i = 0; i < sums.size(); ++i) CHECK(totals[i] == sums[i].total());
  CHECK(totals[2] == Counts{});
  CHECK(totals[3].masked == 40 - 20);
}

// Which images are critical and their class, computed here image by image with the rule's words.
static std::vector<CriticalImage> expected_critical(const torch::Tensor& golden, const torch::Tensor& faulty,
                                                    NonFiniteRule rule, std::int64_t first_image) {
  std::vector<CriticalImage> out;
  for (std::int64_t i = 0; i < golden.size(0); ++i) {
    const auto g = golden[i], f = faulty[i];
    const bool same = torch::equal(g.view(torch::kInt32), f.view(torch::kInt32));
    const bool non_finite = !f.isfinite().all().item<bool>();
    // PyTorch's argmax: the first NaN, else the first largest.
    std::int64_t top = 0;
    for (std::int64_t k = 0; k < f.size(0); ++k) {
      const float v = f[k].item<float>(), best = f[top].item<float>();
      if (std::isnan(v)) {
        top = k;
        break;
      }
      if (v > best) top = k;
    }
    const bool critical =
        (!same && top != g.argmax().item<std::int64_t>()) || (rule == NonFiniteRule::kCritical && non_finite);
    if (critical) out.push_back({first_image + i, top});
  }
  return out;
}

TEST_CASE("per image: critical images and their faulty classes, whatever order batches come in",
          "[classify]") {
  torch::manual_seed(7);
  const auto golden = torch::randn({60, 10});
  auto faulty = golden.clone();
  faulty.narrow(0, 5, 30).add_(torch::randn({30, 10}) * 2);
  faulty[44][7] = std::numeric_limits<float>::quiet_NaN();  // NaN: its class is 7
  faulty[50][1] = std::numeric_limits<float>::infinity();
  for (auto rule : {NonFiniteRule::kArgmax, NonFiniteRule::kCritical}) {
    const auto expected = expected_critical(golden, faulty, rule, 1000);
    REQUIRE(!expected.empty());
    // Images 1000.., as an engine's chunk starting there: a contiguous batch, gathered rows out of
    // order, and the rest.
    CountSums sums(true, 1000);
    sums.add(golden.narrow(0, 0, 20), faulty.narrow(0, 0, 20), rule, 0);
    const auto rows = torch::tensor(std::vector<std::int64_t>{41, 20, 33, 59, 25});
    sums.add(golden.index_select(0, rows), faulty.index_select(0, rows), rule, rows);
    std::vector<std::int64_t> rest;
    for (std::int64_t i = 20; i < 60; ++i)
      if (i != 41 && i != 33 && i != 59 && i != 25 && i != 20) rest.push_back(i);
    const auto others = torch::tensor(rest);
    sums.add(golden.index_select(0, others), faulty.index_select(0, others), rule, others);
    const auto total = sums.total();
    CHECK(total.critical_images == expected);
    CHECK(static_cast<std::int64_t>(total.critical_images.size()) == total.critical);
    CHECK(tally_of(total) == classify(golden, faulty, rule));
    // classify and totals() carry them as well, numbered from 0 and from the chunk's start.
    CHECK(classify(golden, faulty, rule, true).critical_images == expected_critical(golden, faulty, rule, 0));
    std::vector<CountSums> several(2, CountSums(true, 1000));
    several[1].add(golden, faulty, rule, 0);
    const auto totals = CountSums::totals(several);
    CHECK(totals[1].critical_images == expected);
    CHECK(totals[0].critical_images.empty());
  }
  // Off by default: counts only.
  CountSums plain;
  plain.add(golden, faulty, NonFiniteRule::kArgmax, 0);
  CHECK(plain.total().critical_images.empty());
  CHECK(plain.total().critical > 0);
}
