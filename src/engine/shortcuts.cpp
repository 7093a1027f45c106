#include "shortcuts.hpp"

namespace dnnfi {
namespace {
ShortcutPerturbation perturbation;
}  // namespace

void perturb_shortcuts_for_testing(const ShortcutPerturbation& p) { perturbation = p; }
const ShortcutPerturbation& shortcut_perturbation() { return perturbation; }

torch::Tensor perturbed(torch::Tensor x) {
  auto bits = x.contiguous(x.suggest_memory_format());
  return bits.view(torch::kInt32).bitwise_xor(1).view(torch::kFloat);
}

}  // namespace dnnfi
