#include "dnnfi/outcome.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <ostream>

namespace dnnfi {

Counts& Counts::operator+=(const Counts& o) {
  injections += o.injections;
  masked += o.masked;
  non_critical += o.non_critical;
  critical += o.critical;
  non_finite = non_finite && o.non_finite ? std::optional(*non_finite + *o.non_finite) : std::nullopt;
  critical_images.insert(critical_images.end(), o.critical_images.begin(), o.critical_images.end());
  return *this;
}

Counts tally_of(const Counts& counts) {
  auto tally = counts;
  tally.critical_images.clear();
  return tally;
}

bool Counts::operator==(const Counts& o) const {
  return injections == o.injections && masked == o.masked && non_critical == o.non_critical &&
         critical == o.critical && non_finite == o.non_finite && critical_images == o.critical_images;
}

std::ostream& operator<<(std::ostream& out, const CriticalImage& image) {
  return out << image.image << ':' << image.faulty;
}

std::ostream& operator<<(std::ostream& out, const Counts& c) {
  return out << "{n=" << c.injections << " masked=" << c.masked << " non_critical=" << c.non_critical
             << " critical=" << c.critical
             << " non_finite=" << (c.non_finite ? std::to_string(*c.non_finite) : std::string("unknown"));
  if (!c.critical_images.empty()) {
    out << " critical_images=";
    for (const auto& image : c.critical_images) out << image << ' ';
  }
  return out << "}";
}

std::optional<NonFiniteRule> parse_non_finite_rule(std::string_view text) {
  return value_named(kNonFiniteRuleNames, text);
}
std::string_view to_string(NonFiniteRule rule) { return name_of(kNonFiniteRuleNames, rule); }
std::vector<std::string> non_finite_rule_names() { return names_of(kNonFiniteRuleNames); }

namespace {
// A batch's images classified: masked, critical and non-finite (bool, per image), and the faulty
// top-1 classes.
struct BatchOutcome {
  torch::Tensor masked, critical, non_finite, faulty_class;
  torch::Tensor sums() const { return torch::stack({masked.sum(), critical.sum(), non_finite.sum()}); }
};

BatchOutcome classify_batch(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule) {
  BatchOutcome out;
  // Compare raw bits: -0.0 vs 0.0 is a difference; NaN logits are never masked, as f == g is
  // false for NaN in the seed's comparison.
  const auto same_bits = golden.view(torch::kInt32).eq(faulty.view(torch::kInt32)).all(/*dim=*/1);
  out.non_finite = faulty.isfinite().logical_not().any(/*dim=*/1);
  // ATen's argmax takes NaN as the largest value and returns its first index, as PyTorch does.
  out.faulty_class = faulty.argmax(/*dim=*/1);
  const auto top1_changed = golden.argmax(/*dim=*/1).ne(out.faulty_class);
  out.masked = same_bits.logical_and(out.non_finite.logical_not());
  out.critical = top1_changed.logical_and(same_bits.logical_not());
  if (rule == NonFiniteRule::kCritical) out.critical = out.critical.logical_or(out.non_finite);
  return out;
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

Counts classify(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule,
                bool per_image) {
  CountSums sums(per_image, 0);
  sums.add(golden, faulty, rule, 0);
  return sums.total();
}

void CountSums::add(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule,
                    std::int64_t first) {
  add_batch(golden, faulty, rule, [&] {
    return torch::arange(first, first + golden.size(0),
                         torch::TensorOptions(torch::kLong).device(golden.device()));
  });
}

void CountSums::add(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule,
                    const torch::Tensor& rows) {
  add_batch(golden, faulty, rule, [&] { return rows.to(golden.device()); });
}

void CountSums::add_batch(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule,
                          const std::function<torch::Tensor()>& rows) {
  const auto batch = classify_batch(golden, faulty, rule);
  const auto sums = batch.sums();
  sums_ = sums_.defined() ? sums_ + sums : sums;
  injections_ += golden.size(0);
  if (!per_image_) return;
  // Kept on the device (-1: not critical); which rows are critical is asked once, at the total.
  rows_.push_back(torch::where(batch.critical, rows(), -1));
  classes_.push_back(batch.faulty_class);
}

std::vector<CriticalImage> CountSums::critical_images() const {
  std::vector<CriticalImage> images;
  if (rows_.empty()) return images;
  const auto rows = torch::cat(rows_);
  const auto keep = rows.ge(0).nonzero().flatten();
  const auto image = rows.index_select(0, keep).to(torch::kCPU).contiguous();
  const auto faulty = torch::cat(classes_).index_select(0, keep).to(torch::kCPU).contiguous();
  const auto* i = image.data_ptr<std::int64_t>();
  const auto* f = faulty.data_ptr<std::int64_t>();
  images.reserve(static_cast<std::size_t>(image.numel()));
  for (std::int64_t k = 0; k < image.numel(); ++k) images.push_back({first_image_ + i[k], f[k]});
  // Gathered images come back out of their order.
  std::sort(images.begin(), images.end(),
            [](const CriticalImage& a, const CriticalImage& b) { return a.image < b.image; });
  return images;
}

Counts CountSums::total() const {
  if (!sums_.defined()) return Counts{};
  auto counts = counts_of(sums_, injections_);
  counts.critical_images = critical_images();
  return counts;
}

std::vector<Counts> CountSums::totals(const std::vector<CountSums>& sums) {
  std::vector<torch::Tensor> defined;
  for (const auto& s : sums)
    if (s.sums_.defined()) defined.push_back(s.sums_);
  std::vector<Counts> out(sums.size());
  if (defined.empty()) return out;
  const auto host = torch::stack(defined).to(torch::kCPU);  // the one copy
  std::int64_t row = 0;
  for (std::size_t i = 0; i < sums.size(); ++i)
    if (sums[i].sums_.defined()) {
      out[i] = counts_of(host[row++], sums[i].injections_);
      out[i].critical_images = sums[i].critical_images();
    }
  return out;
}

}  // namespace dnnfi
