// The staged engine's stage plan and golden activation cache on their own, on ResNet20.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "engine/batches.hpp"
#include "engine/golden_cache.hpp"
#include "engine/stage_plan.hpp"
#include "zoo_model.hpp"

using namespace dnnfi;

namespace {

// Golden logits batched as the engines batch them.
torch::Tensor batched_logits(test::ZooModel& r, std::int64_t first, std::int64_t length, std::int64_t batch) {
  torch::InferenceMode guard;
  std::vector<torch::Tensor> parts;
  for_each_batch(length, batch, [&](std::int64_t offset, std::int64_t size) {
    parts.push_back(r.model.forward(device_batch(r.data, r.model, first + offset, size)));
  });
  return torch::cat(parts);
}

}  // namespace

TEST_CASE("the stage plan restarts each layer where it lives", "[staged][model]") {
  auto& r = test::ZooModel::resnet20();
  auto plan = StagePlan::build(r.model, r.data, 128);
  REQUIRE(plan);
  // conv1, bn1, relu, the nine blocks of layer1-3, pooling, linear: blocks are stages.
  std::vector<std::string> prefixes;
  for (std::size_t s = 0; s < plan->size(); ++s) prefixes.push_back((*plan)[s].prefix);
  CHECK(std::count(prefixes.begin(), prefixes.end(), "layer2.1") == 1);
  CHECK(std::find(prefixes.begin(), prefixes.end(), "layer2") == prefixes.end());

  const auto in_block = plan->site_of("layer2.1.conv2");
  CHECK((*plan)[in_block.stage].prefix == "layer2.1");
  CHECK((*plan)[in_block.stage].residual.has_value());
  CHECK(in_block.child == 3);  // conv1, bn1, relu1, conv2
  CHECK(in_block.splice);
  const auto top_conv = plan->site_of("conv1");
  CHECK((*plan)[top_conv.stage].prefix == "conv1");
  CHECK(top_conv.splice);  // its faulty channel is spliced into bn1's cached input
  CHECK((*plan)[top_conv.stage + 1].input_cached);
  CHECK_FALSE(plan->site_of("linear").splice);
  CHECK(plan->stage_macs(in_block.stage) ==
        plan->layer_macs("layer2.1.conv1") + plan->layer_macs("layer2.1.conv2"));
}

TEST_CASE("the staged pass of the plan reproduces forward() bit for bit", "[staged][model]") {
  auto& r = test::ZooModel::resnet20();
  auto plan = StagePlan::build(r.model, r.data, 128);
  REQUIRE(plan);
  torch::InferenceMode guard;
  const auto x = device_batch(r.data, r.model, 0, 128);
  CHECK(bit_equal(plan->run(x), r.model.forward(x)));
}

TEST_CASE("the golden cache sizes chunks to its memory limit in whole batches", "[staged][model]") {
  auto& r = test::ZooModel::resnet20();
  auto plan = StagePlan::build(r.model, r.data, 128);
  REQUIRE(plan);
  GoldenCache whole(r.model, r.data, *plan, 128, std::int64_t{4} << 30);
  CHECK(whole.chunk_count() == 1);
  CHECK(whole.chunk_images() == 300);
  GoldenCache two_batches(r.model, r.data, *plan, 128, 400 << 20);  // ~1.2 MB per image: 2 batches fit
  CHECK(two_batches.chunk_images() == 256);
  CHECK(two_batches.chunk_count() == 2);
  CHECK(two_batches.chunk_length(1) == 44);
  GoldenCache tiny(r.model, r.data, *plan, 128, 1);  // never less than one batch
  CHECK(tiny.chunk_images() == 128);
  CHECK(tiny.chunk_count() == 3);
}

TEST_CASE("each cached chunk's golden logits equal a plain batched forward", "[staged][model]") {
  auto& r = test::ZooModel::resnet20();
  auto plan = StagePlan::build(r.model, r.data, 128);
  REQUIRE(plan);
  GoldenCache cache(r.model, r.data, *plan, 128, 1);
  for (std::size_t k = 0; k < cache.chunk_count(); ++k) {
    const auto& logits = cache.load(k);
    CHECK(cache.loaded() == k);
    CHECK(cache.batches().size() == 1);
    CHECK(bit_equal(logits, batched_logits(r, cache.chunk_start(k), cache.chunk_length(k), 128)));
  }
  // Loading the held chunk again reuses it; the activations are those of its images.
  const auto* held = cache.batches()[0].stage_in.data();
  cache.load(cache.chunk_count() - 1);
  CHECK(cache.batches()[0].stage_in.data() == held);
  CHECK(cache.peak_bytes() > 0);
  CHECK(bit_equal(cache.golden_logits(), batched_logits(r, 0, r.data.size(), 128)));
}

TEST_CASE("the cache holds what a fault restarts from: stage inputs and block conv outputs",
          "[staged][model]") {
  auto& r = test::ZooModel::resnet20();
  auto plan = StagePlan::build(r.model, r.data, 128);
  REQUIRE(plan);
  GoldenCache cache(r.model, r.data, *plan, 128, std::int64_t{4} << 30);
  cache.load(0);
  torch::InferenceMode guard;
  const auto& batch = cache.batches()[0];
  const auto site = plan->site_of("layer2.1.conv2");
  auto& body = *(*plan)[site.stage].residual;
  // Its input, rebuilt from the cached conv1 output, is what the block computes on the way.
  const auto input = cache.main_input(site.stage, site.child, batch);
  auto y = batch.stage_in[site.stage];
  for (std::size_t k = 0; k < site.child; ++k) y = body.main[k](y);
  CHECK(bit_equal(input, y));
  CHECK(bit_equal(batch.conv_out[site.stage][site.child], body.main[site.child](y)));
  // The next stage's cached input is this block's output.
  CHECK(bit_equal(batch.stage_in[site.stage + 1], body.run(batch.stage_in[site.stage], nullptr)));
}

TEST_CASE("restarts are checked: a second golden pass must reproduce the verified one, stage by stage",
          "[staged][model]") {
  auto& r = test::ZooModel::resnet20();
  auto plan = StagePlan::build(r.model, r.data, 128);
  REQUIRE(plan);
  // The first (128 images) and the last (44) batch, as the verification passed them.
  auto& passes = plan->verified_passes();
  REQUIRE(passes.size() == 2);
  CHECK(passes[0].first == 0);
  CHECK(passes[1].first == 256);
  GoldenCache reproduced(r.model, r.data, *plan, 128, 1);  // a batch per chunk: the last one passes alone
  CHECK_NOTHROW(reproduced.check_restarts());
  CHECK(plan->verified_passes().empty());

  // As a kernel that gives other bits the second time: the last bit of one value of the
  // verified pass of layer2.1's input.
  auto again = StagePlan::build(r.model, r.data, 128);
  REQUIRE(again);
  const auto stage = again->site_of("layer2.1.conv1").stage;
  auto& input = again->verified_passes()[1].second.stage_in[stage];
  {
    torch::InferenceMode guard;
    input = input.contiguous();
    input.view(torch::kInt32).view(-1)[7].bitwise_xor_(1);
  }
  GoldenCache differs(r.model, r.data, *again, 128, std::int64_t{4} << 30);
  CHECK_THROWS_WITH(differs.check_restarts(),
                    Catch::Matchers::Contains("images 256-299 differs at stage layer2.1"));
}
