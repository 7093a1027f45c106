// The staged engine: the stage plan, the golden activation cache, the scheduler, and the job that
// runs the target's faults over the shared propagation, put together. Results equal the naive
// engine's, fault by fault.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "engines.hpp"
#include "fault_job.hpp"
#include "golden_cache.hpp"
#include "propagation.hpp"
#include "scheduler.hpp"

namespace dnnfi {
namespace {

// A stacked engine leaves a quarter of the memory limit to its stacks.
std::int64_t cache_limit(const EngineOptions& options, bool stacked) {
  return stacked ? options.memory_limit - options.memory_limit / 4 : options.memory_limit;
}

class StagedEngine final : public Engine, private ChunkedWork {
 public:
  StagedEngine(Model& model, const Dataset& data, const EngineOptions& options, StagePlan plan, bool stacked)
      : kind_(stacked ? EngineKind::kStacked : EngineKind::kStaged),
        plan_(std::move(plan)),
        cache_(model, data, plan_, options.batch_size, cache_limit(options, stacked)),
        propagation_(model, plan_, cache_, options.batch_size, options.non_finite, options.per_image),
        job_(make_fault_job(model.space().target, propagation_)),
        rule_(options.non_finite),
        per_image_(options.per_image),
        stop_(options.stop) {
    // Before any fault: restarts must reproduce the golden pass (an Error sends make_engine to
    // the naive engine).
    cache_.check_restarts();
    if (!stacked) return;
    // A stack's batch passes through a stage with about three tensors of its size alive.
    const std::int64_t per_fault =
        3 * options.batch_size * std::max<std::int64_t>(cache_.largest_activation(), 1);
    const auto budget =
        static_cast<std::size_t>(std::max<std::int64_t>(1, (options.memory_limit / 4) / per_fault));
    const std::size_t stack = options.stack > 0 ? options.stack : std::min<std::size_t>(budget, 64);
    propagation_.set_stack(stack);
    limits_.run = std::max(limits_.run, stack);
    spdlog::info("stacked engine: up to {} faults of one layer per batch", stack);
  }

  std::string name() const override { return std::string(to_string(kind_)); }
  torch::Tensor golden_logits() override { return cache_.golden_logits(); }
  double executed_macs() const override { return propagation_.executed_macs(); }
  std::int64_t cache_bytes() const override { return cache_.peak_bytes(); }

  void run(const std::vector<Fault>& faults, const Done& done) override {
    torch::InferenceMode inference;
    run_schedule(faults, *this, done, stop_, limits_);
    // What the shortcuts saved, for benchmarks: faults no inference was needed for (their word
    // unchanged as the numerics see it) and batches (activation faults: images) that left early,
    // equal to golden.
    const auto t = tally(propagation_, *job_);
    spdlog::info("{} engine: {} of {} faults needed no inference; {} batches masked early{}",
                 to_string(kind_), free_faults_, asked_, t.early_exits,
                 t.images_masked_early > 0
                     ? fmt::format("; {} more images masked early", t.images_masked_early)
                     : std::string());
    if (t.windows_checked > 0)
      spdlog::debug("{} engine: {} window shapes checked, {} computed as the full maps do", to_string(kind_),
                    t.windows_checked, t.windows_passed);
    if (!t.full_conv_layers.empty())
      spdlog::debug("staged engine: full convs instead of splices in {}",
                    fmt::join(t.full_conv_layers, ", "));
  }

 private:
  std::size_t chunk_count() const override { return cache_.chunk_count(); }
  void load_chunk(std::size_t chunk) override { cache_.load(chunk); }
  bool shares_runs(const Fault& fault) const override { return job_->shares_runs(fault.layer); }
  void evaluate(const Fault* faults, std::size_t n, Counts* counts) override {
    job_->evaluate(faults, n, counts);
  }
  bool needs_inference(const Fault& fault) const override {
    ++asked_;
    const bool needs = job_->needs_inference(fault);
    free_faults_ += needs ? 0 : 1;
    return needs;
  }
  Counts unchanged_counts() override {
    const auto golden = cache_.golden_logits();
    return classify(golden, golden, rule_, per_image_);
  }

  EngineKind kind_;
  StagePlan plan_;
  GoldenCache cache_;
  Propagation propagation_;
  std::unique_ptr<FaultJob> job_;  // the target's: which job runs its faults
  NonFiniteRule rule_;
  bool per_image_;
  const std::atomic<bool>* stop_;
  ScheduleLimits limits_;
  mutable std::size_t asked_ = 0, free_faults_ = 0;  // needs_inference answers, and its no's
};

}  // namespace

std::unique_ptr<Engine> make_staged_engine(Model& model, const Dataset& data, const EngineOptions& options,
                                           StagePlan plan, bool stacked) {
  return std::make_unique<StagedEngine>(model, data, options, std::move(plan), stacked);
}

}  // namespace dnnfi
