// Restart engine. The golden pass caches activations at stage boundaries (each top-level
// child, or block of a top-level Sequential) and, inside residual blocks that declare their
// structure, at each conv; a fault reruns only from its own layer:
//  - a conv weight fault changes one output channel, so that channel alone is recomputed
//    on the cached golden input (a conv with a few output channels gives bit-for-bit those
//    channels of the full conv) and spliced into the cached golden conv output; consecutive
//    faults of one layer share that conv, one weight row each;
//  - a fault that leaves its weight's bits unchanged (stuck-at a bit already at that value)
//    is masked on every image without running anything;
//  - a batch whose faulty channel, or whose output at a later stage boundary, is
//    bit-identical to golden is masked as a whole and stops there.
// With the same batching and kernels every step sees bit-for-bit the input it would see in
// a full run, so results equal the naive engine's; the test suite checks it on every layer.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "dnnfi/engine.hpp"
#include "dnnfi/errors.hpp"
#include "engines.hpp"

namespace dnnfi {
namespace {

using torch::jit::Module;

// A child module to run; a traced child that did no tensor work (nn.Identity) keeps a forward
// without inputs, so it is recognized once here instead of on every call.
struct Step {
  Module module;
  bool identity = false;
  Step() = default;
  explicit Step(const Module& m)
      : module(m), identity(m.get_method("forward").function().getSchema().arguments().size() == 1) {}
};

struct Stage {
  std::string prefix;  // module path, e.g. "layer2.1"
  Step module;
  bool restart_point = false;  // holds an injectable layer: its input is cached
  bool cached = false;         // input cached: a restart point, or right after one (early exit)
  bool single_conv = false;    // the stage is itself a conv layer whose channels can be recomputed
  // Residual structure post(main(x) + shortcut(x)), when declared and verified.
  bool residual = false;
  std::vector<std::string> main_names;  // full layer names of the main-path children
  std::vector<Step> main;
  Step shortcut, post;
  std::vector<bool> main_conv;  // main[k] is a conv whose channels can be recomputed
};

bool is_sequential(const Module& module) {
  const auto type = module.type()->name();
  return type && type->name().find("Sequential") != std::string::npos;
}

bool holds(const std::string& prefix, const std::string& layer) {
  return layer == prefix || (layer.size() > prefix.size() && layer.compare(0, prefix.size(), prefix) == 0 &&
                             layer[prefix.size()] == '.');
}

// Bit-for-bit equality (NaN payloads and signed zeros included). Tensors in one dense layout
// on the CPU are compared with memcmp, which stops at the first difference: most faulty
// activations differ from golden early on.
bool bit_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  if (a.device().is_cpu() && b.device().is_cpu() && a.strides() == b.strides() && a.is_non_overlapping_and_dense())
    return std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()) == 0;
  return a.view(torch::kInt32).equal(b.view(torch::kInt32));
}

Module child(const Module& parent, const std::string& name) {
  for (const auto& c : parent.named_children())
    if (c.name == name) return c.value;
  throw Error(ExitCode::kFailure, "declared child '" + name + "' not found");
}

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
  const auto& meta = model.meta();
  auto recomputable = [&](const std::string& layer) {
    auto g = meta.convs.find(layer);
    return g != meta.convs.end() && g->second.groups == 1;
  };
  for (auto& stage : stages) {
    stage.single_conv = recomputable(stage.prefix);
    for (const auto& plan : meta.residuals) {
      if (plan.block != stage.prefix) continue;
      stage.residual = true;
      for (const auto& name : plan.main) {
        stage.main_names.push_back(plan.block + "." + name);
        stage.main.push_back(Step(child(stage.module.module, name)));
        stage.main_conv.push_back(recomputable(stage.main_names.back()));
      }
      stage.shortcut = Step(child(stage.module.module, plan.shortcut));
      stage.post = Step(child(stage.module.module, plan.post));
    }
  }
  return stages;
}

torch::Tensor forward(Step& step, const torch::Tensor& x) {
  if (step.identity) return x;
  return step.module.forward({x}).toTensor();
}

// post(main(x) + shortcut(x)); each recomputable conv's output goes to `conv_out` if given.
torch::Tensor run_residual(Stage& stage, const torch::Tensor& x, std::vector<torch::Tensor>* conv_out) {
  auto y = x;
  for (std::size_t k = 0; k < stage.main.size(); ++k) {
    y = forward(stage.main[k], y);
    if (conv_out && stage.main_conv[k]) (*conv_out)[k] = y;
  }
  return forward(stage.post, y + forward(stage.shortcut, x));
}

