#include "stage_plan.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "batches.hpp"
#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

using torch::jit::Module;

bool is_sequential(const Module& module) {
  const auto type = module.type()->name();
  return type && type->name().find("Sequential") != std::string::npos;
}

// `layer` is the module `prefix` or inside it.
bool holds(const std::string& prefix, const std::string& layer) {
  return layer == prefix || (layer.size() > prefix.size() && layer.compare(0, prefix.size(), prefix) == 0 &&
                             layer[prefix.size()] == '.');
}

Module child(const Module& parent, const std::string& name) {
  for (const auto& c : parent.named_children())
    if (c.name == name) return c.value;
  throw Error(ExitCode::kFailure, "declared child '" + name + "' not found");
}

// Top-level children, or the blocks of top-level Sequentials, with their declared structure.
std::vector<Stage> split_stages(Model& model) {
  std::vector<Stage> stages;
  auto add = [&](std::string prefix, const Module& module) {
    Stage stage;
    stage.prefix = std::move(prefix);
    stage.module = Step(module);
    stages.push_back(std::move(stage));
  };
  for (const auto& c : model.module().named_children()) {
    if (is_sequential(c.value)) {
      for (const auto& block : c.value.named_children()) add(c.name + "." + block.name, block.value);
    } else {
      add(c.name, c.value);
    }
  }
  const auto& info = model.info();
  auto recomputable = [&](const std::string& layer) {
    auto g = info.convs.find(layer);
    return g != info.convs.end() && g->second.groups == 1;
  };
  for (auto& stage : stages) {
    stage.splices = recomputable(stage.prefix);
    for (const auto& plan : info.residuals) {
      if (plan.block != stage.prefix) continue;
      ResidualBody body;
      for (const auto& name : plan.main) {
        body.main_names.push_back(plan.block + "." + name);
        body.main.emplace_back(child(stage.module.module, name));
        body.main_conv.push_back(recomputable(body.main_names.back()));
      }
      body.shortcut = Step(child(stage.module.module, plan.shortcut));
      body.post = Step(child(stage.module.module, plan.post));
      stage.residual = std::move(body);
    }
  }
  return stages;
}

}  // namespace

Step::Step(const Module& m)
    : module(m),
      identity(m.get_method("forward").function().getSchema().arguments().size() == 1),
      forward_(m.get_method("forward")) {}

torch::Tensor Step::operator()(const torch::Tensor& x) {
  if (identity) return x;
  return (*forward_)({x}).toTensor();
}

torch::Tensor ResidualBody::run(const torch::Tensor& x, std::vector<torch::Tensor>* conv_out) {
  auto y = x;
  for (std::size_t k = 0; k < main.size(); ++k) {
    y = main[k](y);
    if (conv_out && main_conv[k]) (*conv_out)[k] = y;
  }
  return post(y + shortcut(x));
}

std::optional<StagePlan> StagePlan::build(Model& model, const Dataset& data, std::int64_t batch) {
  if (!model.info().sequential || data.size() == 0) return std::nullopt;
  StagePlan plan(split_stages(model));
  if (plan.stages_.empty()) return std::nullopt;
  plan.place_layers(model.info());
  if (!plan.verify(model, data, batch)) return std::nullopt;
  return plan;
}

torch::Tensor StagePlan::run_stage(std::size_t s, const torch::Tensor& x) {
  auto& stage = stages_[s];
  return stage.residual ? stage.residual->run(x, nullptr) : stage.module(x);
}

torch::Tensor StagePlan::run(torch::Tensor x, BatchCache* cache,
                             const std::function<void(const torch::Tensor&)>& seen) {
  if (cache) {
    cache->stage_in.assign(stages_.size(), {});
    cache->conv_out.assign(stages_.size(), {});
  }
  for (std::size_t s = 0; s < stages_.size(); ++s) {
    auto& stage = stages_[s];
    if (cache && stage.input_cached) cache->stage_in[s] = x;
    if (seen) seen(x);
    if (stage.residual && cache) {
      cache->conv_out[s].assign(stage.residual->main.size(), {});
      x = stage.residual->run(x, &cache->conv_out[s]);
    } else {
      x = run_stage(s, x);
    }
  }
  if (seen) seen(x);
  return x;
}

