#pragma once
// The golden activation cache: the stage inputs (and, inside residual blocks, each recomputable
// conv's output) of every batch of one chunk of the test set, chunks sized to a memory limit,
// and the golden logits each chunk's cached pass produced.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "dnnfi/dataset.hpp"
#include "dnnfi/model.hpp"
#include "stage_plan.hpp"

namespace dnnfi {

class GoldenCache {
 public:
  // Sizes chunks as whole batches whose cached activations fit `memory_limit` bytes.
  GoldenCache(Model& model, const Dataset& data, StagePlan& plan, std::int64_t batch,
              std::int64_t memory_limit);

  std::size_t chunk_count() const { return static_cast<std::size_t>((data_.size() + chunk_ - 1) / chunk_); }
  std::int64_t chunk_images() const { return chunk_; }
  std::int64_t chunk_start(std::size_t chunk) const { return static_cast<std::int64_t>(chunk) * chunk_; }
  std::int64_t chunk_length(std::size_t chunk) const;

  // Caches one chunk's golden activations, unless it is the chunk held, and returns its golden
  // logits. The first pass over a chunk records them; every later pass must reproduce them bit
  // for bit, or no result could be trusted (an Error).
  const torch::Tensor& load(std::size_t chunk);
  std::size_t loaded() const { return loaded_; }
  // The held chunk: its golden logits and its batches' activations.
  const torch::Tensor& logits() const { return golden_parts_.at(loaded_); }
  const std::vector<BatchCache>& batches() const { return batches_; }

  // Golden input of main child k of residual stage s, from the nearest cached tensor before it.
  torch::Tensor main_input(std::size_t s, std::size_t k, const BatchCache& c);

  // Loads the first chunk and checks that a second golden pass reproduces, bit for bit, every
  // tensor the plan's verification made (the first and the last batch): an Error naming the
  // stage where it does not. Loading a chunk checks the batches it holds in any case.
  void check_restarts();

  // Golden logits of every image. Campaigns take them from the chunks' cached passes; asked
  // for them before any campaign, a test set of several chunks gets a plain pass instead, which
  // every chunk's cached pass must then reproduce.
  torch::Tensor golden_logits();
  // The most bytes of activations held at once.
  std::int64_t peak_bytes() const { return peak_bytes_; }
  // Bytes of the largest stage input or output of one image.
  std::int64_t largest_activation() const { return largest_activation_; }

 private:
  torch::Tensor golden_batch_pass(torch::Tensor x, BatchCache* cache, std::int64_t* largest = nullptr);
  void check_reproduced(std::int64_t start, const BatchCache& again);

  Model& model_;
  const Dataset& data_;
  StagePlan& plan_;
  std::int64_t batch_;
  std::int64_t chunk_ = 1;
  std::size_t loaded_ = static_cast<std::size_t>(-1);
  std::vector<BatchCache> batches_;          // [batch] of the held chunk
  std::vector<torch::Tensor> golden_parts_;  // [chunk]
  torch::Tensor golden_;                     // all images, once every chunk has been passed
  std::int64_t peak_bytes_ = 0;
  std::int64_t largest_activation_ = 0;
};

}  // namespace dnnfi
