#pragma once
// A campaign as the library takes it (the request: the model and its test set, the inference,
// the campaign's options) and reports it (its summary, the status of an iterative one), who is
// told how it advances and what stops it. run_campaign (commands.hpp) plans a campaign once,
// purely, then executes it: src/campaign/{plan,store,sampler,execute}.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "dnnfi/dataset.hpp"
#include "dnnfi/engine.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/numerics.hpp"
#include "dnnfi/results.hpp"
#include "dnnfi/settings.hpp"
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

// Which parameters faults may hit.
enum class ParamSelection {
  kWeights,  // the weights of conv and linear layers (the seed's campaigns)
  kAll,      // every float parameter: biases and normalisation parameters too
};
inline constexpr Named<ParamSelection> kParamSelectionNames[] = {{ParamSelection::kWeights, "weight"},
                                                                 {ParamSelection::kAll, "all"}};

// Which model and test set a command works on.
struct ModelOptions {
  std::string name = "resnet20";                    // -n, a zoo model; Default: resnet20
  std::string dataset = "cifar10";                  // -d, its zoo dataset; Default: cifar10
  std::optional<std::filesystem::path> model_file;  // --model FILE.pt, one's own; Default: the zoo's -n/-d
  // --data SPEC, one's own test set (a folder, a .pt or CIFAR .bin file, or a zoo dataset's name:
  // its official test set); Default: the zoo's
  std::optional<std::filesystem::path> data;
  Normalization normalization;                       // --mean/--std for --data; Default: the zoo's, else none
  std::vector<std::int64_t> size;                    // --size HxW for --data; Default: as stored
  ParamSelection params = ParamSelection::kWeights;  // --params; Default: conv/linear weights
  std::optional<std::filesystem::path> weights_dir;  // Default: DNNFI_WEIGHTS_DIR, else download
  std::optional<std::filesystem::path> data_dir;     // Default: DNNFI_DATA_DIR, else download
};

struct InferenceOptions {
  std::int64_t batch_size = kDefaultBatchSize;  // -b; Default: 128
  bool use_cuda = false;                        // Default: CPU
  int threads = 0;                              // intra- and inter-op threads; Default: 0 = all cores
  std::optional<std::int64_t> images;           // the first N test images; Default: all
  Numerics numerics;                            // --tf32, --emulate-tf32; Default: FP32
  Layout layout = kDefaultLayout;               // --layout of weights and activations; Default: nhwc
  // --format: the word every injectable weight is stored in (golden is the stored model);
  // compute stays FP32. Default: fp32.
  WordFormat format = WordFormat::kFp32;
};

// What a campaign is asked to be: every option that decides which faults run, over which images,
// how and into which file; nothing that only watches or stops it (CampaignControls).
struct CampaignOptions {
  std::optional<std::filesystem::path> faults;  // -f; Default: the statistical list for seed 38
  std::optional<std::string> layers;            // --layers REGEX: only faults of these; Default: all
  std::optional<FaultModel> fault_model;        // Default: the list's column, else bit-flip
  FaultTarget target = FaultTarget::kWeights;   // --target: weights or layer outputs; Default: weights
  std::filesystem::path output;                 // -o
  Shard shard;                                  // --shard K/N; Default: 0/1
  std::size_t sample = 0;                       // --sample N faults spread over the list; Default: 0 = all
  EngineKind engine = EngineKind::kStaged;      // Default: staged
  std::size_t stack = 0;                        // --stack, stacked engine; Default: 0, from the memory limit
  // Bytes of cached activations, in device memory with --use-cuda; Default: 4 GiB, 16 GiB on CUDA.
  std::optional<std::int64_t> memory_limit;
  NonFiniteRule non_finite = kDefaultNonFiniteRule;  // --non-finite; Default: argmax, the seed's
  std::optional<IterativeOptions> iterative;         // --margin: iterative SFI; Default: the whole list
  std::optional<std::filesystem::path> replay;       // --replay FILE: counts from it; Default: inference
  // --adopt: rows of an existing -o without provenance are taken as this campaign's (checked row
  // by row, recorded in the provenance). Default: refused, their origin is unknown.
  bool adopt = false;
  // --overwrite: an -o holding another campaign's results (dnnfi's: its header and provenance say
  // so) is replaced instead of refused; anything else is still refused. Default: refused.
  bool overwrite = false;
};

// The whole request of `dnnfi run`: the model and test set, the inference, the campaign.
struct CampaignRequest {
  ModelOptions model;
  InferenceOptions inference;
  CampaignOptions campaign;
};

}  // namespace dnnfi