// The staged run must reproduce forward() bit for bit, on a full batch and on the last,
// partial one (kernels may depend on batch size). When it does not, each declared residual
// structure is checked against its block's own forward and dropped if it differs (the block
// then restarts whole); if the plain sequence of children still differs from forward(), the
// model is not a plain sequence. Both passes are kept for the restart check.
bool StagePlan::verify(Model& model, const Dataset& data, std::int64_t batch) {
  torch::InferenceMode inference;
  const std::int64_t last = (data.size() - 1) / batch * batch;
  for (std::int64_t start = 0;; start = last) {
    const auto x = device_batch(data, model, start, std::min(batch, data.size() - start));
    const auto expected = model.forward(x);
    BatchCache pass;
    if (!bit_equal(run(x, &pass), expected)) {
      auto y = x;
      bool dropped = false;
      for (auto& stage : stages_) {
        const auto out = stage.module(y);
        if (stage.residual && !bit_equal(stage.residual->run(y, nullptr), out)) {
          spdlog::warn("{}: declared residual structure does not reproduce its forward; restarting it whole",
                       stage.prefix);
          stage.residual.reset();
          dropped = true;
        }
        y = out;
      }
      if (!dropped || !bit_equal(y, expected)) return false;
      // Again with the structure that is left (residuals only ever go, so this ends).
      verified_passes_.clear();
      return verify(model, data, batch);
    }
    verified_passes_.emplace_back(start, std::move(pass));
    if (start == last) return true;
  }
}

// Which stage holds each injectable layer, what each stage costs, and which stage inputs the
// golden cache keeps.
void StagePlan::place_layers(const ModelInfo& info) {
  std::vector<bool> restart_point(stages_.size(), false);
  stage_macs_.assign(stages_.size(), 0);
  for (const auto& layer : info.layers) {
    auto it = std::find_if(stages_.begin(), stages_.end(),
                           [&](const Stage& s) { return holds(s.prefix, layer.name); });
    if (it == stages_.end()) throw Error(ExitCode::kFailure, "layer " + layer.name + " is in no stage");
    const auto s = static_cast<std::size_t>(it - stages_.begin());
    restart_point[s] = true;
    stage_of_layer_[layer.name] = s;
    layer_macs_[layer.name] = static_cast<double>(layer.macs);
    stage_macs_[s] += static_cast<double>(layer.macs);
  }
  for (std::size_t s = 0; s < stages_.size(); ++s)
    stages_[s].input_cached = restart_point[s] || (s > 0 && restart_point[s - 1]);
  // The images themselves: any fault (a parameter outside the layer table included) can restart
  // from the nearest cached input at or before its stage.
  stages_.front().input_cached = true;
  // A conv stage splices into its output, the next stage's cached input.
  for (std::size_t s = 0; s < stages_.size(); ++s)
    if (stages_[s].splices && (s + 1 >= stages_.size() || !stages_[s + 1].input_cached))
      stages_[s].splices = false;
}

FaultSite StagePlan::site_of(const std::string& layer) const {
  FaultSite site;
  const auto known = stage_of_layer_.find(layer);
  if (known == stage_of_layer_.end()) {
    // A parameter outside the layer table (a bias, a norm's weight): its stage reruns whole.
    const auto it =
        std::find_if(stages_.begin(), stages_.end(), [&](const Stage& s) { return holds(s.prefix, layer); });
    if (it == stages_.end()) throw Error(ExitCode::kFailure, "parameter " + layer + " is in no stage");
    site.stage = static_cast<std::size_t>(it - stages_.begin());
    return site;
  }
  site.stage = known->second;
  const auto& stage = stages_[site.stage];
  if (stage.residual) {
    const auto& names = stage.residual->main_names;
    site.child = static_cast<std::size_t>(std::find(names.begin(), names.end(), layer) - names.begin());
    site.splice = site.child < names.size() && stage.residual->main_conv[site.child];
  } else {
    site.splice = stage.splices;
  }
  return site;
}

double StagePlan::layer_macs(const std::string& layer) const {
  auto it = layer_macs_.find(layer);
  return it == layer_macs_.end() ? 0 : it->second;
}

}  // namespace dnnfi
