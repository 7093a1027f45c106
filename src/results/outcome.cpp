#include "dnnfi/outcome.hpp"

#include <torch/torch.h>

#include <ostream>

namespace dnnfi {

Counts& Counts::operator+=(const Counts& o) {
  injections += o.injections;
  masked += o.masked;
  non_critical += o.non_critical;
  critical += o.critical;
  non_finite = non_finite && o.non_finite ? std::optional(*non_finite + *o.non_finite) : std::nullopt;
  return *this;
}

bool Counts::operator==(const Counts& o) const {
  return injections == o.injections && masked == o.masked && non_critical == o.non_critical &&
         critical == o.critical && non_finite == o.non_finite;
}

std::ostream& operator<<(std::ostream& out, const Counts& c) {
  return out << "{n=" << c.injections << " masked=" << c.masked << " non_critical=" << c.non_critical
             << " critical=" << c.critical
             << " non_finite=" << (c.non_finite ? std::to_string(*c.non_finite) : std::string("unknown"))
             << "}";
}

std::optional<NonFiniteRule> parse_non_finite_rule(std::string_view text) {
  return value_named(kNonFiniteRuleNames, text);
}
std::string_view to_string(NonFiniteRule rule) { return name_of(kNonFiniteRuleNames, rule); }
std::vector<std::string> non_finite_rule_names() { return names_of(kNonFiniteRuleNames); }

namespace {
// Masked, critical and non-finite images of a batch, as an int64 tensor on its device.
torch::Tensor batch_sums(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule) {
  // Compare raw bits: -0.0 vs 0.0 is a difference; NaN logits are never masked, as f == g is
  // false for NaN in the seed's comparison.
  const auto same_bits = golden.view(torch::kInt32).eq(faulty.view(torch::kInt32)).all(/*dim=*/1);
  const auto non_finite = faulty.isfinite().logical_not().any(/*dim=*/1);
  // ATen's argmax takes NaN as the largest value and returns its first index, as PyTorch does.
  const auto top1_changed = golden.argmax(/*dim=*/1).ne(faulty.argmax(/*dim=*/1));
  const auto masked = same_bits.logical_and(non_finite.logical_not());
  auto critical = top1_changed.logical_and(same_bits.logical_not());
  if (rule == NonFiniteRule::kCritical) critical = critical.logical_or(non_finite);
  return torch::stack({masked.sum(), critical.sum(), non_finite.sum()});
}

Counts counts_of(const torch::Tensor& sums, std::int64_t injections) {
  const auto host = sums.to(torch::kCPU);
  const auto* s = host.data_ptr<std::int64_t>();
  Counts c;
  c.injections = injections;
  c.masked = s[0];
  c.critical = s[1];
  c.non_finite = s[2];
  c.non_critical = c.injections - c.masked - c.critical;
  return c;
}
}  // namespace

Counts classify(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule) {
  return counts_of(batch_sums(golden, faulty, rule), golden.size(0));
}

void CountSums::add(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule) {
  auto sums = batch_sums(golden, faulty, rule);
  sums_ = sums_.defined() ? sums_ + sums : sums;
  injections_ += golden.size(0);
}

Counts CountSums::total() const { return sums_.defined() ? counts_of(sums_, injections_) : Counts{}; }

std::vector<Counts> CountSums::totals(const std::vector<CountSums>& sums) {
  std::vector<torch::Tensor> defined;
  for (const auto& s : sums)
    if (s.sums_.defined()) defined.push_back(s.sums_);
  std::vector<Counts> out(sums.size());
  if (defined.empty()) return out;
  const auto host = torch::stack(defined).to(torch::kCPU);  // the one copy
  std::int64_t row = 0;
  for (std::size_t i = 0; i < sums.size(); ++i)
    if (sums[i].sums_.defined()) out[i] = counts_of(host[row++], sums[i].injections_);
  return out;
}

}  // namespace dnnfi
