// The execution of a campaign and its results file (src/campaign/{store,execute}), with a fake
// engine in place of inference.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "campaign/execute.hpp"
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
      if (ran.size() >= stop_after) return;
      ran.push_back(faults[i].injection);
      if (!done(i, fake_counts(faults[i]))) return;
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

// A campaign of every fault of `faults` into `output`, as run_campaign runs one.
struct Campaign {
  std::vector<Fault> faults = some_faults();
  std::filesystem::path output;
  std::int64_t images = kImages;
  NonFiniteRule rule = NonFiniteRule::kArgmax;
  bool adopt = false;

  Provenance provenance() const {
    Provenance p;
    p.model = "fake";
    p.images = images;
    p.non_finite_rule = std::string(to_string(rule));
    p.fault_list_sha256 = fault_list_sha256(faults);
    p.injections = format_injection_ranges(faults);
    return p;
  }
  CampaignSummary run(Engine& engine) const {
    ResultsStore store(output, {});
    CampaignPlan plan;
    plan.faults.list = plan.faults.sequence = plan.faults.faults = faults;
    plan.images = images;
    plan.rule = rule;
    const auto checked =
        store.check(provenance(), StoreCheck{faults, std::nullopt, images, rule, adopt, false});
    auto sampler = whole_list(faults);
    return execute(plan, checked, engine, store, *sampler, {});
  }
};

}  // namespace

TEST_CASE("every fault gets one row with the seed's columns first", "[resume]") {
  TempDir dir;
  FakeRunner runner;
  Campaign campaign;
  campaign.output = dir.path / "r.csv";
  const auto& faults = campaign.faults;
  auto summary = campaign.run(runner);
  CHECK(summary.complete());
  CHECK(summary.ran == faults.size());
  const auto lines = lines_of(campaign.output);
  REQUIRE(lines.size() == faults.size() + 1);
  CHECK(lines[0].rfind("Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical", 0) == 0);
  std::ostringstream expected;
  const auto c = fake_counts(faults[1]);
  expected << faults[1].injection << ',' << faults[1].layer << ",\"" << format_index(faults[1].index) << "\","
           << format_bits(faults[1].bits) << ',' << kImages << ',' << c.masked << ',' << c.non_critical << ','
           << c.critical << ",0,bit-flip,argmax";
  CHECK(lines[2] == expected.str());
  CHECK(std::filesystem::exists(provenance_path(campaign.output)));
}

TEST_CASE("an interrupted campaign resumes after the last complete row and loses nothing", "[resume]") {
  TempDir dir;
  Campaign campaign;
  campaign.output = dir.path / "r.csv";
  const auto& faults = campaign.faults;
  {
    FakeRunner first;
    first.stop_after = 7;
    auto s = campaign.run(first);
    CHECK_FALSE(s.complete());
    CHECK(s.ran == 7);
  }
  // A kill in the middle of a write leaves a torn line: it must be dropped and redone.
  {
    std::ofstream torn(campaign.output, std::ios::app);
    torn << faults[7].injection << ",layer3.0.conv";
  }
  FakeRunner second;
  auto s = campaign.run(second);
  CHECK(s.complete());
  CHECK(s.resumed == 7);
  CHECK(s.ran == faults.size() - 7);
  REQUIRE_FALSE(second.ran.empty());
  CHECK(second.ran.front() == faults[7].injection);
  const auto lines = lines_of(campaign.output);
  REQUIRE(lines.size() == faults.size() + 1);
  Counts expected_totals;
  for (const auto& f : faults) expected_totals += fake_counts(f);
  CHECK(s.totals == expected_totals);
  // Running again does nothing more.
  FakeRunner third;
  auto again = campaign.run(third);
  CHECK(third.ran.empty());
  CHECK(again.resumed == faults.size());
}

TEST_CASE("a note appended without a line end is refused, never dropped as a torn row", "[resume]") {
  TempDir dir;
  Campaign campaign;
  campaign.output = dir.path / "r.csv";
  FakeRunner first;
  first.stop_after = 3;
  campaign.run(first);
  std::ofstream(campaign.output, std::ios::app) << "checked by Ann, all fine";
  const auto before = test::read_text(campaign.output);
  FakeRunner second;
  CHECK_THROWS_WITH(campaign.run(second),
                    Catch::Matchers::Contains("r.csv:5: the last line ('checked by Ann"));
  CHECK(second.ran.empty());
  CHECK(test::read_text(campaign.output) == before);
}

