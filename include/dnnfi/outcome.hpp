#pragma once
// Golden-vs-faulty classification of each image (DESIGN.md, "Per image outcome").
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/names.hpp"

namespace dnnfi {

// An image a fault made critical, and the class its faulty top-1 went to (PyTorch's argmax: a NaN
// logit counts as the largest).
struct CriticalImage {
  std::int64_t image = 0;  // its place in the test set
  std::int64_t faulty = 0;
  bool operator==(const CriticalImage& other) const { return image == other.image && faulty == other.faulty; }
};

struct Counts {
  std::int64_t injections = 0;    // images run with the fault
  std::int64_t masked = 0;        // logits bit-identical to golden (and finite)
  std::int64_t non_critical = 0;  // logits differ, same top-1
  std::int64_t critical = 0;      // top-1 differs (SDC-1)
  // Images with a NaN/Inf logit, whichever class they went to; unknown (nullopt) for rows of a
  // file that does not record it (the published lists), and for any sum that includes one.
  std::optional<std::int64_t> non_finite = 0;
  // Which images were critical, by image, when the engine was asked for them
  // (EngineOptions::per_image); empty otherwise. Every other image kept its golden top-1 class.
  std::vector<CriticalImage> critical_images;
  // Sums the counts and appends the critical images.
  Counts& operator+=(const Counts& other);
  bool operator==(const Counts& other) const;
};

std::ostream& operator<<(std::ostream& out, const CriticalImage& image);  // "image:class"
std::ostream& operator<<(std::ostream& out, const Counts& counts);

// The counts alone, without their critical images (for sums over faults).
Counts tally_of(const Counts& counts);

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
// batch size and kernels; with `per_image`, its critical images too (numbered from 0).
Counts classify(const torch::Tensor& golden, const torch::Tensor& faulty,
                NonFiniteRule rule = kDefaultNonFiniteRule, bool per_image = false);

// One fault's counts summed over batches where the logits are (a GPU's memory): classifying a
// batch adds to them without waiting for the device; total() copies them to the host once.
class CountSums {
 public:
  CountSums() = default;
  // With `per_image`, the critical images are kept as well; image numbers given to add() are
  // counted from `first_image` (the start of an engine's chunk of the test set).
  CountSums(bool per_image, std::int64_t first_image) : per_image_(per_image), first_image_(first_image) {}
  // A batch of images `first`, `first` + 1, ... (from first_image).
  void add(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule, std::int64_t first);
  // A batch whose row i is image rows[i] (from first_image; int64, any device).
  void add(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule,
           const torch::Tensor& rows);
  Counts total() const;
  // The totals of several faults' sums with one copy to the host (one wait for the device)
  // instead of one each.
  static std::vector<Counts> totals(const std::vector<CountSums>& sums);

 private:
  void add_batch(const torch::Tensor& golden, const torch::Tensor& faulty, NonFiniteRule rule,
                 const std::function<torch::Tensor()>& rows);
  // The critical images of the batches added, by image.
  std::vector<CriticalImage> critical_images() const;

  torch::Tensor sums_;  // masked, critical, non-finite images (int64, on the logits' device)
  std::int64_t injections_ = 0;
  bool per_image_ = false;
  std::int64_t first_image_ = 0;
  // Per batch, with per_image: its critical images' rows (from first_image) and faulty classes.
  std::vector<torch::Tensor> rows_, classes_;
};

}  // namespace dnnfi
