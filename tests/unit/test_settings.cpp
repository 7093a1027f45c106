// Defaults and validation of the numbers every command shares.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/settings.hpp"
#include "text.hpp"

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

TEST_CASE("a LibTorch error is told by its message line, not its call stack", "[settings]") {
  try {
    torch::conv2d(torch::zeros({1, 1, 8, 8}), torch::zeros({4, 3, 3, 3}));
    FAIL("a conv of 1 channel with a 3-channel weight ran");
  } catch (const c10::Error& e) {
    const auto line = text::error_line(e.what());  // what() carries the C++ frames in this build
    CHECK(line.rfind("frame #", 0) == std::string::npos);
    CHECK_THAT(line, Catch::Matchers::Contains("channels"));
  }
  CHECK(
      text::error_line("Traceback of TorchScript:\n  File \"x\", line 3\n    y = f(x)\n        ~ <--- HERE\n"
                       "RuntimeError: shapes do not match\n") == "RuntimeError: shapes do not match");
}

TEST_CASE("a whole-number option is decimal digits in range, never a wrapped or rounded number",
          "[settings]") {
  CHECK(parse_count("--seed", "42") == 42);
  CHECK(parse_count("--seed", "18446744073709551615") == UINT64_MAX);
  CHECK_THAT(usage_error([] { parse_count("--seed", "-1"); }),
             Equals("--seed must be a whole number at least 0, got '-1'"));
  CHECK_THAT(usage_error([] { parse_count("--seed", "1e23"); }),
             Equals("--seed must be a whole number at least 0, got '1e23'"));
  CHECK_THAT(usage_error([] { parse_count("--seed", "18446744073709551616"); }),
             Equals("--seed must be a whole number at least 0, got '18446744073709551616'"));
  CHECK_THAT(usage_error([] { parse_count("--workers", "0", 1); }),
             Equals("--workers must be at least 1, got 0"));
  CHECK_THAT(usage_error([] { parse_count("--burst", "33", 1, 32); }),
             Equals("--burst must be from 1 to 32, got 33"));
  CHECK_THAT(usage_error([] { parse_count("--tasks", ""); }),
             Equals("--tasks must be a whole number at least 0, got ''"));
}
