// Planning a campaign (src/campaign/plan): every check and the provenance, with no model.
#include <catch2/catch.hpp>

#include "campaign/plan.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "test_support.hpp"

using namespace dnnfi;

namespace {

CampaignRequest request_for(const std::filesystem::path& output = "r.csv") {
  CampaignRequest r;
  r.campaign.output = output;
  return r;
}

CampaignInputs inputs_with(std::optional<std::vector<Fault>> list = std::nullopt) {
  CampaignInputs in;
  in.model_label = "resnet20/cifar10";
  in.targets = test::resnet20_layers();
  in.list = std::move(list);
  in.images = 1000;
  in.numerics = "fp32";
  return in;
}

std::vector<Fault> list_of(std::size_t n) {
  return spread_sample(generate_fault_list(test::resnet20_layers(), {}), n);
}

ResultRow row_of(const Fault& f, std::int64_t images, NonFiniteRule rule = NonFiniteRule::kArgmax) {
  return ResultRow{f, Counts{images, images, 0, 0, 0, {}}, rule};
}

}  // namespace

TEST_CASE("without -f the plan is the statistical list, whole, in order", "[plan]") {
  const auto plan = plan_campaign(request_for(), inputs_with());
  CHECK(plan.faults.list.size() == 16627);
  CHECK(plan.faults.sequence.size() == 16627);
  CHECK(plan.faults.faults.size() == 16627);
  CHECK(plan.provenance.fault_list == "statistical, seed 38");
  CHECK(plan.provenance.injections == "0-16626");
  CHECK(plan.provenance.fault_list_sha256 == fault_list_sha256(plan.faults.list));
  CHECK_FALSE(plan.iterative);
}

TEST_CASE(
    "a sample spreads over the list, a shard takes every N-th of the sample, --layers keeps matching faults",
    "[plan]") {
  auto request = request_for();
  request.campaign.sample = 10;
  request.campaign.shard = Shard{1, 3};
  const auto list = list_of(100);
  const auto plan = plan_campaign(request, inputs_with(list));
  REQUIRE(plan.faults.sequence.size() == 10);
  CHECK(plan.faults.sequence[1].injection == list[10].injection);
  REQUIRE(plan.faults.faults.size() == 3);
  CHECK(plan.faults.faults[0].injection == plan.faults.sequence[1].injection);
  CHECK(plan.faults.faults[2].injection == plan.faults.sequence[7].injection);
  CHECK(plan.provenance.shard.index == 1);

  auto layer3 = request_for();
  layer3.campaign.layers = "layer3";
  for (const auto& f : plan_campaign(layer3, inputs_with(list)).faults.faults)
    CHECK(f.layer.rfind("layer3.", 0) == 0);
}

TEST_CASE("requests that cannot be a campaign are refused with the value named", "[plan]") {
  auto request = request_for();
  SECTION("a list without faults") {
    request.campaign.faults = "empty.csv";
    CHECK_THROWS_WITH(plan_campaign(request, inputs_with(std::vector<Fault>{})),
                      Catch::Matchers::Contains("empty.csv: no faults"));
  }
  SECTION("--layers that keep nothing") {
    request.campaign.layers = "^nothing$";
    CHECK_THROWS_WITH(plan_campaign(request, inputs_with(list_of(20))),
                      Catch::Matchers::Contains("--layers '^nothing$' keeps no fault"));
  }
  SECTION("a shard with no faults") {
    request.campaign.shard = Shard{3, 4};
    CHECK_THROWS_WITH(plan_campaign(request, inputs_with(list_of(3))),
                      Catch::Matchers::Contains("--shard 3/4: the campaign's 3 faults leave this part none"));
  }
  SECTION("--margin out of range, --confidence out of range, --margin with --sample") {
    request.campaign.iterative = IterativeOptions{};
    request.campaign.iterative->margin = 0.6;
    CHECK_THROWS_WITH(check_request(request),
                      Catch::Matchers::Contains("--margin must be between 0 and 0.5"));
    request.campaign.iterative->margin = 0.01;
    request.campaign.iterative->confidence = 1;
    CHECK_THROWS_WITH(check_request(request),
                      Catch::Matchers::Contains("--confidence must be between 0 and 1"));
    request.campaign.iterative->confidence = 0.99;
    request.campaign.sample = 5;
    CHECK_THROWS_WITH(check_request(request),
                      Catch::Matchers::Contains("--margin draws from the whole list"));
  }
  SECTION("a list drawn for another format or target") {
    request.campaign.faults = "fl16.csv";
    auto inputs = inputs_with(list_of(10));
    inputs.record = ListRecord{"fp16", "weights", "0-15", 1};
    CHECK_THROWS_WITH(plan_campaign(request, inputs),
                      Catch::Matchers::Contains("fl16.csv was drawn for weights stored as fp16") &&
                          Catch::Matchers::Contains("--format fp16 --target weights"));
  }
  SECTION("a memory limit of nothing") {
    request.campaign.memory_limit = 0;
    CHECK_THROWS_AS(check_request(request), Error);
  }
}

