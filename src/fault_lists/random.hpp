#pragma once
// Random draws that mean the same on every platform: the standard engines are specified bit for
// bit, the standard distributions are not.
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace dnnfi {

// Uniform integer in [0, bound) by rejection.
inline std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t draw;
  do draw = rng();
  while (draw >= limit);
  return draw % bound;
}

// Fisher-Yates shuffle with uniform_below.
template <typename T>
void shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[uniform_below(rng, i)]);
}

}  // namespace dnnfi