// Runs the stages, through their declared residual structure where they have one.
torch::Tensor run_stages(std::vector<Stage>& stages, torch::Tensor x) {
  for (auto& stage : stages) x = stage.residual ? run_residual(stage, x, nullptr) : forward(stage.module, x);
  return x;
}

// The staged run must reproduce forward() bit for bit, on a full batch and on the last,
// partial one (kernels may depend on batch size). When it does not, each declared residual
// structure is checked against its block's own forward and dropped if it differs (the block
// then restarts whole); if the plain sequence of children still differs from forward(), the
// model is not a plain sequence.
bool verify_stages(Model& model, const Dataset& data, std::vector<Stage>& stages, std::int64_t batch) {
  torch::InferenceMode inference;
  const std::int64_t last = (data.size() - 1) / batch * batch;
  for (std::int64_t start = 0;; start = last) {
    const auto x = device_batch(data, model, start, std::min(batch, data.size() - start));
    const auto expected = model.forward(x);
    if (bit_equal(run_stages(stages, x), expected)) {
      if (start == last) return true;
      continue;
    }
    auto y = x;
    for (auto& stage : stages) {
      const auto out = forward(stage.module, y);
      if (stage.residual && !bit_equal(run_residual(stage, y, nullptr), out)) {
        spdlog::warn("{}: declared residual structure does not reproduce its forward; restarting it whole",
                     stage.prefix);
        stage.residual = false;
      }
      y = out;
    }
    if (!bit_equal(y, expected)) return false;
    if (start == last) return true;
  }
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
      layer_macs_[layer.name] = static_cast<double>(layer.macs);
    }
    stage_macs_.assign(stages_.size(), 0);
    for (const auto& layer : model_.meta().layers)
      stage_macs_[stage_of_layer_[layer.name]] += static_cast<double>(layer.macs);
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      stages_[s].cached = stages_[s].restart_point || (s > 0 && stages_[s - 1].restart_point);
      // A single-conv stage splices into its output, the next stage's cached input.
      if (stages_[s].single_conv && (s + 1 >= stages_.size() || !stages_[s + 1].cached)) stages_[s].single_conv = false;
    }
    chunk_ = plan_chunk(options.memory_limit);
  }

  std::string name() const override { return "staged"; }
  std::int64_t cache_bytes() const override { return peak_cache_bytes_; }

  // Campaigns take golden logits from the cached passes themselves (fill_cache). Asked for
  // them before any campaign, a test set of several chunks gets a plain pass instead, which
  // every chunk's cached pass must then reproduce.
  torch::Tensor golden_logits() override {
    if (!golden_.defined()) {
      torch::InferenceMode inference;
      if (chunk_ >= data_.size()) {
        fill_cache(0, data_.size());
      } else {
        std::vector<torch::Tensor> parts;
        for_each_batch(data_.size(), batch_, [&](std::int64_t start, std::int64_t length) {
          parts.push_back(golden_batch_pass(device_batch(data_, model_, start, length), nullptr));
        });
        golden_ = torch::cat(parts);
      }
    }
    return golden_;
  }

  void run(const std::vector<Fault>& faults, FaultModel default_model, const Done& done) override {
    torch::InferenceMode inference;
    const bool single_chunk = chunk_ >= data_.size();
    // With one chunk the cache is built once and faults are reported as each run of them
    // finishes; otherwise faults go in groups, each group sweeping the chunks once.
    const std::size_t group = single_chunk ? faults.size() : kFaultsPerGroup;
    for (std::size_t first = 0; first < faults.size(); first += group) {
      const std::size_t last = std::min(faults.size(), first + group);
      std::vector<Counts> counts(last - first);
      for (std::int64_t chunk_start = 0; chunk_start < data_.size(); chunk_start += chunk_) {
        if (!single_chunk && stop_requested()) return;  // the group is abandoned, not reported
        const std::int64_t chunk_length = std::min(chunk_, data_.size() - chunk_start);
        const auto golden = fill_cache(chunk_start, chunk_length);
        for (std::size_t i = first; i < last;) {
          if (!single_chunk && stop_requested()) return;
          const std::size_t end = run_end(faults, i, last);
          evaluate_run(&faults[i], end - i, default_model, golden, chunk_length, &counts[i - first]);
          for (; i < end; ++i)
            if (single_chunk && !done(i, counts[i - first])) return;
        }
      }
      if (!single_chunk)
        for (std::size_t i = first; i < last; ++i)
          if (!done(i, counts[i - first])) return;
    }
    spdlog::debug("staged engine: {} batches masked early", early_exits_);
  }

 private:
  // One golden sweep over all chunks costs about one naive fault; 64 faults share it, so rows
  // still reach the results file every few dozen faults.
  static constexpr std::size_t kFaultsPerGroup = 64;
  // Faults of one layer whose channels one conv recomputes: on oneDNN a conv with up to 8
  // output channels costs about what a one-channel conv costs.
  static constexpr std::size_t kRunLength = 8;

  // Golden activations of one batch: stage inputs, and inside residual stages each
  // recomputable conv's output. A conv's input between two convs (BN, ReLU of the previous
  // conv's output) is recomputed when a fault needs it: cheap next to the memory it would take.
  struct BatchCache {
    std::vector<torch::Tensor> stage_in;             // [stage]
    std::vector<std::vector<torch::Tensor>> conv_out;  // [stage][main child]
  };

  // Golden input of main child k of residual stage s, from the nearest cached tensor before it.
  torch::Tensor main_input(std::size_t s, std::size_t k, const BatchCache& c) {
    auto& stage = stages_[s];
    std::size_t from = k;
    while (from > 0 && !stage.main_conv[from - 1]) --from;
    auto y = from == 0 ? c.stage_in[s] : c.conv_out[s][from - 1];
    for (std::size_t j = from; j < k; ++j) y = forward(stage.main[j], y);
    return y;
  }

  torch::Tensor golden_batch_pass(torch::Tensor x, BatchCache* cache) {
    if (cache) {
      cache->stage_in.assign(stages_.size(), {});
      cache->conv_out.assign(stages_.size(), {});
    }
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      auto& stage = stages_[s];
      if (cache && stage.cached) cache->stage_in[s] = x;
      if (stage.residual) {
        if (cache) cache->conv_out[s].assign(stage.main.size(), {});
        x = run_residual(stage, x, cache ? &cache->conv_out[s] : nullptr);
      } else {
        x = forward(stage.module, x);
      }
    }
    return x;
  }

  static std::int64_t bytes_of(const BatchCache& c) {
    std::int64_t bytes = 0;
    auto add = [&](const torch::Tensor& t) {
      if (t.defined()) bytes += t.numel() * static_cast<std::int64_t>(t.element_size());
    };
    for (const auto& t : c.stage_in) add(t);
    for (const auto& v : c.conv_out) for (const auto& t : v) add(t);
    return bytes;
  }

  // Images per chunk: whole batches whose cached activations fit the memory limit.
  std::int64_t plan_chunk(std::int64_t memory_limit) {
    torch::InferenceMode inference;
    BatchCache probe;
    golden_batch_pass(device_batch(data_, model_, 0, std::min<std::int64_t>(1, data_.size())), &probe);
    const std::int64_t per_image = std::max<std::int64_t>(bytes_of(probe), 1);
    const std::int64_t batches = std::max<std::int64_t>(1, memory_limit / (per_image * batch_));
    const std::int64_t chunk = std::min(data_.size(), batches * batch_);
    spdlog::debug("staged engine: {} stages, {} bytes cached per image, chunks of {} images", stages_.size(),
                  per_image, chunk);
    return chunk;
  }

  // Caches the golden activations of one chunk and returns its golden logits. The first pass
  // over a chunk records them; every later pass must reproduce them bit for bit, or no result
  // could be trusted.
  torch::Tensor fill_cache(std::int64_t chunk_start, std::int64_t chunk_length) {
    const auto index = static_cast<std::size_t>(chunk_start / chunk_);
    if (cached_start_ == chunk_start && cached_length_ == chunk_length) return golden_parts_[index];
    const auto start = std::chrono::steady_clock::now();
    cache_.clear();
    std::int64_t bytes = 0;
    std::vector<torch::Tensor> logits;
    for_each_batch(chunk_length, batch_, [&](std::int64_t offset, std::int64_t length) {
      BatchCache c;
      logits.push_back(golden_batch_pass(device_batch(data_, model_, chunk_start + offset, length), &c));
      bytes += bytes_of(c);
      cache_.push_back(std::move(c));
    });
    const auto chunk_golden = torch::cat(logits);
    golden_parts_.resize(static_cast<std::size_t>((data_.size() + chunk_ - 1) / chunk_));
    auto& recorded = golden_parts_.at(index);
    if (!recorded.defined() && golden_.defined()) recorded = golden_.narrow(0, chunk_start, chunk_length);
    if (recorded.defined() && !bit_equal(chunk_golden, recorded))
      throw Error(ExitCode::kFailure, "staged engine: cached golden pass differs from the golden logits; "
                                      "use --engine naive");
    if (!recorded.defined()) {
      recorded = chunk_golden;
      if (std::all_of(golden_parts_.begin(), golden_parts_.end(), [](const torch::Tensor& t) { return t.defined(); }))
        golden_ = torch::cat(golden_parts_);
    }
    peak_cache_bytes_ = std::max(peak_cache_bytes_, bytes);
    cached_start_ = chunk_start;
    cached_length_ = chunk_length;
    spdlog::debug("staged engine: golden pass over images {}-{} cached in {:.2f} s", chunk_start,
                  chunk_start + chunk_length - 1,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return recorded;
  }

  // Where a fault is computed from: its stage, its index among the residual main path's
  // children, and whether its output channel can be recomputed and spliced.
  struct Site {
    std::size_t stage = 0;
    std::size_t child = 0;
    bool splice = false;
  };

  Site site_of(const std::string& layer) const {
    Site site;
    site.stage = stage_of_layer_.at(layer);
    const auto& stage = stages_[site.stage];
    if (stage.residual) {
      site.child = static_cast<std::size_t>(std::find(stage.main_names.begin(), stage.main_names.end(), layer) -
                                            stage.main_names.begin());
      site.splice = site.child < stage.main.size() && stage.main_conv[site.child];
    } else {
      site.splice = stage.single_conv;
    }
    return site;
  }

  // End of the run of faults starting at `first` that share one conv for their channels.
  std::size_t run_end(const std::vector<Fault>& faults, std::size_t first, std::size_t last) const {
    std::size_t end = first + 1;
    if (!site_of(faults[first].layer).splice) return end;
    while (end < last && end - first < kRunLength && faults[end].layer == faults[first].layer) ++end;
    return end;
  }

  // Counts of the `n` faults of one run (one fault unless they splice) over the cached
  // chunk, added to counts[0..n).
  // `golden`: the chunk's golden logits.
  void evaluate_run(const Fault* faults, std::size_t n, FaultModel default_model, const torch::Tensor& golden,
                    std::int64_t chunk_length, Counts* counts) {
    // Faulty value of each fault's weight; a fault that leaves its bits unchanged is masked.
    const auto weight = model_.weight(faults[0].layer);
    std::vector<std::size_t> live;
    std::vector<float> faulty(n);
    for (std::size_t r = 0; r < n; ++r) {
      const float original = element(weight, faults[r].index).to(torch::kCPU).item<float>();
      faulty[r] = apply_fault(original, faults[r].bit, faults[r].model.value_or(default_model));
      if (float_bits(faulty[r]) == float_bits(original)) {
        counts[r] += all_masked(chunk_length);
      } else {
        live.push_back(r);
      }
    }
    if (live.empty()) return;
    const Site site = site_of(faults[0].layer);
    if (!site.splice) {
      ScopedFault patch(model_, faults[0], faults[0].model.value_or(default_model));
      std::size_t b = 0;
      for_each_batch(chunk_length, batch_, [&](std::int64_t offset, std::int64_t length) {
        const auto golden_batch = golden.narrow(0, offset, length);
        const auto& c = cache_[b++];
        auto x = forward(stages_[site.stage].module, c.stage_in[site.stage]);
        executed_macs_ += stage_macs_[site.stage] * static_cast<double>(length);
        const auto logits = propagate(x, site.stage + 1, c, length);
        counts[0] += classify(golden_batch, logits.defined() ? logits : golden_batch);
      });
      return;
    }
    // One weight row per live fault: its output channel's golden row with the fault applied.
    std::vector<std::int64_t> rows;
    for (auto r : live) rows.push_back(faults[r].index[0]);
    const auto row_index = torch::tensor(rows, torch::kLong).to(weight.device());
    auto rows_weight = weight.index_select(0, row_index).contiguous(weight.suggest_memory_format());
    for (std::size_t j = 0; j < live.size(); ++j) {
      auto index = faults[live[j]].index;
      index[0] = static_cast<std::int64_t>(j);  // row j holds that fault's output channel
      store_bits(element(rows_weight, index), faulty[live[j]]);
    }
    auto bias = model_.bias(faults[0].layer);
    if (bias.defined()) bias = bias.index_select(0, row_index);
    const auto& g = model_.meta().convs.at(faults[0].layer);
    const double channel_macs = macs_of(faults[0].layer) / static_cast<double>(weight.size(0));

    auto& stage = stages_[site.stage];
    std::size_t b = 0;
    for_each_batch(chunk_length, batch_, [&](std::int64_t offset, std::int64_t length) {
      const auto golden_batch = golden.narrow(0, offset, length);
      const auto& c = cache_[b++];
      const auto input = stage.residual ? main_input(site.stage, site.child, c) : c.stage_in[site.stage];
      const auto& golden_out = stage.residual ? c.conv_out[site.stage][site.child] : c.stage_in[site.stage + 1];
      const auto channels = at::conv2d(input, rows_weight, bias, g.stride, g.padding, g.dilation, g.groups);
      executed_macs_ += channel_macs * static_cast<double>(rows.size()) * static_cast<double>(length);
      for (std::size_t j = 0; j < live.size(); ++j) {
        const auto channel = channels.narrow(1, static_cast<std::int64_t>(j), 1);
        const std::int64_t o = rows[j];
        torch::Tensor logits;
        if (bit_equal(channel, golden_out.narrow(1, o, 1))) {
          ++early_exits_;
        } else {
          auto out = golden_out.clone();
          out.narrow(1, o, 1).copy_(channel);
          logits = stage.residual ? finish_residual(site, out, c, length) : propagate(out, site.stage + 1, c, length);
        }
        counts[live[j]] += classify(golden_batch, logits.defined() ? logits : golden_batch);
      }
    });
  }

  static Counts all_masked(std::int64_t images) {
    Counts counts;
    counts.injections = images;
    counts.masked = images;
    return counts;
  }

  // The rest of a residual stage after its main child `site.child` produced `y`, then the
  // stages after it.
  torch::Tensor finish_residual(const Site& site, torch::Tensor y, const BatchCache& c, std::int64_t length) {
    auto& stage = stages_[site.stage];
    for (std::size_t j = site.child + 1; j < stage.main.size(); ++j) {
      y = forward(stage.main[j], y);
      executed_macs_ += macs_of(stage.main_names[j]) * static_cast<double>(length);
    }
    const auto x = forward(stage.post, y + forward(stage.shortcut, c.stage_in[site.stage]));
    return propagate(x, site.stage + 1, c, length);
  }

  // Faulty logits from `x`, the input of stage `next`; undefined when a later stage boundary
  // is bit-identical to golden (the batch is masked as a whole).
  torch::Tensor propagate(torch::Tensor x, std::size_t next, const BatchCache& c, std::int64_t length) {
    for (;; ++next) {
      if (next < stages_.size() && stages_[next].cached && bit_equal(x, c.stage_in[next])) {
        ++early_exits_;
        return {};
      }
      if (next >= stages_.size()) return x;
      x = forward(stages_[next].module, x);
      executed_macs_ += stage_macs_[next] * static_cast<double>(length);
    }
  }

  double macs_of(const std::string& layer) const {
    auto it = layer_macs_.find(layer);
    return it == layer_macs_.end() ? 0 : it->second;
  }

  Model& model_;
  const Dataset& data_;
  std::int64_t batch_;
  std::vector<Stage> stages_;
  std::unordered_map<std::string, std::size_t> stage_of_layer_;
  std::unordered_map<std::string, double> layer_macs_;
  std::vector<double> stage_macs_;  // conv/linear MACs per image of each stage
  std::int64_t chunk_ = 0;
  std::vector<BatchCache> cache_;   // [batch] of the current chunk
  std::int64_t cached_start_ = -1, cached_length_ = -1;
  std::int64_t peak_cache_bytes_ = 0;
  std::int64_t early_exits_ = 0;
  torch::Tensor golden_;                    // all images, once every chunk has been passed
  std::vector<torch::Tensor> golden_parts_;  // [chunk]
};

}  // namespace

std::unique_ptr<Engine> make_staged_engine(Model& model, const Dataset& data, const EngineOptions& options) {
  auto stages = split_stages(model);
  if (!model.meta().sequential || stages.empty() || data.size() == 0 ||
      !verify_stages(model, data, stages, options.batch_size)) {
    spdlog::warn("{}: forward is not the plain sequence of its children; using the naive engine (exact, slower)",
                 model.meta().name);
    return make_naive_engine(model, data, options);
  }
  return std::make_unique<StagedEngine>(model, data, options, std::move(stages));
}

}  // namespace dnnfi
