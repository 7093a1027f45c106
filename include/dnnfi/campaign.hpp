#pragma once
// The campaign loop: resume from the results file, run what is left, append each row.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "dnnfi/engine.hpp"
#include "dnnfi/results_file.hpp"

namespace dnnfi {

struct CampaignSummary {
  std::size_t faults = 0;    // in this campaign (after sharding and sampling)
  std::size_t resumed = 0;   // rows found in the results file
  std::size_t ran = 0;       // rows computed now
  Counts totals;             // over every row of the campaign present in the file
  double seconds = 0;        // spent running faults now
  double macs = 0;           // conv/linear multiply-accumulates spent now (0: unknown)
  std::int64_t images = 0;   // per fault
  bool complete() const { return resumed + ran == faults; }
};

// The expensive part behind an interface, so the loop is testable without a model.
class FaultRunner {
 public:
  virtual ~FaultRunner() = default;
  virtual void run(const std::vector<Fault>& faults, FaultModel default_model, const Engine::Done& done) = 0;
};

class EngineRunner final : public FaultRunner {
 public:
  explicit EngineRunner(Engine& engine) : engine_(engine) {}
  void run(const std::vector<Fault>& faults, FaultModel default_model, const Engine::Done& done) override {
    engine_.run(faults, default_model, done);
  }


 private:
  Engine& engine_;
};

struct LoopOptions {
  std::filesystem::path output;
  std::int64_t images = 0;                  // images per fault, checked against resumed rows
  FaultModel default_model = FaultModel::kBitFlip;
  bool progress = false;                    // progress bar on stderr
  const std::atomic<bool>* stop = nullptr;  // set asynchronously to stop after the current fault
  std::function<void(std::size_t)> on_resume;  // told how many faults are already done
};

// Runs every fault of `faults` that the results file does not hold yet. Resumed rows must
// match the list (same fault, model and image count) or an InputError names the row.
CampaignSummary run_fault_loop(const std::vector<Fault>& faults, FaultRunner& runner, const LoopOptions& options);

// Every N-th fault starting at K (0-based), for `--shard K/N`.
std::vector<Fault> shard(const std::vector<Fault>& faults, std::size_t k, std::size_t n);

}  // namespace dnnfi
