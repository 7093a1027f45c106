#pragma once
// The scheduler of a chunked campaign: in which order faults are computed over the chunks of
// the test set, which consecutive faults share one computation, when each is reported, and how
// a stop request is honoured. Testable without a model: the work is an interface.
#include <atomic>
#include <cstddef>
#include <vector>

#include "dnnfi/engine.hpp"

namespace dnnfi {

// What the scheduler drives: a test set held one chunk at a time, faults computed a run at a time.
class ChunkedWork {
 public:
  virtual ~ChunkedWork() = default;
  virtual std::size_t chunk_count() const = 0;
  // Makes `chunk` the one computed on (cheap when it is already held).
  virtual void load_chunk(std::size_t chunk) = 0;
  // Consecutive faults of this fault's layer may be computed together, one run.
  virtual bool shares_runs(const Fault& fault) const = 0;
  // Adds the held chunk's counts of faults[0..n), one run, to counts[0..n).
  virtual void evaluate(const Fault* faults, std::size_t n, Counts* counts) = 0;
  // False for a fault that changes nothing the network computes with (a stuck-at bit already
  // at its value, a bit that TF32 rounding drops): masked everywhere, no inference needed.
  virtual bool needs_inference(const Fault& fault) const = 0;
  // The counts of such a fault over the whole test set.
  virtual Counts unchanged_counts() = 0;
};

struct ScheduleLimits {
  // With several chunks, faults go in groups that sweep the chunks once and are reported when
  // the group is complete. One sweep's golden passes cost about one naive fault; 64 faults
  // that need inference share it, so rows still reach the results file every few dozen faults.
  // Faults that need none ride along; a group of them alone sweeps nothing.
  std::size_t group = 64;
  // Faults of one layer in one run: on oneDNN a conv with up to 8 output channels costs about
  // what a one-channel conv costs.
  std::size_t run = 8;
};

// Computes every fault over every chunk and reports each through `done` (Engine::run's
// contract). With one chunk, faults are reported as each run finishes; with several, a group at
// a time, and a stop request abandons the unfinished group without reporting any of it.
void run_schedule(const std::vector<Fault>& faults, ChunkedWork& work, const Engine::Done& done,
                  const std::atomic<bool>* stop, const ScheduleLimits& limits = {});

}  // namespace dnnfi
