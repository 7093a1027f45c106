// Restart engine: the golden pass caches the input of every stage (top-level child, or
// block of a top-level Sequential) that holds an injectable layer; a fault reruns only
// from its layer's stage. With the same batching and kernels, every stage sees bit-for-bit
// the input it would see in a full run, so results equal the naive engine's.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>

#include "dnnfi/engine.hpp"
#include "dnnfi/errors.hpp"
#include "engines.hpp"

namespace dnnfi {
namespace {

struct Stage {
  std::string prefix;  // module path, e.g. "layer2.1"
  torch::jit::Module module;
  bool restart_point = false;  // holds an injectable layer: its input is cached
  bool cached = false;         // input cached: a restart point, or right after one (early exit)
};

bool is_sequential(const torch::jit::Module& module) {
  const auto type = module.type()->name();
  return type && type->name().find("Sequential") != std::string::npos;
}

std::vector<Stage> split_stages(const torch::jit::Module& root) {
  std::vector<Stage> stages;
  for (const auto& child : root.named_children()) {
    if (is_sequential(child.value)) {
      for (const auto& block : child.value.named_children())
        stages.push_back({child.name + "." + block.name, block.value});
    } else {
      stages.push_back({child.name, child.value});
    }
  }
  return stages;
}

bool holds(const std::string& prefix, const std::string& layer) {
  return layer == prefix || (layer.size() > prefix.size() && layer.compare(0, prefix.size(), prefix) == 0 &&
                             layer[prefix.size()] == '.');
}

class StagedEngine final : public Engine {
 public:
  StagedEngine(Model& model, const Dataset& data, const EngineOptions& options, std::vector<Stage> stages)
      : model_(model), data_(data), batch_(options.batch_size), stages_(std::move(stages)) {
    for (const auto& layer : model_.meta().layers) {
      auto it = std::find_if(stages_.begin(), stages_.end(), [&](const Stage& s) { return holds(s.prefix, layer.name); });
      if (it == stages_.end()) throw Error(ExitCode::kFailure, "layer " + layer.name + " is in no stage");
      it->restart_point = true;
      stage_of_layer_[layer.name] = static_cast<std::size_t>(it - stages_.begin());
    }
    stage_macs_.assign(stages_.size(), 0);
    for (const auto& layer : model_.meta().layers)
      stage_macs_[stage_of_layer_[layer.name]] += static_cast<double>(layer.macs);
    for (std::size_t s = 0; s < stages_.size(); ++s)
      stages_[s].cached = stages_[s].restart_point || (s > 0 && stages_[s - 1].restart_point);
    chunk_ = plan_chunk(options.memory_limit);
  }

  std::string name() const override { return "staged"; }

  std::int64_t cache_bytes() const override { return peak_cache_bytes_; }

  torch::Tensor golden_logits() override {
    if (!golden_.defined()) {
      torch::InferenceMode inference;
      std::vector<torch::Tensor> parts;
      for_each_batch(data_.size(), batch_, [&](std::int64_t start, std::int64_t length) {
        parts.push_back(run_from(0, device_batch(data_, model_, start, length)));
      });
      golden_ = torch::cat(parts);
    }
    return golden_;
  }

  void run(const std::vector<Fault>& faults, FaultModel default_model, const Done& done) override {
    torch::InferenceMode inference;
    const auto golden = golden_logits();
    const bool single_chunk = chunk_ >= data_.size();
    // With one chunk the cache is built once and each fault is reported as it finishes;
    // otherwise faults go in groups, each group sweeping the chunks once.
    const std::size_t group = single_chunk ? faults.size() : kFaultsPerGroup;
    for (std::size_t first = 0; first < faults.size(); first += group) {
      const std::size_t last = std::min(faults.size(), first + group);
      std::vector<Counts> counts(last - first);
      for (std::int64_t chunk_start = 0; chunk_start < data_.size(); chunk_start += chunk_) {
        const std::int64_t chunk_length = std::min(chunk_, data_.size() - chunk_start);
        fill_cache(chunk_start, chunk_length);
        for (std::size_t i = first; i < last; ++i) {
          counts[i - first] += evaluate_chunk(faults[i], faults[i].model.value_or(default_model), golden,
                                              chunk_start, chunk_length);
          if (single_chunk && !done(i, counts[i - first])) return;
        }
      }
      if (!single_chunk)
        for (std::size_t i = first; i < last; ++i)
          if (!done(i, counts[i - first])) return;
    }
    spdlog::debug("staged engine: {} batches masked at a stage boundary so far", early_exits_);
  }

 private:
  static constexpr std::size_t kFaultsPerGroup = 256;  // amortizes one golden sweep per chunk

  torch::Tensor run_from(std::size_t stage, torch::Tensor x) {
    for (std::size_t s = stage; s < stages_.size(); ++s) x = stages_[s].module.forward({x}).toTensor();
    return x;
  }

