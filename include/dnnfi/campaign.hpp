#pragma once
// A campaign as the library reports it (its summary, the status of an iterative one), who is
// told how it advances and what stops it. run_campaign (commands.hpp) plans a campaign once,
// purely, then executes it: src/campaign/{plan,store,sampler,execute}.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "dnnfi/engine.hpp"
#include "dnnfi/results.hpp"
#include "dnnfi/statistics.hpp"
#include "dnnfi/word_format.hpp"

namespace dnnfi {

// Where an iterative campaign (--margin) stopped.
struct IterativeStatus {
  double target = 0;              // the margin asked for
  double confidence = 0;          // of the intervals
  bool per_layer = false;         // every layer's own rate had to meet it too
  StratifiedEstimate estimate;    // the whole model's critical-fault rate
  double worst_layer_margin = 0;  // the largest half-width of a layer's own interval
  std::vector<Stratum> strata;    // per layer: weight, faults drawn, critical
  std::size_t rounds = 0;
  std::size_t list_faults = 0;  // faults the list offered
  bool met = false;             // false: the list ran out first (or the campaign was stopped)
};

struct CampaignSummary {
  std::size_t faults = 0;                    // in this campaign (after sharding and sampling)
  std::size_t resumed = 0;                   // rows found in the results file
  std::size_t ran = 0;                       // rows computed now
  Counts totals;                             // over every row of the campaign present in the file
  double seconds = 0;                        // spent running faults now
  double macs = 0;                           // conv/linear multiply-accumulates spent now (0: unknown)
  std::int64_t images = 0;                   // per fault
  std::optional<IterativeStatus> iterative;  // for an iterative campaign
  bool complete() const { return resumed + ran == faults; }
};

// Told how a campaign advances; the CLI draws its progress bar from it. Called on the
// thread that runs the campaign.
class CampaignObserver {
 public:
  virtual ~CampaignObserver() = default;
  // Before the first fault runs: the campaign's size and the rows already in the file.
  virtual void started(std::size_t faults, std::size_t resumed) = 0;
  // After each new row: rows done so far (resumed included) and the totals over them.
  virtual void advanced(std::size_t done, const Counts& totals) = 0;
  virtual void finished() = 0;
};

// Who is told how a campaign advances and what stops it: none of it changes a count, so none of
// it is part of the request (commands.hpp) or of the plan.
struct CampaignControls {
  CampaignObserver* observer = nullptr;     // told the progress; Default: none
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: stop after the current fault
  // For tests that need a kill at an exact point: raise this signal after this many new rows
  // (DNNFI_TEST_SIGNAL_AFTER_ROWS=K[:SIGNAL]). Default: never.
  std::size_t test_signal_after_rows = 0;
  int test_signal = 0;
};

// Iterative statistical fault injection: instead of the whole list (sized for the worst case
// p = 0.5), faults are drawn from it round by round, in an order shuffled by `seed`, stratified
// by layer with proportional allocation (each layer's weight: its share of the model's
// weights), until the stratified estimate of the model's critical-fault rate has an interval
// (Wilson at the effective sample size, finite-population corrected) of half-width at most
// `margin`; with `per_layer` every layer's own interval too. An interrupted campaign resumes
// exactly: the rounds are replayed from the first, faults already in the file taken from it, so
// it draws what an uninterrupted run would have.
struct IterativeOptions {
  double margin = 0.01;      // --margin E, absolute (0.01: one percentage point)
  double confidence = 0.99;  // --confidence; Default: 0.99
  bool per_layer = false;    // --per-layer; Default: the model's rate only
  std::uint64_t seed = 38;   // --seed, the drawing order; Default: 38
  std::size_t round = 0;     // faults per round; Default: 0 = 1% of the list, at least 50
  // The population each layer's faults are drawn from (population()): the word format and the
  // bits of the list. Default: fp32, every bit, no burst.
  WordFormat format = WordFormat::kFp32;
  BitMask bits = BitMask(0xFFFFFFFFu);
  int burst = 1;
};

}  // namespace dnnfi
