// The campaign loop and its results file, with a fake engine in place of inference.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "dnnfi/campaign.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "temp_dir.hpp"
#include "test_support.hpp"

using namespace dnnfi;

namespace {

constexpr std::int64_t kImages = 100;

// Deterministic counts derived from the fault, so a resumed row can be checked.
Counts fake_counts(const Fault& f) {
  Counts c;
  c.injections = kImages;
  c.critical = f.bits.lowest();
  c.masked = f.injection % 50;
  c.non_critical = kImages - c.critical - c.masked;
  return c;
}

class FakeRunner : public Engine {
 public:
  std::size_t stop_after = SIZE_MAX;  // simulates an interruption
  std::vector<std::int64_t> ran;
  std::string name() const override { return "fake"; }
  torch::Tensor golden_logits() override { return {}; }
  double executed_macs() const override { return 0; }
  std::int64_t cache_bytes() const override { return 0; }
  void run(const std::vector<Fault>& faults, const Engine::Done& done) override {
    for (std::size_t i = 0; i < faults.size(); ++i) {
      ran.push_back(faults[i].injection);
      if (!done(i, fake_counts(faults[i])) || ran.size() >= stop_after) return;
    }
  }
};

using test::TempDir;

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<Fault> some_faults() {
  auto all = generate_fault_list(test::resnet20_layers(), SampleSpec{});
  return spread_sample(all, 20);
}

}  // namespace

TEST_CASE("every fault gets one row with the seed's columns first", "[resume]") {
  TempDir dir;
  FakeRunner runner;
  LoopOptions options;
  options.output = dir.path / "r.csv";
  options.images = kImages;
  const auto faults = some_faults();
  auto summary = run_fault_loop(faults, runner, options);
  CHECK(summary.complete());
  CHECK(summary.ran == faults.size());
  const auto lines = lines_of(options.output);
  REQUIRE(lines.size() == faults.size() + 1);
  CHECK(lines[0].rfind("Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical", 0) == 0);
  std::ostringstream expected;
  const auto c = fake_counts(faults[1]);
  expected << faults[1].injection << ',' << faults[1].layer << ",\"" << format_index(faults[1].index) << "\","
           << format_bits(faults[1].bits) << ',' << kImages << ',' << c.masked << ',' << c.non_critical << ','
           << c.critical << ",0,bit-flip,argmax";
  CHECK(lines[2] == expected.str());
}

TEST_CASE("an interrupted campaign resumes after the last complete row and loses nothing", "[resume]") {
  TempDir dir;
  const auto faults = some_faults();
  LoopOptions options;
  options.output = dir.path / "r.csv";
  options.images = kImages;
  {
    FakeRunner first;
    first.stop_after = 7;
    auto s = run_fault_loop(faults, first, options);
    CHECK_FALSE(s.complete());
    CHECK(s.ran == 7);
  }
  // A kill in the middle of a write leaves a torn line: it must be dropped and redone.
  {
    std::ofstream torn(options.output, std::ios::app);
    torn << faults[7].injection << ",layer3.0.conv";
  }
  FakeRunner second;
  auto s = run_fault_loop(faults, second, options);
  CHECK(s.complete());
  CHECK(s.resumed == 7);
  CHECK(s.ran == faults.size() - 7);
  REQUIRE_FALSE(second.ran.empty());
  CHECK(second.ran.front() == faults[7].injection);
  const auto lines = lines_of(options.output);
  REQUIRE(lines.size() == faults.size() + 1);
  Counts expected_totals;
  for (const auto& f : faults) expected_totals += fake_counts(f);
  CHECK(s.totals == expected_totals);
  // Running again does nothing more.
  FakeRunner third;
  auto again = run_fault_loop(faults, third, options);
  CHECK(third.ran.empty());
  CHECK(again.resumed == faults.size());
}

