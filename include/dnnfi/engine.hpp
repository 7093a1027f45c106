#pragma once
// Campaign engines: how the faulty inference of one fault over the test set is computed.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/dataset.hpp"
#include "dnnfi/fault.hpp"
#include "dnnfi/model.hpp"
#include "dnnfi/names.hpp"
#include "dnnfi/outcome.hpp"
#include "dnnfi/settings.hpp"

namespace dnnfi {

enum class EngineKind {
  kNaive,    // full inference of every batch for every fault (the reference)
  kStaged,   // restart from cached golden activations at the faulty layer's stage
  kStacked,  // staged, with the faulty activations of several faults of one layer in one batch
};
inline constexpr Named<EngineKind> kEngineKindNames[] = {
    {EngineKind::kNaive, "naive"}, {EngineKind::kStaged, "staged"}, {EngineKind::kStacked, "stacked"}};
std::optional<EngineKind> parse_engine_kind(std::string_view text);
std::string_view to_string(EngineKind kind);
std::vector<std::string> engine_kind_names();

struct EngineOptions {
  std::int64_t batch_size = kDefaultBatchSize;       // Default: 128
  std::int64_t memory_limit = kDefaultMemoryLimit;   // bytes of cached activations; Default: 4 GiB
  NonFiniteRule non_finite = kDefaultNonFiniteRule;  // images with NaN/Inf logits; Default: argmax
  // Stacked engine: the most faults whose activations share one batch; Default: 0, as many as a
  // quarter of memory_limit holds (the golden cache keeps the rest), at most 64.
  std::size_t stack = 0;
  // Set asynchronously (Ctrl-C): an engine that reports faults in groups abandons the unfinished
  // group instead of completing it; those faults were never reported, so a resumed campaign
  // reruns them. Default: none.
  const std::atomic<bool>* stop = nullptr;
  // Counts carry each fault's critical images (Counts::critical_images). Default: off.
  bool per_image = false;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  // Golden logits of every image, N x classes, computed once with the engine's batching.
  virtual torch::Tensor golden_logits() = 0;
  // Runs `faults` (each with its own fault model) over the whole test set and calls
  // `done(i, counts)` as each fault i finishes (not necessarily one by one: an engine that
  // processes the test set in chunks reports a group of faults at once). `done` returns false
  // to stop early. The model's weights are restored after every fault.
  using Done = std::function<bool(std::size_t, const Counts&)>;
  virtual void run(const std::vector<Fault>& faults, const Done& done) = 0;
  // Conv/linear multiply-accumulates spent on faulty runs so far (what was really computed).
  virtual double executed_macs() const = 0;
  // Peak bytes of cached activations the engine holds.
  virtual std::int64_t cache_bytes() const = 0;
};

// The counts of one fault, for tests and tools.
Counts evaluate_fault(Engine& engine, const Fault& fault);

// The model and data set must outlive the engine. Images are batched in order, the last
// batch holding the remainder, identically for golden and faulty passes. This alone decides
// what runs: the staged (or stacked) engine when the model is a verified plain sequence of
// stages, else the naive engine (said once in the log).
std::unique_ptr<Engine> make_engine(EngineKind kind, Model& model, const Dataset& data,
                                    const EngineOptions& options);

}  // namespace dnnfi
