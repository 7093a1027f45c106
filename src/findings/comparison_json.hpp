#pragma once
// A comparison as one JSON object, for `compare --json` and a report's `reference`.
#include <string_view>

#include "platform/json.hpp"

namespace dnnfi {
struct Comparison;
// `kind`, when given, is its first key.
void write_json(json::Writer& out, const Comparison& comparison, std::string_view kind = {});
}  // namespace dnnfi
