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
#include "dnnfi/settings.hpp"

namespace dnnfi {

// Which model and test set a command works on.
struct ModelOptions {
  std::string name = "resnet20";                     // -n, a zoo model; Default: resnet20
  std::string dataset = "cifar10";                   // -d, its zoo dataset; Default: cifar10
  std::optional<std::filesystem::path> weights_dir;  // Default: DNNFI_WEIGHTS_DIR, else download
  std::optional<std::filesystem::path> data_dir;     // Default: DNNFI_DATA_DIR, else download
};

struct InferenceOptions {
  std::int64_t batch_size = kDefaultBatchSize;  // -b; Default: 128
  bool use_cuda = false;                        // Default: CPU
  int threads = 0;                              // intra- and inter-op threads; Default: 0 = all cores
  std::optional<std::int64_t> images;           // the first N test images; Default: all
};

// Validates `options`, sets LibTorch's thread counts (0 = all cores) and returns the device to
// use; refuses --use-cuda clearly when this build's LibTorch has no CUDA.
torch::Device setup_inference(const InferenceOptions& options);

struct EvalResult {
  std::int64_t correct = 0, total = 0;
  double seconds = 0;
};
EvalResult evaluate(const ModelOptions& model, const InferenceOptions& inference);

std::vector<Layer> model_layers(const ModelOptions& model);

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
  Shard shard;                                  // --shard K/N; Default: 0/1
  std::size_t sample = 0;                       // --sample N faults spread over the list; Default: 0 = all
  EngineKind engine = EngineKind::kStaged;      // Default: staged
  std::int64_t memory_limit = kDefaultMemoryLimit;  // Default: 4 GiB of cached activations
  CampaignObserver* observer = nullptr;             // told the progress; Default: none
  const std::atomic<bool>* stop = nullptr;          // set by a signal handler; Default: none
};
CampaignSummary run_campaign(const ModelOptions& model, const InferenceOptions& inference,
                             const CampaignOptions& options);

}  // namespace dnnfi