  // Images per chunk: whole batches whose cached stage inputs fit the memory limit.
  std::int64_t plan_chunk(std::int64_t memory_limit) {
    torch::InferenceMode inference;
    auto x = device_batch(data_, model_, 0, std::min<std::int64_t>(1, data_.size()));
    std::int64_t per_image = 0;
    for (auto& stage : stages_) {
      if (stage.cached) per_image += x.numel() * static_cast<std::int64_t>(x.element_size());
      x = stage.module.forward({x}).toTensor();
    }
    per_image = std::max<std::int64_t>(per_image, 1);
    const std::int64_t batches = std::max<std::int64_t>(1, memory_limit / (per_image * batch_));
    const std::int64_t chunk = std::min(data_.size(), batches * batch_);
    spdlog::debug("staged engine: {} stages, {} bytes cached per image, chunks of {} images", stages_.size(),
                  per_image, chunk);
    return chunk;
  }

  void fill_cache(std::int64_t chunk_start, std::int64_t chunk_length) {
    if (cached_start_ == chunk_start && cached_length_ == chunk_length) return;
    cache_.assign(stages_.size(), {});
    std::int64_t bytes = 0;
    for_each_batch(chunk_length, batch_, [&](std::int64_t offset, std::int64_t length) {
      auto x = device_batch(data_, model_, chunk_start + offset, length);
      for (std::size_t s = 0; s < stages_.size(); ++s) {
        if (stages_[s].cached) {
          cache_[s].push_back(x);
          bytes += x.numel() * static_cast<std::int64_t>(x.element_size());
        }
        x = stages_[s].module.forward({x}).toTensor();
      }
    });
    peak_cache_bytes_ = std::max(peak_cache_bytes_, bytes);
    cached_start_ = chunk_start;
    cached_length_ = chunk_length;
  }

  Counts evaluate_chunk(const Fault& fault, FaultModel fault_model, const torch::Tensor& golden,
                        std::int64_t chunk_start, std::int64_t chunk_length) {
    const std::size_t stage = stage_of_layer_.at(fault.layer);
    ScopedFault patch(model_, fault, fault_model);
    Counts counts;
    std::size_t b = 0;
    for_each_batch(chunk_length, batch_, [&](std::int64_t offset, std::int64_t length) {
      const auto golden_batch = golden.narrow(0, chunk_start + offset, length);
      auto x = cache_[stage][b];
      for (std::size_t s = stage; s < stages_.size(); ++s) {
        x = stages_[s].module.forward({x}).toTensor();
        executed_macs_ += stage_macs_[s] * static_cast<double>(length);
        // Early exit: a stage output bit-identical to golden means the whole batch is masked.
        if (s + 1 < stages_.size() && stages_[s + 1].cached && bit_equal(x, cache_[s + 1][b])) {
          x = golden_batch;
          ++early_exits_;
          break;
        }
      }
      counts += classify(golden_batch, x);
      ++b;
    });
    return counts;
  }

  static bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
    return a.view(torch::kInt32).equal(b.view(torch::kInt32));
  }

  Model& model_;
  const Dataset& data_;
  std::int64_t batch_;
  std::vector<Stage> stages_;
  std::int64_t early_exits_ = 0;
  std::vector<double> stage_macs_;  // conv/linear MACs per image of each stage
  std::unordered_map<std::string, std::size_t> stage_of_layer_;
  std::int64_t chunk_ = 0;
  std::vector<std::vector<torch::Tensor>> cache_;  // [stage][batch] golden stage inputs
  std::int64_t cached_start_ = -1, cached_length_ = -1;
  std::int64_t peak_cache_bytes_ = 0;
  torch::Tensor golden_;
};

// The staged run must reproduce forward() bit for bit; otherwise the model's forward is
// not the plain sequence of its children and only the naive engine is exact.
bool stages_reproduce_forward(Model& model, const Dataset& data, std::vector<Stage>& stages,
                              std::int64_t batch) {
  torch::InferenceMode inference;
  auto x = device_batch(data, model, 0, std::min(batch, data.size()));
  auto expected = model.forward(x);
  for (auto& stage : stages) x = stage.module.forward({x}).toTensor();
  return x.sizes() == expected.sizes() &&
         x.view(torch::kInt32).equal(expected.view(torch::kInt32));
}

}  // namespace

std::unique_ptr<Engine> make_staged_engine(Model& model, const Dataset& data, const EngineOptions& options) {
  auto stages = split_stages(model.module());
  if (!model.meta().sequential || stages.empty() || data.size() == 0 ||
      !stages_reproduce_forward(model, data, stages, options.batch_size)) {
    spdlog::warn("{}: forward is not the plain sequence of its children; using the naive engine (exact, slower)",
                 model.meta().name);
    return make_naive_engine(model, data, options);
  }
  return std::make_unique<StagedEngine>(model, data, options, std::move(stages));
}

}  // namespace dnnfi
