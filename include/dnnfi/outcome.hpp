#pragma once
// Golden-vs-faulty classification of each image (DESIGN.md, "Per image outcome").
#include <torch/types.h>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/names.hpp"

namespace dnnfi {

struct Counts {
  std::int64_t injections = 0;    // images run with the fault
  std::int64_t masked = 0;        // logits bit-identical to golden (and finite)
  std::int64_t non_critical = 0;  // logits differ, same top-1
  std::int64_t critical = 0;      // top-1 differs (SDC-1)
  // Images with a NaN/Inf logit, whichever class they went to; unknown (nullopt) for rows of a
  // file that does not record it (the published lists), and for any sum that includes one.
  std::optional<std::int64_t> non_finite = 0;
  Counts& operator+=(const Counts& other);
  bool operator==(const Counts& other) const;
};

std::ostream& operator<<(std::ostream& out, const Counts& counts);

// How an image whose faulty logits hold NaN or Inf is classified. Such an image is never masked.
enum class NonFiniteRule {
  // As the seed's published campaigns: critical iff PyTorch's argmax (NaN counts as the largest
  // value, the first such index wins) differs from golden's top-1, else non-critical.
  kArgmax,
  // Every such image is critical (stricter; what dnnfi did before it matched the seed).
  kCritical,
};
inline constexpr Named<NonFiniteRule> kNonFiniteRuleNames[] = {
    {NonFiniteRule::kArgmax, "argmax"},
    {NonFiniteRule::kCritical, "critical"},
};
inline constexpr NonFiniteRule kDefaultNonFiniteRule = NonFiniteRule::kArgmax;
std::optional<NonFiniteRule> parse_non_finite_rule(std::string_view text);
std::string_view to_string(NonFiniteRule rule);
std::vector<std::string> non_finite_rule_names();

// Classifies a batch: `golden` and `faulty` are B x classes logits from the same device,
// batch size and kernels.
Counts classify(const torch::Tensor& golden, const torch::Tensor& faulty,
                NonFiniteRule rule = kDefaultNonFiniteRule);

// One fault's counts summed over batches where the logits are (a GPU's memory): classifying a
// batch adds to them without waiting for the device; total() copies them to the host once.
class CountSums {
 public:
  void add(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule);
  Counts total() const;
  // The totals of several faults' sums with one copy to the host (one wait for the device)
  // instead of one each.
  static std::vector<Counts> totals(const std::vector<CountSums>& sums);

 private:
  torch::Tensor sums_;  // masked, critical, non-finite images (int64, on the logits' device)
  std::int64_t injections_ = 0;
};

}  // namespace dnnfi
