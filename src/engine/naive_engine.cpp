// The reference engine: what today's Python injectors do, one full inference per fault.
#include "batches.hpp"
#include "engines.hpp"

namespace dnnfi {
namespace {

class NaiveEngine final : public Engine {
 public:
  NaiveEngine(Model& model, const Dataset& data, const EngineOptions& options)
      : model_(model),
        data_(data),
        batch_(options.batch_size),
        rule_(options.non_finite),
        per_image_(options.per_image) {
    for (const auto& layer : model_.info().layers) model_macs_ += static_cast<double>(layer.macs);
  }

  std::string name() const override { return std::string(to_string(EngineKind::kNaive)); }
  double executed_macs() const override { return executed_macs_; }
  std::int64_t cache_bytes() const override { return 0; }

  torch::Tensor golden_logits() override {
    if (!golden_.defined()) golden_ = infer_all();
    return golden_;
  }

  void run(const std::vector<Fault>& faults, const Done& done) override {
    for (std::size_t i = 0; i < faults.size(); ++i)
      if (!done(i, evaluate(faults[i]))) return;
  }

 private:
  Counts evaluate(const Fault& fault) {
    torch::InferenceMode inference;
    const auto golden = golden_logits();
    ScopedFault patch(model_, fault);
    CountSums sums(per_image_, 0);
    executed_macs_ += model_macs_ * static_cast<double>(data_.size());
    for_each_batch(data_.size(), batch_, [&](std::int64_t start, std::int64_t length) {
      sums.add(golden.narrow(0, start, length), model_.forward(device_batch(data_, model_, start, length)),
               rule_, start);
    });
    return sums.total();
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
  NonFiniteRule rule_;
  bool per_image_;
  double model_macs_ = 0;  // conv/linear multiply-accumulates of one image
  double executed_macs_ = 0;
  torch::Tensor golden_;
};

}  // namespace

std::unique_ptr<Engine> make_naive_engine(Model& model, const Dataset& data, const EngineOptions& options) {
  return std::make_unique<NaiveEngine>(model, data, options);
}

}  // namespace dnnfi
