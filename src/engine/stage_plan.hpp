#pragma once
// The stage plan: a model's forward cut into stages (top-level children, blocks of top-level
// Sequentials), with the residual structure the model info declares inside blocks, verified
// to reproduce forward() bit for bit. It says where each fault's computation restarts.
#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnfi/dataset.hpp"
#include "dnnfi/model.hpp"

namespace dnnfi {

// A child module to run; a traced child that did no tensor work (nn.Identity) keeps a forward
// without inputs, so it is recognized once here instead of on every call.
struct Step {
  torch::jit::Module module;
  bool identity = false;
  Step() = default;
  explicit Step(const torch::jit::Module& m);
  torch::Tensor operator()(const torch::Tensor& x);

 private:
  std::optional<torch::jit::Method> forward_;  // looked up once: steps run per batch and fault
};

// post(main(x) + shortcut(x)), the main path a plain sequence of children.
struct ResidualBody {
  std::vector<std::string> main_names;  // full layer names of the main-path children
  std::vector<Step> main;
  std::vector<bool> main_conv;  // main[k] is a conv whose output channels can be recomputed
  Step shortcut, post;
  // Runs the body; each recomputable conv's output goes to (*conv_out)[k] when given.
  torch::Tensor run(const torch::Tensor& x, std::vector<torch::Tensor>* conv_out);
};

// Golden activations of one batch, what a fault restarts from. A conv's input between two convs
// (BN, ReLU of the previous conv's output) is not kept: it is recomputed when a fault needs it,
// cheap next to the memory it would take.
struct BatchCache {
  std::vector<torch::Tensor> stage_in;               // [stage], defined where the plan caches it
  std::vector<std::vector<torch::Tensor>> conv_out;  // [stage][main child] of residual stages
};

struct Stage {
  std::string prefix;  // module path, e.g. "layer2.1"
  Step module;
  // Its golden input is cached: it holds an injectable layer (faults restart here), or follows
  // one (a faulty output equal to golden there ends the fault's batch early).
  bool input_cached = false;
  // The stage is a conv whose faulty output channels are spliced into the next stage's cached input.
  bool splices = false;
  std::optional<ResidualBody> residual;  // declared by the model info and verified
};

// Where a fault of a layer is computed from.
struct FaultSite {
  std::size_t stage = 0;
  std::size_t child = 0;  // its index on the residual main path
  bool splice = false;    // its output channel is recomputed alone and spliced into golden
};

class StagePlan {
 public:
  // The plan of `model`, verified on the first and the last batch of `data`; nullopt when the
  // model's forward is not the plain sequence of its children. Running children as the plan
  // does may throw where forward() would not (make_engine then takes the naive engine).
  static std::optional<StagePlan> build(Model& model, const Dataset& data, std::int64_t batch);

  std::size_t size() const { return stages_.size(); }
  Stage& operator[](std::size_t s) { return stages_[s]; }
  const Stage& operator[](std::size_t s) const { return stages_[s]; }
  FaultSite site_of(const std::string& layer) const;
  // Conv/linear multiply-accumulates per image of a stage, and of one layer.
  double stage_macs(std::size_t s) const { return stage_macs_[s]; }
  double layer_macs(const std::string& layer) const;
  // Runs every stage, through its residual body where it has one: the golden pass. With
  // `cache`, what faults restart from goes there; `seen` is shown every stage's input and the output.
  torch::Tensor run(torch::Tensor x, BatchCache* cache = nullptr,
                    const std::function<void(const torch::Tensor&)>& seen = {});
  // Stage s alone, as the golden pass runs it: faults restart with the very calls that made
  // what they restart from.
  torch::Tensor run_stage(std::size_t s, const torch::Tensor& x);

  // The golden passes of the first and the last batch made while verifying, by first image.
  // Restart points (and early exits, which assume the rest of the network gives golden logits
  // from a golden tensor) are exact when a second pass reproduces every tensor of them
  // (GoldenCache checks it).
  std::vector<std::pair<std::int64_t, BatchCache>>& verified_passes() { return verified_passes_; }

 private:
  explicit StagePlan(std::vector<Stage> stages) : stages_(std::move(stages)) {}
  bool verify(Model& model, const Dataset& data, std::int64_t batch);
  void place_layers(const ModelInfo& info);

  std::vector<Stage> stages_;
  std::unordered_map<std::string, std::size_t> stage_of_layer_;
  std::unordered_map<std::string, double> layer_macs_;
  std::vector<double> stage_macs_;
  std::vector<std::pair<std::int64_t, BatchCache>> verified_passes_;
};

}  // namespace dnnfi
