#pragma once
// The staged engine's shortcuts are checked before their first use. Whether a shortcut gives the
// bits of the computation it replaces is a property of the device's kernels, which are chosen by
// shape (full and last partial batches have their own), so each is checked on the batch at hand,
// against the computation without it, once per shape.
#include <torch/torch.h>

#include <cstddef>
#include <map>
#include <utility>

namespace dnnfi {

// For tests: shortcuts computed differently from the full computation (the last bit of every
// value flipped), as another device's kernels may; the checks must catch them. Default: none.
struct ShortcutPerturbation {
  bool splice = false;  // the few-channel conv's output
  bool stack = false;   // every step run on a stack of more than one fault
  bool gather = false;  // the logits of images gathered from several batches
  bool window = false;  // a stage's output computed on a window of its input
};
void perturb_shortcuts_for_testing(const ShortcutPerturbation& perturbation);
const ShortcutPerturbation& shortcut_perturbation();
// The last bit of every value flipped: what a kernel that sums in another order gives.
torch::Tensor perturbed(torch::Tensor x);

// "This shortcut was checked on these shapes, and the answer": a key's check runs on its first
// use and its answer is reused after, so a check costs once per key and a failure is said once.
// Also what a shortcut rests on and is measured once (where a stage's change reaches).
template <typename Key, typename Answer = bool>
class CheckedOnce {
 public:
  // The answer for `key`: check() on first use, then tell(answer), which says a failure in one
  // log line; the same answer, unchecked, after.
  template <typename Check, typename Tell>
  const Answer& operator()(const Key& key, Check&& check, Tell&& tell) {
    if (auto it = answers_.find(key); it != answers_.end()) return it->second;
    Answer answer = check();
    tell(static_cast<const Answer&>(answer));
    return answers_.emplace(key, std::move(answer)).first->second;
  }
  template <typename Check>
  const Answer& operator()(const Key& key, Check&& check) {
    return (*this)(key, std::forward<Check>(check), [](const Answer&) {});
  }
  std::size_t size() const { return answers_.size(); }
  // Keys checked with this answer.
  std::size_t count(const Answer& answer) const {
    std::size_t n = 0;
    for (const auto& [key, a] : answers_) n += a == answer;
    return n;
  }

 private:
  std::map<Key, Answer> answers_;
};

}  // namespace dnnfi
