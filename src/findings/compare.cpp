// `dnnfi compare`: two campaigns over the same faults, fault by fault.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "comparison_json.hpp"
#include "dnnfi/findings.hpp"
#include "dnnfi/word_format.hpp"

namespace dnnfi {
namespace {

// Faults are matched by site; the same site under another fault model is counted apart.
std::string fault_label(const Fault& f) { return site(f); }

}  // namespace

Comparison compare_results(const std::vector<ResultRow>& a, const std::string& a_source,
                           const std::vector<ResultRow>& b, const std::string& b_source,
                           std::int64_t max_critical_diff, std::size_t largest) {
  Comparison c;
  c.a_source = a_source;
  c.b_source = b_source;
  c.a_faults = static_cast<std::int64_t>(a.size());
  c.b_faults = static_cast<std::int64_t>(b.size());
  c.max_critical_diff = max_critical_diff;
  std::map<std::string, const ResultRow*> by_fault;
  for (const auto& row : a) by_fault.emplace(site(row.fault), &row);
  std::int64_t a_critical = 0, b_critical = 0;
  std::vector<FaultDifference> differences;
  for (const auto& rb : b) {
    const auto it = by_fault.find(site(rb.fault));
    if (it == by_fault.end()) continue;
    const auto& ra = *it->second;
    if (ra.fault.model != rb.fault.model) {
      ++c.other_fault_model;
      continue;
    }
    if (ra.counts.injections != rb.counts.injections) {
      ++c.other_images;
      continue;
    }
    ++c.common;
    const auto diff = std::llabs(ra.counts.critical - rb.counts.critical);
    c.critical_exact += diff == 0;
    c.critical_within_1 += diff <= 1;
    c.critical_within_k += diff <= max_critical_diff;
    c.masked_exact += ra.counts.masked == rb.counts.masked;
    c.non_critical_exact += ra.counts.non_critical == rb.counts.non_critical;
    c.largest_critical_diff = std::max<std::int64_t>(c.largest_critical_diff, diff);
    a_critical += ra.counts.critical > 0;
    b_critical += rb.counts.critical > 0;
    differences.push_back(FaultDifference{ra, rb, diff});
  }
  if (c.common > 0) {
    c.a_critical_fault_rate = static_cast<double>(a_critical) / c.common;
    c.b_critical_fault_rate = static_cast<double>(b_critical) / c.common;
  }
  std::stable_sort(
      differences.begin(), differences.end(),
      [](const FaultDifference& x, const FaultDifference& y) { return x.critical_diff > y.critical_diff; });
  differences.resize(std::min(largest, differences.size()));
  c.largest = std::move(differences);
  return c;
}

std::string comparison_text(const Comparison& c) {
  auto share = [&](std::int64_t n) { return c.common ? 100.0 * static_cast<double>(n) / c.common : 0.0; };
  std::string text =
      fmt::format("A {}: {} faults\nB {}: {} faults\n", c.a_source, c.a_faults, c.b_source, c.b_faults);
  text += fmt::format("in both (same Layer, TensorIndex, Bit, fault model and images): {}\n", c.common);
  if (c.other_images) text += fmt::format("  not compared, other image counts: {}\n", c.other_images);
  if (c.other_fault_model)
    text += fmt::format("  not compared, other fault models: {}\n", c.other_fault_model);
  text +=
      fmt::format("critical      exact {} ({:.1f}%), within 1: {} ({:.1f}%), within {}: {} ({:.1f}%)\n",
                  c.critical_exact, share(c.critical_exact), c.critical_within_1, share(c.critical_within_1),
                  c.max_critical_diff, c.critical_within_k, share(c.critical_within_k));
  text += fmt::format("masked        exact {} ({:.1f}%)\nnon-critical  exact {} ({:.1f}%)\n", c.masked_exact,
                      share(c.masked_exact), c.non_critical_exact, share(c.non_critical_exact));
  text += fmt::format("critical-fault rate over the common faults: A {:.1f}%, B {:.1f}%\n",
                      100 * c.a_critical_fault_rate, 100 * c.b_critical_fault_rate);
  text += fmt::format("largest critical difference: {}\n", c.largest_critical_diff);
  for (const auto& d : c.largest) {
    if (d.critical_diff == 0) break;
    text += fmt::format("  {:<40.40} critical A {} B {}  masked A {} B {}\n", fault_label(d.a.fault),
                        d.a.counts.critical, d.b.counts.critical, d.a.counts.masked, d.b.counts.masked);
  }
  return text;
}

std::string comparison_json(const Comparison& c) {
  json::Writer out;
  write_json(out, c, "dnnfi comparison");
  return out.str() + "\n";
}

void write_json(json::Writer& out, const Comparison& c, std::string_view kind) {
  out.begin_object();
  if (!kind.empty()) out.key("kind").string(kind);  // first: how dnnfi recognises a file it may replace
  out.key("a").string(c.a_source).key("b").string(c.b_source);
  out.key("a_faults").number(c.a_faults).key("b_faults").number(c.b_faults);
  out.key("common").number(c.common);
  out.key("other_images").number(c.other_images).key("other_fault_model").number(c.other_fault_model);
  out.key("max_critical_diff").number(c.max_critical_diff);
  out.key("critical_exact").number(c.critical_exact);
  out.key("critical_within_1").number(c.critical_within_1);
  out.key("critical_within_k").number(c.critical_within_k);
  out.key("masked_exact").number(c.masked_exact);
  out.key("non_critical_exact").number(c.non_critical_exact);
  out.key("largest_critical_diff").number(c.largest_critical_diff);
  out.key("a_critical_fault_rate").number(c.a_critical_fault_rate);
  out.key("b_critical_fault_rate").number(c.b_critical_fault_rate);
  out.key("largest").begin_array();
  for (const auto& d : c.largest) {
    out.begin_object().key("fault").string(fault_label(d.a.fault));
    out.key("a_critical").number(d.a.counts.critical).key("b_critical").number(d.b.counts.critical);
    out.key("a_masked").number(d.a.counts.masked).key("b_masked").number(d.b.counts.masked);
    out.end_object();
  }
  out.end_array();
  out.end_object();
}

}  // namespace dnnfi
