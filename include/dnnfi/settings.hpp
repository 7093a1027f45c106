#pragma once
// The numbers every command shares: their defaults, and the one place each is validated,
// with messages that say what was given and what is allowed (usage Errors, exit status 2).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dnnfi {

// The seed's habit; 64-256 are fastest on 2 cores, and golden and faulty runs share it.
inline constexpr std::int64_t kDefaultBatchSize = 128;
// Cached golden activations of the staged engine: ResNet20 needs ~1.2 MB per image.
inline constexpr std::int64_t kDefaultMemoryLimit = std::int64_t{4} << 30;
// With --use-cuda the cached activations live in device memory: ResNet20's whole CIFAR-10 cache
// (about 11 GiB) fits in one chunk, and a 24 GB card still holds it.
inline constexpr std::int64_t kDefaultCudaMemoryLimit = std::int64_t{16} << 30;

// -b: at least 1.
void check_batch_size(std::int64_t batch_size);
// --threads: 0 (all cores) or more.
void check_threads(int threads);
// --images: at least 1 when given (absent: every test image).
void check_images(std::optional<std::int64_t> images);
// --memory-limit: a size such as 4G, 512M, 800K or a plain number of MiB; positive.
void check_memory_limit(std::int64_t bytes);
std::int64_t parse_memory_size(const std::string& text);
// --mean / --std: one float per channel, comma separated ("0.4914,0.4822,0.4465").
std::vector<float> parse_channel_values(const std::string& option, const std::string& text);
// --size HxW ("50x50"): both at least 1.
std::vector<std::int64_t> parse_image_size(const std::string& text);
// A whole number option (--seed, --sample, --workers, --tasks, ...): decimal digits only, at least
// `minimum` and at most `maximum`; anything else (-1, 1e23, 2^64) is a usage Error naming the option
// and the value, never a wrapped or rounded number.
std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t minimum = 0,
                          std::uint64_t maximum = UINT64_MAX);

// The shortest exact spelling parse_memory_size reads back: 4G, 512M, 800K, or bytes as K.
std::string format_memory_size(std::int64_t bytes);

}  // namespace dnnfi
