#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "dnnfi/engine.hpp"
#include "dnnfi/errors.hpp"
#include "engines.hpp"

namespace dnnfi {

std::optional<EngineKind> parse_engine_kind(const std::string& text) {
  if (text == "naive") return EngineKind::kNaive;
  if (text == "staged") return EngineKind::kStaged;
  return std::nullopt;
}

namespace {

// The reference: what today's Python injectors do, one full inference per fault.
class NaiveEngine final : public Engine {
 public:
  NaiveEngine(Model& model, const Dataset& data, const EngineOptions& options)
      : model_(model), data_(data), batch_(options.batch_size) {}

  std::string name() const override { return "naive"; }


  torch::Tensor golden_logits() override {
    if (!golden_.defined()) golden_ = infer_all();
    return golden_;
  }

  void run(const std::vector<Fault>& faults, FaultModel default_model, const Done& done) override {
    for (std::size_t i = 0; i < faults.size(); ++i)
      if (!done(i, evaluate_fault(faults[i], faults[i].model.value_or(default_model)))) return;
  }

 private:
  Counts evaluate_fault(const Fault& fault, FaultModel fault_model) {
    torch::InferenceMode inference;
    const auto golden = golden_logits();
    ScopedFault patch(model_, fault, fault_model);
    Counts counts;
    double model_macs = 0;
    for (const auto& layer : model_.meta().layers) model_macs += static_cast<double>(layer.macs);
    executed_macs_ += model_macs * static_cast<double>(data_.size());
    for_each_batch(data_.size(), batch_, [&](std::int64_t start, std::int64_t length) {
      counts += classify(golden.narrow(0, start, length), model_.forward(device_batch(data_, model_, start, length)));
    });
    return counts;
  }

  torch::Tensor infer_all() {
    torch::InferenceMode inference;
    std::vector<torch::Tensor> parts;
    for_each_batch(data_.size(), batch_, [&](std::int64_t start, std::int64_t length) {
      parts.push_back(model_.forward(device_batch(data_, model_, start, length)));
    });
    return torch::cat(parts);
  }

  Model& model_;
  const Dataset& data_;
  std::int64_t batch_;
  torch::Tensor golden_;
};

}  // namespace

Counts Engine::evaluate(const Fault& fault, FaultModel model) {
  Counts result;
  run({fault}, model, [&](std::size_t, const Counts& counts) {
    result = counts;
    return true;
  });
  return result;
}

torch::Tensor device_batch(const Dataset& data, const Model& model, std::int64_t start, std::int64_t length) {
  return model.prepare_input(data.images.narrow(/*dim=*/0, start, length));
}

std::unique_ptr<Engine> make_naive_engine(Model& model, const Dataset& data, const EngineOptions& options) {
  return std::make_unique<NaiveEngine>(model, data, options);
}

std::unique_ptr<Engine> make_engine(EngineKind kind, Model& model, const Dataset& data,
                                    const EngineOptions& options) {
  if (options.batch_size <= 0) throw Error(ExitCode::kUsage, "batch size must be positive");
  if (kind == EngineKind::kStaged) return make_staged_engine(model, data, options);
  return make_naive_engine(model, data, options);
}

}  // namespace dnnfi
