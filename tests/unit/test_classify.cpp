#include <torch/torch.h>

#include <catch2/catch.hpp>
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

TEST_CASE("NaN or Inf logits are critical and reported even with the same argmax", "[classify]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto golden = rows({{1, 5, 0}, {1, 5, 0}, {1, 5, 0}});
  auto faulty = rows({{1, 5, nan}, {1, inf, 0}, {1, 5, 0}});
  auto c = classify(golden, faulty);
  CHECK(c.critical == 2);
  CHECK(c.non_finite == 2);
  CHECK(c.masked == 1);
  CHECK(c.masked + c.non_critical + c.critical == c.injections);
}
