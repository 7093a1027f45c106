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
  StratifiedEstimate estimate;    // the rate that stops it (the per-fault rate of layer rounds)
  double worst_layer_margin = 0;  // the largest half-width of a layer's own interval
  std::vector<Stratum> strata;    // per layer: weight, faults drawn, critical (layer rounds)
  std::size_t rounds = 0;
  std::size_t list_faults = 0;  // faults the list offered (the population's size without one)
  bool met = false;             // false: the list ran out first (or the campaign was stopped)
  // Stratified designs: what the design is ("stage-delta, neyman, pilot 3"), the estimand that
  // stops it, both rates with their intervals, each stratum's sample, and what a simple random
  // sample would have needed for the same interval.
  std::string design;
  Estimand estimand = Estimand::kFaults;
  std::optional<StratifiedMean> faults, inferences;
  std::vector<StratumSample> fault_samples, inference_samples;  // per stratum, both rates
  double simple_random_needs = 0;
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

// How an iterative campaign groups faults into strata: by what is known of a fault before it
// runs (none: one stratum, simple random sampling). Data-aware: by the size of the change it makes to its
// weight (the binary exponent of |faulty - stored|), alone, or within the fault's network stage (the first
// part of its layer's name) or layer.
enum class Strata { kNone, kLayer, kBit, kLayerBit, kDelta, kStageDelta, kLayerDelta };
inline constexpr Named<Strata> kStrataNames[] = {{Strata::kNone, "none"},
                                                 {Strata::kLayer, "layer"},
                                                 {Strata::kBit, "bit"},
                                                 {Strata::kLayerBit, "layer-bit"},
                                                 {Strata::kDelta, "delta"},
                                                 {Strata::kStageDelta, "stage-delta"},
                                                 {Strata::kLayerDelta, "layer-delta"}};
// How the faults still needed are spread over the strata: Neyman's (in proportion to N_h S_h,
// each stratum's population and spread), or in proportion to the strata's populations.
enum class Allocation { kNeyman, kProportional };
inline constexpr Named<Allocation> kAllocationNames[] = {{Allocation::kNeyman, "neyman"},
                                                         {Allocation::kProportional, "proportional"}};

// Iterative statistical fault injection (--margin): instead of the whole list (sized for the
// worst case p = 0.5), faults are drawn in rounds, stratified, until the interval of the rate
// asked for (`estimand`) has a half-width of at most `margin`.
//  - Stratified adaptive (the default): a pilot of `pilot` faults per stratum, then rounds that
//    give each stratum what Neyman allocation says it still needs for the margin (smoothed
//    variances, so a stratum that showed no critical fault is not starved), each round at most
//    a fifth of the faults drawn so far (at least 50); the estimate is stratified, its interval
//    Wilson's at the effective sample size with the finite-population correction of the
//    population drawn from: the list (-f), else the model's whole fault population.
//  - Layers as strata with proportional allocation (--strata layer --allocation proportional):
//    dnnfi's first design, kept as it was: rounds of 1% of the list (at least 50), the model's
//    fault population per layer as the strata's, `per_layer` to require every layer's own margin.
// Either way an interrupted campaign resumes exactly: the rounds are replayed from the first,
// faults already in the file taken from it, so it draws what an uninterrupted run would have.
struct IterativeOptions {
  double margin = 0.01;                         // --margin E, absolute (0.01: one percentage point)
  double confidence = 0.99;                     // --confidence; Default: 0.99
  Estimand estimand = Estimand::kFaults;        // --estimand: what stops it; Default: the per-fault rate
  std::optional<Strata> strata;                 // --strata; Default: stage-delta (weights), bit (activations)
  Allocation allocation = Allocation::kNeyman;  // --allocation; Default: neyman
  std::size_t pilot = 3;                        // --pilot: faults per stratum first; Default: 3
  bool per_layer = false;   // --per-layer (layers, proportional); Default: the model's rate
  std::uint64_t seed = 38;  // --seed, the drawing order; Default: 38
  std::size_t round = 0;    // --round: faults per round; Default: 0, as above
  // The population each layer's faults are drawn from (population()): the word format and the
  // bits of the list. Default: fp32, every bit, no burst.
  WordFormat format = WordFormat::kFp32;
  BitMask bits = BitMask(0xFFFFFFFFu);
  int burst = 1;
  // The strata in force: `strata` as given, else stage-delta for weight faults and bit for
  // activation faults (their values are known only when they run).
  Strata strata_for(FaultTarget target) const {
    return strata.value_or(target == FaultTarget::kWeights ? Strata::kStageDelta : Strata::kBit);
  }
  // dnnfi's first design: layers as strata, proportional allocation, rounds of 1% of the list.
  bool layer_rounds() const { return allocation == Allocation::kProportional && strata == Strata::kLayer; }
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
  // --per-image: which images each fault made critical, and into which class, in RESULTS.images.csv
  // beside the results (per_image.hpp). Default: off, counts only.
  bool per_image = false;
};

// The whole request of `dnnfi run`: the model and test set, the inference, the campaign.
struct CampaignRequest {
  ModelOptions model;
  InferenceOptions inference;
  CampaignOptions campaign;
};

}  // namespace dnnfi
