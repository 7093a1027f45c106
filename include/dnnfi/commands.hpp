#pragma once
// One library call per CLI command; the CLI only parses options and prints.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/campaign.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/findings.hpp"

namespace dnnfi {

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
// `left_out`: float parameters that are not layers (left_out_parameters), listed as such.
std::string layers_json(const std::vector<Layer>& layers, const std::vector<Layer>& left_out = {});
std::string eval_json(const EvalResult& result, const std::string& model);

// The injectable layers (and, with --params all, parameters) of the model, in parameter order.
std::vector<Layer> model_layers(const ModelOptions& model);
// The float parameters of a model of one's own (found in its module, no model info) that are not
// among its layers (biases, norms, embeddings, ...), by full name: what weight faults leave out
// unless --params all. Empty for a zoo model (its layers are the manifest's) and with --params all.
std::vector<Layer> left_out_parameters(const ModelOptions& model);

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
  // -o holding another campaign's results (with their provenance) is replaced (run --workers
  // --overwrite); Default: refused.
  bool overwrite = false;
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

// Two results files, fault by fault; with `json`, the comparison is also written there (checked as
// an output first: never one of the two files, nor a file dnnfi did not write as a JSON report).
Comparison compare_files(const std::filesystem::path& a, const std::filesystem::path& b,
                         std::int64_t max_critical_diff,
                         const std::optional<std::filesystem::path>& json = std::nullopt);

}  // namespace dnnfi
