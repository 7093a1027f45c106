// The staged engine: the stage plan, the golden activation cache, the scheduler and the
// per-fault executor put together. Results equal the naive engine's, fault by fault.
#include <spdlog/spdlog.h>

#include "engines.hpp"
#include "fault_executor.hpp"
#include "golden_cache.hpp"
#include "scheduler.hpp"

namespace dnnfi {
namespace {

class StagedEngine final : public Engine, private ChunkedWork {
 public:
  StagedEngine(Model& model, const Dataset& data, const EngineOptions& options, StagePlan plan)
      : plan_(std::move(plan)),
        cache_(model, data, plan_, options.batch_size, options.memory_limit),
        executor_(model, plan_, cache_, options.batch_size, options.non_finite),
        stop_(options.stop) {}

  std::string name() const override { return std::string(to_string(EngineKind::kStaged)); }
  torch::Tensor golden_logits() override { return cache_.golden_logits(); }
  double executed_macs() const override { return executor_.executed_macs(); }
  std::int64_t cache_bytes() const override { return cache_.peak_bytes(); }

  void run(const std::vector<Fault>& faults, const Done& done) override {
    torch::InferenceMode inference;
    run_schedule(faults, *this, done, stop_);
    spdlog::debug("staged engine: {} batches masked early", executor_.early_exits());
  }

 private:
  std::size_t chunk_count() const override { return cache_.chunk_count(); }
  void load_chunk(std::size_t chunk) override { cache_.load(chunk); }
  bool shares_runs(const Fault& fault) const override { return executor_.shares_runs(fault.layer); }
  void evaluate(const Fault* faults, std::size_t n, Counts* counts) override {
    executor_.evaluate(faults, n, counts);
  }

  StagePlan plan_;
  GoldenCache cache_;
  FaultExecutor executor_;
  const std::atomic<bool>* stop_;
};

}  // namespace

std::unique_ptr<Engine> make_staged_engine(Model& model, const Dataset& data, const EngineOptions& options,
                                           StagePlan plan) {
  return std::make_unique<StagedEngine>(model, data, options, std::move(plan));
}

}  // namespace dnnfi
