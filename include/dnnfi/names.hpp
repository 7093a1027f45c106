#pragma once
// Name tables: each enumeration that users spell (fault models, engines, data formats) has one
// table of its names, and these look things up in it.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dnnfi {

template <typename T>
struct Named {
  T value;
  std::string_view name;
};

template <typename T, std::size_t N>
std::optional<T> value_named(const Named<T> (&table)[N], std::string_view name) {
  for (const auto& entry : table)
    if (entry.name == name) return entry.value;
  return std::nullopt;
}

template <typename T, std::size_t N>
std::string_view name_of(const Named<T> (&table)[N], T value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry.name;
  return "unknown";
}

template <typename T, std::size_t N>
std::vector<std::string> names_of(const Named<T> (&table)[N]) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.name);
  return names;
}

}  // namespace dnnfi
