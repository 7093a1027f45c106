// Defaults and validation of the numbers every command shares.
#include <catch2/catch.hpp>

#include "dnnfi/errors.hpp"
#include "dnnfi/settings.hpp"

using namespace dnnfi;
using Catch::Matchers::Equals;

namespace {
std::string usage_error(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code() == ExitCode::kUsage ? e.what() : "not a usage error";
  }
  return "no error";
}
}  // namespace

TEST_CASE("batch sizes below 1 are refused, naming the value", "[settings]") {
  CHECK_NOTHROW(check_batch_size(1));
  CHECK_THAT(usage_error([] { check_batch_size(0); }), Equals("-b/--batch-size must be at least 1, got 0"));
  CHECK_THAT(usage_error([] { check_batch_size(-5); }), Equals("-b/--batch-size must be at least 1, got -5"));
}

TEST_CASE("an image count of 0 is refused instead of meaning every image", "[settings]") {
  CHECK_NOTHROW(check_images(std::nullopt));
  CHECK_NOTHROW(check_images(1));
  CHECK_THAT(usage_error([] { check_images(0); }),
             Equals("--images must be at least 1, got 0 (leave it out to use every test image)"));
}

TEST_CASE("thread counts are 0 (all cores) or more", "[settings]") {
  CHECK_NOTHROW(check_threads(0));
  CHECK_THAT(usage_error([] { check_threads(-1); }),
             Equals("--threads must be 0 (all cores) or more, got -1"));
}

TEST_CASE("shards are K/N with 0 <= K < N", "[settings]") {
  const auto s = parse_shard("2/5");
  CHECK(s.index == 2);
  CHECK(s.count == 5);
  for (const std::string bad : {"3/3", "1/0", "a/b", "2", "/3", "-1/3", "1/3/4"})
    CHECK_THAT(usage_error([&] { parse_shard(bad); }),
               Equals("--shard '" + bad + "': expected K/N with 0 <= K < N, e.g. 0/4"));
  CHECK_THAT(usage_error([] {
               check_shard(Shard{4, 4});
             }),
             Equals("shard 4/4: expected K/N with 0 <= K < N, e.g. 0/4"));
}

TEST_CASE("memory sizes take K, M or G, plain numbers meaning MiB", "[settings]") {
  CHECK(parse_memory_size("4G") == std::int64_t{4} << 30);
  CHECK(parse_memory_size("512M") == std::int64_t{512} << 20);
  CHECK(parse_memory_size("800k") == 800 << 10);
  CHECK(parse_memory_size("100") == std::int64_t{100} << 20);
  CHECK(parse_memory_size("0.5G") == std::int64_t{512} << 20);
  CHECK(kDefaultMemoryLimit == parse_memory_size("4G"));
  CHECK(format_memory_size(kDefaultMemoryLimit) == "4G");
  for (const std::int64_t bytes : {std::int64_t{512} << 20, std::int64_t{800} << 10, std::int64_t{3} << 30})
    CHECK(parse_memory_size(format_memory_size(bytes)) == bytes);
  for (const std::string bad : {"4T", "G", "four", "4 G", "-1G"})
    CHECK_THAT(usage_error([&] { parse_memory_size(bad); }),
               Equals("--memory-limit '" + bad + "': expected a size such as 4G, 512M or 800K"));
  CHECK_THAT(usage_error([] { parse_memory_size("0"); }),
             Equals("--memory-limit '0' must be a positive size"));
  CHECK_THAT(usage_error([] { check_memory_limit(0); }),
             Equals("--memory-limit must be positive, got 0 bytes"));
}
