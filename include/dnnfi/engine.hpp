#pragma once
// Campaign engines: how the faulty inference of one fault over the test set is computed.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>
#include <optional>
#include <string>

#include "dnnfi/dataset.hpp"
#include "dnnfi/fault.hpp"
#include "dnnfi/model.hpp"
#include "dnnfi/outcome.hpp"

namespace dnnfi {

enum class EngineKind {
  kNaive,   // full inference of every batch for every fault (the reference)
  kStaged,  // restart from cached golden activations at the faulty layer's stage
};
std::optional<EngineKind> parse_engine_kind(const std::string& text);

struct EngineOptions {
  std::int64_t batch_size = 128;                   // Default: 128 (the seed's habit)
  std::int64_t memory_limit = std::int64_t{4} << 30;  // bytes of cached activations; Default: 4 GiB
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  // Golden logits of every image, N x classes, computed once with the engine's batching.
  virtual torch::Tensor golden_logits() = 0;
  // Runs `faults` over the whole test set and calls `done(i, counts)` as each fault i
  // finishes (not necessarily one by one: an engine that processes the test set in chunks
  // reports a group of faults at once). `done` returns false to stop early. The model's
  // weights are restored after every fault.
  using Done = std::function<bool(std::size_t, const Counts&)>;
  virtual void run(const std::vector<Fault>& faults, FaultModel default_model, const Done& done) = 0;
  // One fault, for tests and tools.
  Counts evaluate(const Fault& fault, FaultModel model);
  // Conv/linear multiply-accumulates spent on faulty runs so far (what was really computed).
  double executed_macs() const { return executed_macs_; }
  // Peak bytes of cached activations the engine holds.
  virtual std::int64_t cache_bytes() const { return 0; }
  // Set asynchronously (Ctrl-C) to stop: an engine that reports faults in groups abandons the
  // unfinished group instead of completing it; those faults were never reported, so a resumed
  // campaign reruns them.
  void set_stop(const std::atomic<bool>* stop) { stop_ = stop; }

 protected:
  bool stop_requested() const { return stop_ != nullptr && stop_->load(); }
  double executed_macs_ = 0;
  const std::atomic<bool>* stop_ = nullptr;
};

// The model and data set must outlive the engine. Images are batched in order, the last
// batch holding the remainder, identically for golden and faulty passes.
std::unique_ptr<Engine> make_engine(EngineKind kind, Model& model, const Dataset& data,
                                    const EngineOptions& options);

}  // namespace dnnfi