TEST_CASE("results of another campaign are not resumed", "[resume]") {
  TempDir dir;
  auto faults = some_faults();
  LoopOptions options;
  options.output = dir.path / "r.csv";
  options.images = kImages;
  FakeRunner runner;
  runner.stop_after = 3;
  run_fault_loop(faults, runner, options);

  SECTION("different image count") {
    options.images = kImages + 1;
    FakeRunner r;
    CHECK_THROWS_WITH(run_fault_loop(faults, r, options),
                      Catch::Matchers::Contains("r.csv:2:") && Catch::Matchers::Contains("images"));
    CHECK(r.ran.empty());
  }
  SECTION("different fault list") {
    faults[0].bits = BitMask::bit((faults[0].bits.lowest() + 1) % 32);
    FakeRunner r;
    CHECK_THROWS_AS(run_fault_loop(faults, r, options), InputError);
    CHECK(r.ran.empty());
  }
  SECTION("different fault model") {
    for (auto& f : faults) f.model = FaultModel::kStuckAt1;
    FakeRunner r;
    CHECK_THROWS_AS(run_fault_loop(faults, r, options), InputError);
  }
  SECTION("another non-finite rule") {
    options.rule = NonFiniteRule::kCritical;
    FakeRunner r;
    CHECK_THROWS_WITH(run_fault_loop(faults, r, options),
                      Catch::Matchers::Contains("r.csv:2: row was classified with --non-finite argmax"));
    CHECK(r.ran.empty());
  }
  SECTION("a row twice") {
    const auto lines = lines_of(options.output);
    std::ofstream(options.output, std::ios::app) << lines[2] << "\n";
    const auto before = lines_of(options.output);
    FakeRunner r;
    CHECK_THROWS_WITH(run_fault_loop(faults, r, options), Catch::Matchers::Contains("is already on line 3"));
    CHECK(r.ran.empty());
    CHECK(lines_of(options.output) == before);
  }
  SECTION("not a results file") {
    std::ofstream(options.output) << "Injection,Layer,TensorIndex,Bit\n";
    FakeRunner r;
    CHECK_THROWS_WITH(run_fault_loop(faults, r, options),
                      Catch::Matchers::Contains("r.csv:1: not a dnnfi results"));
  }
  SECTION("a corrupted row") {
    std::ofstream(options.output, std::ios::app)
        << "5,conv1,\"(0, 0, 0, 0)\",3,100,x,0,0,0,bit-flip,argmax\n";
    FakeRunner r;
    CHECK_THROWS_WITH(run_fault_loop(faults, r, options),
                      Catch::Matchers::StartsWith(options.output.string() + ":5:"));
  }
}

TEST_CASE("shards partition the list", "[resume]") {
  const auto faults = some_faults();
  std::set<std::int64_t> seen;
  std::size_t total = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    for (const auto& f : shard(faults, Shard{k, 3})) seen.insert(f.injection);
    total += shard(faults, Shard{k, 3}).size();
  }
  CHECK(total == faults.size());
  CHECK(seen.size() == faults.size());
  CHECK(shard(faults, Shard{1, 3}).front().injection == faults[1].injection);
  CHECK_THROWS_AS(shard(faults, Shard{3, 3}), Error);
}

TEST_CASE("a campaign completed by a resume ends with its rows in the list's order", "[resume]") {
  TempDir dir;
  const auto faults = some_faults();
  LoopOptions options;
  options.output = dir.path / "r.csv";
  options.images = kImages;
  FakeRunner first;
  run_fault_loop(faults, first, options);
  const auto clean = lines_of(options.output);
  REQUIRE(clean.size() == faults.size() + 1);

  // Rows as a partial merge leaves them: some missing, the rest not a prefix of the list.
  {
    std::ofstream out(options.output, std::ios::trunc);
    out << clean[0] << "\n";
    for (std::size_t i = clean.size() - 1; i >= 5; --i) out << clean[i] << "\n";
  }
  FakeRunner second;
  const auto summary = run_fault_loop(faults, second, options);
  CHECK(second.ran.size() == 4);
  CHECK(summary.complete());
  CHECK(lines_of(options.output) == clean);
}
