// The parts of a campaign (src/scale_out): the command line a part runs and the parts plan,
// with nothing spawned.
#include <catch2/catch.hpp>

#include "dnnfi/errors.hpp"
#include "dnnfi/scale_out.hpp"

using namespace dnnfi;

namespace {

bool holds(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

PartsFacts facts_with(std::size_t faults) {
  PartsFacts facts;
  facts.faults = faults;
  facts.cores = 8;
  facts.executable = "/opt/dnnfi/bin/dnnfi";
  return facts;
}

}  // namespace

TEST_CASE("a part runs the request it was split from, option by option", "[scale-out]") {
  CampaignRequest request;
  CHECK(run_arguments(request) == std::vector<std::string>{"--name=resnet20", "--dataset=cifar10"});

  request.model.name = "ResNet32";
  request.model.normalization.mean = {-0.5f, 0.25f, 1};
  request.model.params = ParamSelection::kAll;
  request.inference.batch_size = 64;
  request.inference.images = 500;
  request.inference.layout = Layout::kNchw;
  request.inference.format = WordFormat::kBf16;
  request.inference.numerics.emulate_tf32 = "^layer3\\.";
  request.campaign.faults = "my list.csv";
  request.campaign.layers = "layer2";
  request.campaign.fault_model = FaultModel::kStuckAt1;
  request.campaign.target = FaultTarget::kActivations;
  request.campaign.sample = 100;
  request.campaign.engine = EngineKind::kNaive;
  request.campaign.memory_limit = std::int64_t{512} << 20;
  request.campaign.non_finite = NonFiniteRule::kCritical;
  request.campaign.overwrite = true;
  request.campaign.output = "never written by a part.csv";
  request.campaign.shard = Shard{1, 2};
  const auto a = run_arguments(request);
  for (const auto* expected :
       {"--name=ResNet32", "--mean=-0.5,0.25,1", "--params=all", "--batch-size=64", "--images=500",
        "--layout=nchw", "--format=bf16", "--emulate-tf32=^layer3\\.", "--faults=my list.csv",
        "--layers=layer2", "--fault-model=stuck-at-1", "--target=activations", "--sample=100",
        "--engine=naive", "--memory-limit=512M", "--non-finite=critical", "--overwrite"})
    CHECK(holds(a, expected));
  // Each part is given its own output, shard and threads.
  for (const auto& word : a) {
    CHECK(word.rfind("-o", 0) != 0);
    CHECK(word.rfind("--shard", 0) != 0);
    CHECK(word.rfind("--threads", 0) != 0);
  }
}

TEST_CASE("parts: one per fault at most, as many as memory holds, each its own shard and file",
          "[scale-out]") {
  CampaignRequest request;
  request.campaign.output = "runs/r.csv";
  PartsRequest asked;
  asked.parts = 1000;
  const auto plan = plan_parts(request, asked, facts_with(3));
  REQUIRE(plan.parts.size() == 3);
  CHECK(plan.at_once == 3);
  CHECK(plan.folder == "runs/r.csv.parts");
  CHECK(plan.parts[1].file == "runs/r.csv.parts/shard-1-of-3.csv");
  CHECK(plan.parts[1].log == "runs/r.csv.parts/shard-1-of-3.log");
  const auto& command = plan.parts[1].command;
  CHECK(command.front() == "/opt/dnnfi/bin/dnnfi");
  CHECK(command[1] == "run");
  CHECK(holds(command, "1/3"));
  CHECK(holds(command, "runs/r.csv.parts/shard-1-of-3.csv"));
  CHECK(plan.threads == 1);  // 8 cores over the 1,000 workers asked for

  asked.parts = 4;
  auto facts = facts_with(100);
  facts.available_memory = std::int64_t{10} << 30;
  asked.memory_per_part = std::int64_t{4} << 30;
  const auto fitted = plan_parts(request, asked, facts);
  CHECK(fitted.parts.size() == 2);
  CHECK(fitted.threads == 2);
  asked.threads = 3;
  CHECK(plan_parts(request, asked, facts).threads == 3);
}

TEST_CASE("parts an earlier run left resume as they were, in turns when memory is short", "[scale-out]") {
  CampaignRequest request;
  request.campaign.output = "r.csv";
  PartsRequest asked;
  asked.parts = 2;
  auto facts = facts_with(100);
  facts.earlier_parts = 6;
  facts.earlier_part = "shard-0-of-6.csv";
  facts.available_memory = std::int64_t{10} << 30;
  asked.memory_per_part = std::int64_t{4} << 30;
  const auto plan = plan_parts(request, asked, facts);
  CHECK(plan.parts.size() == 6);
  CHECK(plan.at_once == 2);

  facts.earlier_parts = 100000;
  facts.earlier_part = "shard-0-of-100000.csv";
  CHECK_THROWS_WITH(
      plan_parts(request, asked, facts),
      Catch::Matchers::Contains("r.csv.parts holds parts of 100000 workers (shard-0-of-100000.csv), "
                                "more than the campaign's 100 faults"));
}
