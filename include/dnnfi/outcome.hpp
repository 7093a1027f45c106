#pragma once
// Golden-vs-faulty classification of each image (DESIGN.md, "Per image outcome").
#include <torch/types.h>

#include <cstdint>
#include <iosfwd>

namespace dnnfi {

struct Counts {
  std::int64_t injections = 0;    // images run with the fault
  std::int64_t masked = 0;        // logits bit-identical to golden
  std::int64_t non_critical = 0;  // logits differ, same top-1
  std::int64_t critical = 0;      // top-1 differs (SDC-1), or any logit NaN/Inf
  std::int64_t non_finite = 0;    // of the critical ones, those with a NaN/Inf logit
  Counts& operator+=(const Counts& other);
  bool operator==(const Counts& other) const;
};

std::ostream& operator<<(std::ostream& out, const Counts& counts);

// Classifies a batch: `golden` and `faulty` are B x classes logits from the same device,
// batch size and kernels.
Counts classify(const torch::Tensor& golden, const torch::Tensor& faulty);

}  // namespace dnnfi