TEST_CASE("results of another campaign are not resumed", "[resume]") {
  TempDir dir;
  Campaign campaign;
  campaign.output = dir.path / "r.csv";
  FakeRunner runner;
  runner.stop_after = 3;
  campaign.run(runner);
  const auto before = test::read_text(campaign.output);

  SECTION("another campaign's provenance is said before any row is read") {
    campaign.images = kImages + 1;
    FakeRunner r;
    CHECK_THROWS_WITH(campaign.run(r),
                      Catch::Matchers::Contains("holds another campaign's results (images: 101 "
                                                "here, 100 in the file"));
    CHECK(r.ran.empty());
  }
  SECTION("rows without provenance are of unknown origin") {
    std::filesystem::remove(provenance_path(campaign.output));
    FakeRunner r;
    CHECK_THROWS_WITH(campaign.run(r), Catch::Matchers::Contains("holds 3 rows of unknown origin"));
    CHECK(r.ran.empty());
    CHECK_FALSE(std::filesystem::exists(provenance_path(campaign.output)));
  }
  // Adopted rows are checked one by one.
  std::filesystem::remove(provenance_path(campaign.output));
  campaign.adopt = true;
  SECTION("different image count") {
    campaign.images = kImages + 1;
    FakeRunner r;
    CHECK_THROWS_WITH(campaign.run(r),
                      Catch::Matchers::Contains("r.csv:2:") && Catch::Matchers::Contains("images"));
    CHECK(r.ran.empty());
  }
  SECTION("different fault list") {
    campaign.faults[0].bits = BitMask::bit((campaign.faults[0].bits.lowest() + 1) % 32);
    FakeRunner r;
    CHECK_THROWS_AS(campaign.run(r), InputError);
    CHECK(r.ran.empty());
  }
  SECTION("different fault model") {
    for (auto& f : campaign.faults) f.model = FaultModel::kStuckAt1;
    FakeRunner r;
    CHECK_THROWS_AS(campaign.run(r), InputError);
  }
  SECTION("another non-finite rule") {
    campaign.rule = NonFiniteRule::kCritical;
    FakeRunner r;
    CHECK_THROWS_WITH(campaign.run(r),
                      Catch::Matchers::Contains("r.csv:2: row was classified with --non-finite argmax"));
    CHECK(r.ran.empty());
  }
  SECTION("a row twice") {
    const auto lines = lines_of(campaign.output);
    std::ofstream(campaign.output, std::ios::app) << lines[2] << "\n";
    const auto with_twice = test::read_text(campaign.output);
    FakeRunner r;
    CHECK_THROWS_WITH(campaign.run(r), Catch::Matchers::Contains("is already on line 3"));
    CHECK(r.ran.empty());
    CHECK(test::read_text(campaign.output) == with_twice);
  }
  SECTION("not a results file") {
    std::ofstream(campaign.output) << "Injection,Layer,TensorIndex,Bit\n";
    FakeRunner r;
    CHECK_THROWS_WITH(campaign.run(r),
                      Catch::Matchers::Contains("r.csv:1: exists and is not a dnnfi results file"));
  }
  SECTION("a corrupted row") {
    std::ofstream(campaign.output, std::ios::app)
        << "5,conv1,\"(0, 0, 0, 0)\",3,100,x,0,0,0,bit-flip,argmax\n";
    FakeRunner r;
    CHECK_THROWS_WITH(campaign.run(r), Catch::Matchers::StartsWith(campaign.output.string() + ":5:"));
  }
  SECTION("adopted rows that fit are kept, and the adoption recorded") {
    FakeRunner r;
    const auto s = campaign.run(r);
    CHECK(s.resumed == 3);
    CHECK(read_provenance(campaign.output)->adopted.rfind("3 rows of a file without provenance", 0) == 0);
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
  Campaign campaign;
  campaign.output = dir.path / "r.csv";
  FakeRunner first;
  campaign.run(first);
  const auto clean = lines_of(campaign.output);
  REQUIRE(clean.size() == campaign.faults.size() + 1);

  // Rows as a partial merge leaves them: some missing, the rest not a prefix of the list.
  {
    std::ofstream out(campaign.output, std::ios::trunc);
    out << clean[0] << "\n";
    for (std::size_t i = clean.size() - 1; i >= 5; --i) out << clean[i] << "\n";
  }
  FakeRunner second;
  const auto summary = campaign.run(second);
  CHECK(second.ran.size() == 4);
  CHECK(summary.complete());
  CHECK(lines_of(campaign.output) == clean);
}

TEST_CASE("a refused start leaves no results file behind", "[resume]") {
  TempDir dir;
  const auto output = dir.path / "new.csv";
  {
    ResultsStore store(output, {});
    CHECK(std::filesystem::exists(output));  // claimed: the lock holds it
  }
  CHECK_FALSE(std::filesystem::exists(output));
  // A second writer is refused at once while the first holds the file.
  ResultsStore first(output, {});
  CHECK_THROWS_WITH(ResultsStore(output, {}), Catch::Matchers::Contains("another dnnfi process is writing"));
}
