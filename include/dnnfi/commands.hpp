#pragma once
// One library call per CLI command; the CLI only parses options and prints.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/campaign.hpp"
#include "dnnfi/engine.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/findings.hpp"
#include "dnnfi/numerics.hpp"
#include "dnnfi/settings.hpp"

namespace dnnfi {

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

// Validates `options`, sets LibTorch's thread counts (0 = all cores) and returns the device to
// use; refuses --use-cuda clearly when this build's LibTorch has no CUDA, and --tf32 on without
// it. On CUDA it sets the numerics: IEEE FP32 convolutions and matmuls, TF32 convolutions only
// with --tf32 on (read back, an Error when LibTorch reports otherwise), deterministic cuDNN
// algorithms and no benchmark mode (a rerun gives the same counts).
torch::Device setup_inference(const InferenceOptions& options);

struct EvalResult {
  std::int64_t correct = 0, total = 0;
  double seconds = 0;
};
EvalResult evaluate(const ModelOptions& model, const InferenceOptions& inference);

// `models`, `layers` and `eval` as one JSON object each ("kind": "dnnfi models" / "dnnfi layers"
// / "dnnfi eval"), for programs: the zoo with its datasets, the layers with shapes and weight
// counts, the accuracy with its counts.
std::string models_json(const std::optional<std::filesystem::path>& weights_dir);
std::string layers_json(const std::vector<Layer>& layers);
std::string eval_json(const EvalResult& result, const std::string& model);

// The injectable layers (and, with --params all, parameters) of the model, in parameter order.
std::vector<Layer> model_layers(const ModelOptions& model);

struct FaultListOptions {
  SampleSpec spec;                             // with spec.format: --format; Default: the seed's, fp32
  FaultTarget target = FaultTarget::kWeights;  // --target; Default: weights
  std::optional<FaultModel> fault_model;       // written as a fault_model column; Default: none (bit-flip)
  std::optional<std::string> layers;           // --layers REGEX: only these layers; Default: all
  std::optional<std::filesystem::path> from_keras;  // --from-keras FILE: map it instead of sampling
  std::filesystem::path output;
};
// Writes the statistical list (or the mapped Keras list) atomically, with its record beside it
// (FILE.csv.json); returns its faults.
std::vector<Fault> write_statistical_list(const ModelOptions& model, const FaultListOptions& options);

// What the record faultlist writes beside a list says of the population it was drawn from.
struct ListRecord {
  std::string format = "fp32";     // the word format
  std::string target = "weights";  // weights | activations
  std::string bits;                // --bits as ranges ("23-30"); empty: every bit
  int burst = 1;
};
// The record beside `list` (FILE.csv.json), nullopt for a list without one (the seed's, a list
// of one's own).
std::optional<ListRecord> read_list_record(const std::filesystem::path& list);

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

// Plans the campaign (every check before anything is loaded or written), then runs it: the
// golden pass once, each fault not yet in -o, each row appended as it finishes.
CampaignSummary run_campaign(const CampaignRequest& request, const CampaignControls& controls = {});

// How many faults `run` with this request would run (the model's layer table decides the
// statistical list): what --workers and `slurm --tasks` are capped at.
std::size_t count_campaign_faults(const CampaignRequest& request);

// `dnnfi merge`: the parts of one campaign (its shards) into one results file.
struct MergeOptions {
  std::vector<std::filesystem::path> inputs;  // results files, each with its provenance
  std::filesystem::path output;               // -o; replaced only when it holds this campaign
  bool allow_partial = false;                 // write what is there when faults are missing
  // The caller holds the output's lock already (run --workers, which merges its own parts);
  // Default: merge takes it.
  bool output_locked = false;
};
struct MergeSummary {
  std::size_t faults = 0;                   // in the campaign
  std::size_t rows = 0;                     // written
  std::vector<std::int64_t> missing;        // Injection numbers no input holds
  std::vector<std::size_t> missing_shards;  // shards of which no file was given
  Counts totals;                            // over the rows written
};
// Checks that the inputs are parts of one campaign (provenance), that no fault appears twice
// with different counts and, unless `allow_partial`, that every fault is there (InputError
// listing the missing ones otherwise); writes the rows in the campaign's order, atomically. The
// merge of every shard equals the single-process run's file byte for byte.
MergeSummary merge_results(const MergeOptions& options);

struct ReportRequest {
  std::filesystem::path results;                   // the results file (dnnfi's or a published list)
  std::optional<ModelOptions> model;               // -n/-d: network order, fault population; Default: none
  std::optional<std::filesystem::path> json;       // --json FILE; Default: none
  std::optional<std::filesystem::path> html;       // --html FILE; Default: none
  std::optional<std::filesystem::path> reference;  // --reference FILE.csv to compare with; Default: none
  std::int64_t max_critical_diff = 2;              // for the comparison; Default: 2
  // What the faults hit and the bits the list was drawn from (the per-bit fields, the population);
  // Default: as the results' provenance says, else fp32 weights, every bit, no burst.
  std::optional<WordFormat> format;
  std::optional<FaultTarget> target;
  std::optional<BitMask> bits;
  std::optional<int> burst;
};
struct ReportOutcome {
  Report report;
  std::optional<Comparison> comparison;  // with --reference
};
// Reads the results, makes the report and writes the files asked for.
ReportOutcome report_results(const ReportRequest& request);

// Two results files, fault by fault.
Comparison compare_files(const std::filesystem::path& a, const std::filesystem::path& b,
                         std::int64_t max_critical_diff);

}  // namespace dnnfi