TEST_CASE("the plan records what the campaign is: batch as it runs, numerics, the list's population",
          "[plan]") {
  auto request = request_for();
  request.inference.batch_size = 5000;
  request.inference.format = WordFormat::kFp16;
  request.campaign.iterative = IterativeOptions{};
  request.campaign.faults = "fl.csv";
  auto inputs = inputs_with(list_of(50));
  for (auto& f : *inputs.list) f.bits = BitMask::bit(f.bits.lowest() % 16);
  inputs.record = ListRecord{"fp16", "weights", "10-14", 1};
  inputs.dataset_sha256 = "abc";
  const auto plan = plan_campaign(request, inputs);
  CHECK(plan.provenance.batch_size == 1000);  // the test set's 1,000 images are one batch
  CHECK(plan.engine_options.batch_size == 1000);
  CHECK(plan.provenance.format == "fp16");
  CHECK(plan.provenance.bits == "10-14");
  CHECK(plan.provenance.dataset_sha256 == "abc");
  REQUIRE(plan.iterative);
  CHECK(plan.iterative->format == WordFormat::kFp16);
  CHECK(plan.iterative->bits == parse_bits_option("10-14"));
  CHECK(plan.engine_options.memory_limit == kDefaultMemoryLimit);
}

TEST_CASE("a replay keeps the counts of rows of this campaign's kind only", "[plan]") {
  auto request = request_for();
  const auto list = list_of(5);
  request.campaign.faults = "fl.csv";
  request.campaign.replay = "published.csv";
  auto inputs = inputs_with(list);
  for (const auto& f : list) inputs.replay_rows.push_back(row_of(f, 10000));
  SECTION("their image count is the campaign's") {
    const auto plan = plan_campaign(request, inputs);
    CHECK(plan.replay);
    CHECK(plan.images == 10000);
    CHECK(plan.provenance.engine == "replay");
  }
  SECTION("another rule is a usage error") {
    request.campaign.non_finite = NonFiniteRule::kCritical;
    CHECK_THROWS_WITH(
        plan_campaign(request, inputs),
        Catch::Matchers::Contains("--non-finite critical: the rows of published.csv were classified "
                                  "with argmax"));
  }
  SECTION("another format is a usage error, a file without provenance being fp32 weights") {
    request.inference.format = WordFormat::kFp16;
    for (auto& f : *inputs.list) f.bits = BitMask::bit(3);
    CHECK_THROWS_WITH(
        plan_campaign(request, inputs),
        Catch::Matchers::Contains("the rows of published.csv are faults of fp32 weights (a file "
                                  "without provenance)"));
  }
  SECTION("rows over several image counts are refused") {
    inputs.replay_rows.back().counts = Counts{500, 500, 0, 0, 0, {}};
    CHECK_THROWS_AS(plan_campaign(request, inputs), InputError);
  }
}
