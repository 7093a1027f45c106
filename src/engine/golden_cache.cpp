#include "golden_cache.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "batches.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/settings.hpp"

namespace dnnfi {
namespace {

std::int64_t bytes_of(const BatchCache& c) {
  std::int64_t bytes = 0;
  auto add = [&](const torch::Tensor& t) {
    if (t.defined()) bytes += t.numel() * static_cast<std::int64_t>(t.element_size());
  };
  for (const auto& t : c.stage_in) add(t);
  for (const auto& v : c.conv_out)
    for (const auto& t : v) add(t);
  return bytes;
}

}  // namespace

GoldenCache::GoldenCache(Model& model, const Dataset& data, StagePlan& plan, std::int64_t batch,
                         std::int64_t memory_limit)
    : model_(model), data_(data), plan_(plan), batch_(batch) {
  torch::InferenceMode inference;
  BatchCache probe;
  golden_batch_pass(device_batch(data_, model_, 0, std::min<std::int64_t>(1, data_.size())), &probe,
                    &largest_activation_);
  const std::int64_t per_image = std::max<std::int64_t>(bytes_of(probe), 1);
  const std::int64_t batches = std::max<std::int64_t>(1, memory_limit / (per_image * batch_));
  // The cache holds whole batches: a limit below one batch cannot be kept, and is not in silence.
  if (memory_limit < per_image * std::min(batch_, data_.size()))
    spdlog::warn(
        "--memory-limit {} holds less than one batch of cached activations ({:.1f} MiB for {} images); "
        "caching one batch at a time",
        memory_limit % 1024 == 0 ? format_memory_size(memory_limit) : std::to_string(memory_limit) + " bytes",
        static_cast<double>(per_image * std::min(batch_, data_.size())) / (1 << 20),
        std::min(batch_, data_.size()));
  chunk_ = std::max<std::int64_t>(1, std::min(data_.size(), batches * batch_));
  golden_parts_.resize(chunk_count());
  spdlog::debug("staged engine: {} stages, {} bytes cached per image, chunks of {} images", plan_.size(),
                per_image, chunk_);
}

std::int64_t GoldenCache::chunk_length(std::size_t chunk) const {
  return std::min(chunk_, data_.size() - chunk_start(chunk));
}

torch::Tensor GoldenCache::golden_batch_pass(torch::Tensor x, BatchCache* cache, std::int64_t* largest) {
  if (!largest) return plan_.run(std::move(x), cache);
  return plan_.run(std::move(x), cache, [largest](const torch::Tensor& t) {
    *largest = std::max(*largest, t.numel() * static_cast<std::int64_t>(t.element_size()));
  });
}

// A second golden pass of a batch the plan's verification passed must reproduce every tensor a
// fault restarts from: restarts (and early exits, which take golden logits for granted from a
// golden tensor on) are exact only with kernels that give the same bits again.
void GoldenCache::check_reproduced(std::int64_t start, const BatchCache& again) {
  auto& verified = plan_.verified_passes();
  const auto it =
      std::find_if(verified.begin(), verified.end(), [&](const auto& v) { return v.first == start; });
  if (it == verified.end()) return;
  const auto& first = it->second;
  for (std::size_t s = 0; s < plan_.size(); ++s) {
    bool same = !first.stage_in[s].defined() || bit_equal(first.stage_in[s], again.stage_in[s]);
    for (std::size_t k = 0; same && k < first.conv_out[s].size(); ++k)
      same = !first.conv_out[s][k].defined() || bit_equal(first.conv_out[s][k], again.conv_out[s][k]);
    if (!same)
      throw Error(ExitCode::kFailure,
                  fmt::format("staged engine: a second golden pass of images {}-{} differs at stage {} (a "
                              "kernel that does not give the same bits twice); faults cannot restart there",
                              start, start + again.stage_in.front().size(0) - 1, plan_[s].prefix));
  }
  verified.erase(it);
}

void GoldenCache::check_restarts() {
  torch::InferenceMode inference;
  load(0);
  // What the first chunk did not hold (the last batch, with several chunks) gets a pass of its own.
  while (!plan_.verified_passes().empty()) {
    const auto start = plan_.verified_passes().front().first;
    const auto length = std::min(batch_, data_.size() - start);
    BatchCache again;
    golden_batch_pass(device_batch(data_, model_, start, length), &again);
    check_reproduced(start, again);
  }
}

const torch::Tensor& GoldenCache::load(std::size_t chunk) {
  if (chunk == loaded_) return golden_parts_[chunk];
  torch::InferenceMode inference;
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t first = chunk_start(chunk), length = chunk_length(chunk);
  batches_.clear();
  loaded_ = static_cast<std::size_t>(-1);
  std::int64_t bytes = 0;
  std::vector<torch::Tensor> logits;
  for_each_batch(length, batch_, [&](std::int64_t offset, std::int64_t size) {
    BatchCache c;
    logits.push_back(golden_batch_pass(device_batch(data_, model_, first + offset, size), &c));
    check_reproduced(first + offset, c);
    bytes += bytes_of(c);
    batches_.push_back(std::move(c));
  });
  const auto chunk_golden = torch::cat(logits);
  auto& recorded = golden_parts_.at(chunk);
  if (!recorded.defined() && golden_.defined()) recorded = golden_.narrow(0, first, length);
  if (recorded.defined() && !bit_equal(chunk_golden, recorded))
    throw Error(ExitCode::kFailure,
                "staged engine: cached golden pass differs from the golden logits; use --engine naive");
  if (!recorded.defined()) {
    recorded = chunk_golden;
    if (std::all_of(golden_parts_.begin(), golden_parts_.end(),
                    [](const torch::Tensor& t) { return t.defined(); }))
      golden_ = torch::cat(golden_parts_);
  }
  peak_bytes_ = std::max(peak_bytes_, bytes);
  loaded_ = chunk;
  spdlog::debug("staged engine: golden pass over images {}-{} cached in {:.2f} s", first, first + length - 1,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return recorded;
}

torch::Tensor GoldenCache::main_input(std::size_t s, std::size_t k, const BatchCache& c) {
  auto& body = *plan_[s].residual;
  std::size_t from = k;
  while (from > 0 && !body.main_conv[from - 1]) --from;
  auto y = from == 0 ? c.stage_in[s] : c.conv_out[s][from - 1];
  for (std::size_t j = from; j < k; ++j) y = body.main[j](y);
  return y;
}

torch::Tensor GoldenCache::golden_logits() {
  if (!golden_.defined()) {
    torch::InferenceMode inference;
    if (chunk_count() == 1) {
      load(0);
    } else {
      std::vector<torch::Tensor> parts;
      for_each_batch(data_.size(), batch_, [&](std::int64_t start, std::int64_t length) {
        parts.push_back(golden_batch_pass(device_batch(data_, model_, start, length), nullptr));
      });
      golden_ = torch::cat(parts);
      for (std::size_t k = 0; k < golden_parts_.size(); ++k)
        if (golden_parts_[k].defined() &&
            !bit_equal(golden_parts_[k], golden_.narrow(0, chunk_start(k), chunk_length(k))))
          throw Error(ExitCode::kFailure,
                      "staged engine: cached golden pass differs from the golden logits; use --engine naive");
    }
  }
  return golden_;
}

}  // namespace dnnfi
