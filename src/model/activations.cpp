#include "activations.hpp"

#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>

#include <optional>
#include <set>
#include <unordered_map>

#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

// What the op does now. Campaigns run one fault at a time in a process, on the thread that
// runs the model, so one state serves.
struct ActivationState {
  struct Active {
    const void* weight = nullptr;
    std::vector<std::int64_t> index;
    BitMask bits;
    FaultModel model = FaultModel::kBitFlip;
  };
  std::optional<Active> active;
  bool probing = false;
  std::unordered_map<const void*, std::vector<std::int64_t>> shapes;
};

ActivationState& state() {
  static ActivationState s;
  return s;
}

torch::Tensor activation_op(const torch::Tensor& output, const torch::Tensor& weight) {
  auto& s = state();
  if (s.probing) s.shapes[weight.data_ptr()] = output.sizes().slice(1).vec();
  if (!s.active || s.active->weight != weight.data_ptr()) return output;
  return fault_activation(output, s.active->index, s.active->bits, s.active->model);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(dnnfi, m) {
  m.def("activation(Tensor output, Tensor weight) -> Tensor", &activation_op);
}

torch::Tensor fault_activation(const torch::Tensor& output, const std::vector<std::int64_t>& index,
                               BitMask bits, FaultModel model) {
  TORCH_CHECK(output.scalar_type() == torch::kFloat, "activation faults hit float32 outputs, got ",
              output.scalar_type());
  TORCH_CHECK(static_cast<std::int64_t>(index.size()) + 1 == output.dim(), "an index of rank ", index.size(),
              " for an output of rank ", output.dim());
  auto faulty = output.clone();  // same memory format: the layers after it run the same kernels
  auto slot = faulty;
  for (std::size_t d = 0; d < index.size(); ++d) slot = slot.select(/*dim=*/1, index[d]);
  // One element of every image, as 32-bit words: the mask applied with integer arithmetic moves
  // raw bits on any device.
  const auto words = slot.view(torch::kInt32);
  const auto mask = static_cast<std::int32_t>(bits.word());
  switch (model) {
    case FaultModel::kBitFlip:
      words.bitwise_xor_(mask);
      break;
    case FaultModel::kStuckAt0:
      words.bitwise_and_(~mask);
      break;
    case FaultModel::kStuckAt1:
      words.bitwise_or_(mask);
      break;
  }
  return faulty;
}

std::vector<std::pair<std::string, std::string>> insert_activation_points(
    torch::jit::Module& module, const std::vector<std::string>& layers) {
  static const auto kActivation = c10::Symbol::fromQualString("dnnfi::activation");
  std::map<std::string, torch::jit::Module> by_name;
  for (const auto& child : module.named_modules()) by_name.emplace(child.name, child.value);
  std::set<std::string> parameters;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) parameters.insert(p.name);
  std::vector<std::pair<std::string, std::string>> unreachable;
  std::set<const c10::ClassType*> rewritten;  // a class's methods are shared by its instances
  for (const auto& name : layers) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      if (!parameters.count(name))
        throw InputError("the model has no module " + name + " to fault the output of");
      unreachable.emplace_back(name,
                               "a parameter used inside its module's computation, not a layer's output");
      continue;
    }
    if (!it->second.find_method("forward")) {
      unreachable.emplace_back(
          name,
          "its forward never ran when the model was traced: the module around it computed "
          "its output itself (MultiheadAttention does for out_proj; TransformerEncoderLayer's "
          "fused fast path, taken in eval mode without gradients, does for all its layers: "
          "trace with gradients enabled to keep them)");
      continue;
    }
    if (!rewritten.insert(it->second.type().get()).second) continue;
    auto graph = it->second.get_method("forward").graph();
    torch::jit::WithInsertPoint here(graph->return_node());
    auto* weight = graph->insertGetAttr(graph->inputs()[0], "weight");
    auto* faulted = graph->insert(kActivation, {graph->outputs()[0], weight});
    graph->return_node()->replaceInput(0, faulted);
  }
  return unreachable;
}

ScopedActivationFault::ScopedActivationFault(const torch::Tensor& weight, const Fault& fault) {
  auto& s = state();
  if (s.active) throw Error(ExitCode::kFailure, "two activation faults at once");
  s.active = ActivationState::Active{weight.data_ptr(), fault.index, fault.bits, fault.model};
}

ScopedActivationFault::~ScopedActivationFault() { state().active.reset(); }

ActivationProbe::ActivationProbe() {
  state().shapes.clear();
  state().probing = true;
}

ActivationProbe::~ActivationProbe() { state().probing = false; }

std::vector<std::int64_t> ActivationProbe::shape_of(const torch::Tensor& weight) const {
  const auto it = state().shapes.find(weight.data_ptr());
  return it == state().shapes.end() ? std::vector<std::int64_t>{} : it->second;
}

}  // namespace dnnfi
