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

namespace dnnfi {

struct ModelOptions {
  std::string name = "resnet20";                     // -n; Default: resnet20
  std::string dataset = "cifar10";                   // -d; Default: cifar10
  std::optional<std::filesystem::path> weights_dir;  // Default: DNNFI_WEIGHTS_DIR, else download
  std::optional<std::filesystem::path> data_dir;     // Default: DNNFI_DATA_DIR, else download
};

struct InferenceOptions {
  std::int64_t batch_size = 128;  // -b; Default: 128
  bool use_cuda = false;          // Default: CPU
  int threads = 0;                // intra- and inter-op threads; Default: 0 = all cores
  std::int64_t images = 0;        // first N test images; Default: 0 = all
};

// Tunes the allocator for repeated inference (see keep_freed_memory), sets LibTorch's thread counts (0 = all cores) and returns the device to use; refuses
// --use-cuda clearly when this build's LibTorch has no CUDA.
torch::Device setup_inference(const InferenceOptions& options);
void keep_freed_memory();

struct EvalResult {
  std::int64_t correct = 0, total = 0;
  double seconds = 0;
};
EvalResult evaluate(const ModelOptions& model, const InferenceOptions& inference);

std::vector<Layer> model_layers(const ModelOptions& model);

// One row of `dnnfi models`.
struct ZooStatus {
  const ZooEntry* entry = nullptr;
  std::int64_t fault_list_size = 0;  // the default statistical list's size
  bool fault_list_exact = false;     // false: from the formula, layers not exported yet
  std::string checkpoint;            // "verified", "present", "missing", "not published"
};
std::vector<ZooStatus> zoo_status(const std::optional<std::filesystem::path>& weights_dir);

struct FaultListOptions {
  SampleSpec spec;
  std::optional<FaultModel> fault_model;  // written as a fault_model column; Default: none (bit-flip)
  std::filesystem::path output;
};
// Writes the statistical list atomically; returns its faults.
std::vector<Fault> write_statistical_list(const ModelOptions& model, const FaultListOptions& options);

struct CampaignOptions {
  std::optional<std::filesystem::path> faults;  // -f; Default: the statistical list for seed 38
  std::optional<FaultModel> fault_model;        // Default: the list's column, else bit-flip
  std::filesystem::path output;                 // -o
  std::size_t shard_index = 0, shard_count = 1;  // --shard K/N; Default: 0/1
  std::size_t sample = 0;                        // --sample N faults spread over the list; Default: 0 = all
  EngineKind engine = EngineKind::kStaged;       // Default: staged
  std::int64_t memory_limit = std::int64_t{4} << 30;  // Default: 4 GiB of cached activations
  bool progress = true;                          // progress bar when stderr is a terminal
  const std::atomic<bool>* stop = nullptr;       // set by a signal handler
};
CampaignSummary run_campaign(const ModelOptions& model, const InferenceOptions& inference,
                             const CampaignOptions& options);

}  // namespace dnnfi
