// Engines on the real ResNet20 with the published weights and the real CIFAR-10 test set.
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "dnnfi/commands.hpp"
#include "dnnfi/engine.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/zoo.hpp"
#include "engine/shortcuts.hpp"
#include "test_support.hpp"
#include "zoo_model.hpp"

using namespace dnnfi;

namespace {

struct ResNet20 {
  static test::ZooModel& get() { return test::ZooModel::resnet20(); }
};

// Two published faults of every layer, plus faults that make weights huge or NaN.
std::vector<Fault> faults_of_every_layer() {
  auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  std::map<std::string, int> taken;
  std::vector<Fault> faults;
  for (const auto& f : published.faults)
    if (taken[f.layer]++ < 2) faults.push_back(f);
  Fault exponent = faults[5];
  exponent.injection = 100000;
  exponent.bits = BitMask::bit(30);  // |w| < 2 becomes ~1e38: overflows to Inf downstream
  faults.push_back(exponent);
  return faults;
}

// The faults, all of fault model `model`.
std::vector<Fault> with_model(std::vector<Fault> faults, FaultModel model) {
  for (auto& f : faults) f.model = model;
  return faults;
}

std::vector<Counts> run_all(Engine& engine, const std::vector<Fault>& list, FaultModel model) {
  const auto faults = with_model(list, model);
  std::vector<Counts> counts(faults.size());
  engine.run(faults, [&](std::size_t i, const Counts& c) {
    counts[i] = c;
    return true;
  });
  return counts;
}

}  // namespace

TEST_CASE("staged engine gives the naive engine's counts for faults in every layer",
          "[engine][model][heavy]") {
  auto& r = ResNet20::get();
  const auto faults = faults_of_every_layer();
  EngineOptions options;
  options.per_image = true;  // and the same critical images
  auto naive = make_engine(EngineKind::kNaive, r.model, r.data, options);
  auto staged = make_engine(EngineKind::kStaged, r.model, r.data, options);
  REQUIRE(staged->name() == "staged");
  CHECK(naive->golden_logits().view(torch::kInt32).equal(staged->golden_logits().view(torch::kInt32)));

  for (auto model : {FaultModel::kBitFlip, FaultModel::kStuckAt1}) {
    const auto expected = run_all(*naive, faults, model);
    const auto got = run_all(*staged, faults, model);
    std::int64_t changed = 0;
    for (std::size_t i = 0; i < faults.size(); ++i) {
      INFO(faults[i].layer << " " << format_index(faults[i].index) << " bit " << format_bits(faults[i].bits)
                           << " " << to_string(model));
      CHECK(got[i] == expected[i]);
      CHECK(got[i].injections == 300);
      CHECK(static_cast<std::int64_t>(got[i].critical_images.size()) == got[i].critical);
      changed += got[i].injections - got[i].masked;
    }
    CHECK(changed > 0);  // the sample really perturbs the network
  }
}

TEST_CASE("faults of one layer sharing a conv for their channels match the naive engine",
          "[engine][model][heavy]") {
  auto& r = ResNet20::get();
  // 19 consecutive published faults of one layer (more than one shared conv's worth), then
  // two faults in one output channel, one of them also in the same weight.
  auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  std::vector<Fault> faults;
  for (const auto& f : published.faults)
    if (f.layer == "layer2.1.conv1" && faults.size() < 19) faults.push_back(f);
  REQUIRE(faults.size() == 19);
  for (int bit : {30, 22}) {
    Fault f = faults.front();
    f.injection = 100000 + bit;
    f.bits = BitMask::bit(bit);
    faults.push_back(f);
  }
  EngineOptions options;
  auto naive = make_engine(EngineKind::kNaive, r.model, r.data, options);
  auto staged = make_engine(EngineKind::kStaged, r.model, r.data, options);
  for (auto model : {FaultModel::kBitFlip, FaultModel::kStuckAt0}) {
    const auto expected = run_all(*naive, faults, model);
    const auto got = run_all(*staged, faults, model);
    for (std::size_t i = 0; i < faults.size(); ++i) {
      INFO(format_index(faults[i].index)
           << " bit " << format_bits(faults[i].bits) << " " << to_string(model));
      CHECK(got[i] == expected[i]);
    }
  }
}

TEST_CASE("the stacked engine gives the staged engine's counts, whatever the stack size",
          "[engine][model][heavy]") {
  auto& r = ResNet20::get();
  // Runs of one layer (stacks of several faults, slices leaving the stack early) and faults of
  // every layer; 300 images: stacks of full batches and of the 44-image remainder.
  auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  std::vector<Fault> faults;
  for (const auto& f : published.faults)
    if ((f.layer == "layer1.2.conv1" || f.layer == "layer3.0.conv2") && faults.size() < 24)
      faults.push_back(f);
  for (const auto& f : faults_of_every_layer()) faults.push_back(f);
  auto staged = make_engine(EngineKind::kStaged, r.model, r.data, EngineOptions{});
  const auto expected = run_all(*staged, faults, FaultModel::kBitFlip);
  for (std::size_t stack : {3, 0}) {
    EngineOptions options;
    options.stack = stack;
    auto stacked = make_engine(EngineKind::kStacked, r.model, r.data, options);
    REQUIRE(stacked->name() == "stacked");
    const auto got = run_all(*stacked, faults, FaultModel::kBitFlip);
    for (std::size_t i = 0; i < faults.size(); ++i) {
      INFO("stack " << stack << ": " << faults[i].layer << " " << format_index(faults[i].index) << " bit "
                    << format_bits(faults[i].bits));
      CHECK(got[i] == expected[i]);
    }
    CHECK(stacked->executed_macs() == staged->executed_macs());  // the same work, batched differently
  }
}

namespace {
// Shortcuts perturbed for the life of the object (and restored when a check fails).
struct Perturbed {
  explicit Perturbed(ShortcutPerturbation p) { perturb_shortcuts_for_testing(p); }
  ~Perturbed() { perturb_shortcuts_for_testing({}); }
};
}  // namespace

TEST_CASE("a splice or a stack that computes other bits is caught and falls back to naive's counts",
          "[engine][model][heavy]") {
  auto& r = ResNet20::get();
  // Mantissa bits (images masked in layer3, where the next convs absorb more) in conv1 and in
  // block convs, a run of one layer (one shared conv, a stack) and an exponent fault.
  auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  const std::map<std::string, int> wanted = {
      {"conv1", 1}, {"layer1.0.conv2", 1}, {"layer3.1.conv2", 3}, {"layer3.2.conv1", 1}};
  std::vector<Fault> faults;
  std::map<std::string, int> taken;
  for (const auto& f : published.faults) {
    const int bit = f.bits.lowest();
    const auto it = wanted.find(f.layer);
    if (bit >= 8 && bit <= 16 && it != wanted.end() && taken[f.layer]++ < it->second) faults.push_back(f);
  }
  REQUIRE(faults.size() == 6);
  faults.push_back(faults_of_every_layer().back());
  auto naive = make_engine(EngineKind::kNaive, r.model, r.data, EngineOptions{});
  const auto expected = run_all(*naive, faults, FaultModel::kBitFlip);
  // Masked images: a perturbed shortcut left in use would unmask them.
  std::int64_t with_masked = 0;
  for (const auto& c : expected) with_masked += c.masked > 0;
  REQUIRE(with_masked >= 3);
  for (auto [splice, stack] : {std::pair{true, false}, std::pair{false, true}}) {
    const Perturbed perturbed({splice, stack});
    EngineOptions options;
    options.stack = 3;
    auto engine = make_engine(splice ? EngineKind::kStaged : EngineKind::kStacked, r.model, r.data, options);
    const auto got = run_all(*engine, faults, FaultModel::kBitFlip);
    for (std::size_t i = 0; i < faults.size(); ++i) {
      INFO((splice ? "splice" : "stack")
           << " perturbed: " << faults[i].layer << " " << format_index(faults[i].index) << " bit "
           << format_bits(faults[i].bits));
      CHECK(got[i] == expected[i]);
    }
  }
}

TEST_CASE("activation faults: the staged engine gathers unmasked images and runs windows, and equals naive",
          "[engine][model]") {
  auto& r = ResNet20::get();
  FaultSpace space;
  space.target = FaultTarget::kActivations;
  auto model = Model::load(zoo_model_files(r.entry, r.where), torch::kCPU, {}, true, space);
  // Every kind of site: the stem conv, block convs 1 and 2, stride-2 blocks, the last block and
  // the linear layer; mantissa bits (many images masked at the next ReLU), exponent and sign.
  const std::vector<std::tuple<std::string, std::vector<std::int64_t>, int, FaultModel>> sites = {
      {"conv1", {3, 10, 12}, 12, FaultModel::kBitFlip},
      {"layer1.0.conv1", {5, 0, 31}, 30, FaultModel::kBitFlip},
      {"layer1.1.conv2", {15, 17, 4}, 20, FaultModel::kBitFlip},
      {"layer1.2.conv1", {0, 8, 8}, 31, FaultModel::kBitFlip},
      {"layer2.0.conv1", {20, 7, 0}, 16, FaultModel::kStuckAt1},
      {"layer2.0.conv2", {31, 15, 15}, 29, FaultModel::kBitFlip},
      {"layer2.2.conv2", {9, 3, 11}, 8, FaultModel::kBitFlip},
      {"layer3.0.conv1", {40, 4, 4}, 25, FaultModel::kStuckAt0},
      {"layer3.2.conv2", {63, 7, 0}, 31, FaultModel::kBitFlip},
      {"linear", {7}, 22, FaultModel::kBitFlip},
  };
  std::vector<Fault> faults;
  for (const auto& [layer, index, bit, fault_model] : sites) {
    Fault f;
    f.injection = static_cast<std::int64_t>(faults.size());
    f.layer = layer;
    f.index = index;
    f.bits = BitMask::bit(bit);
    f.model = fault_model;
    faults.push_back(f);
  }
  // With per-image outcomes: gathered images come back out of order, and are counted in place.
  EngineOptions per_image;
  per_image.per_image = true;
  const auto run = [&](EngineKind kind, double* macs) {
    auto engine = make_engine(kind, model, r.data, per_image);
    std::vector<Counts> counts(faults.size());
    engine->run(faults, [&](std::size_t i, const Counts& c) {
      counts[i] = c;
      return true;
    });
    if (macs) *macs = engine->executed_macs();
    return counts;
  };
  const auto expected = run(EngineKind::kNaive, nullptr);
  std::int64_t partly_masked = 0;  // faults with both masked and unmasked images: gathering has work
  std::int64_t critical = 0;
  for (const auto& c : expected) {
    partly_masked += c.masked > 0 && c.masked < c.injections;
    CHECK(static_cast<std::int64_t>(c.critical_images.size()) == c.critical);
    critical += c.critical;
  }
  REQUIRE(partly_masked >= 4);
  REQUIRE(critical > 0);
  double gathered_macs = 0;
  const auto got = run(EngineKind::kStaged, &gathered_macs);
  for (std::size_t i = 0; i < faults.size(); ++i) {
    INFO(faults[i].layer << " " << format_index(faults[i].index) << " bit " << format_bits(faults[i].bits));
    CHECK(got[i] == expected[i]);
  }
  // Gathered images, or windows, that computed other bits are caught by their checks, and the
  // images go on whole (batches, maps): the same counts, with more work.
  for (const auto& [gather, window] : {std::pair{true, false}, std::pair{false, true}}) {
    const Perturbed perturbed({false, false, gather, window});
    double macs = 0;
    const auto fallback = run(EngineKind::kStaged, &macs);
    for (std::size_t i = 0; i < faults.size(); ++i) {
      INFO((gather ? "gather" : "window")
           << " perturbed: " << faults[i].layer << " " << format_index(faults[i].index) << " bit "
           << format_bits(faults[i].bits));
      CHECK(fallback[i] == expected[i]);
    }
    CHECK(gathered_macs < macs);
  }
}

TEST_CASE("a stuck-at fault that leaves its weight's bits unchanged runs nothing and is masked",
          "[engine][model]") {
  auto& r = ResNet20::get();
  Fault f;
  f.layer = "layer3.0.conv2";
  f.index = {5, 9, 0, 2};
  const float w = r.model.weight(f.layer)[5][9][0][2].item<float>();
  int bit = 0;
  while (bit < 31 && ((float_bits(w) >> bit) & 1u) == 0) ++bit;  // a bit that is already 1
  REQUIRE(((float_bits(w) >> bit) & 1u) == 1u);
  f.bits = BitMask::bit(bit);
  auto staged = make_engine(EngineKind::kStaged, r.model, r.data, EngineOptions{});
  const double before = staged->executed_macs();
  f.model = FaultModel::kStuckAt1;
  const auto c = evaluate_fault(*staged, f);
  CHECK(c.masked == 300);
  CHECK(c.injections == 300);
  CHECK(staged->executed_macs() == before);
  // The opposite stuck-at value does change the weight and is computed.
  f.model = FaultModel::kStuckAt0;
  const auto flipped = evaluate_fault(*staged, f);
  CHECK(staged->executed_macs() > before);
  CHECK(flipped.injections == 300);
}

namespace {

// The export of ResNet20 with its metadata rewritten by `edit`, loaded from a temporary folder.
Model load_with_meta(const std::function<std::string(std::string)>& edit) {
  auto& r = ResNet20::get();
  const auto files = zoo_model_files(r.entry, r.where);
  const auto dir = std::filesystem::temp_directory_path() / ("dnnfi-meta-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ModelFiles copy{dir / "model.pt", dir / "model.meta"};
  std::filesystem::copy_file(files.torchscript, copy.torchscript,
                             std::filesystem::copy_options::overwrite_existing);
  std::ifstream in(files.info);
  std::stringstream text;
  text << in.rdbuf();
  std::ofstream(copy.info) << edit(text.str());
  auto model = Model::load(copy, torch::kCPU);
  std::filesystem::remove_all(dir);
  return model;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a declared residual structure that does not reproduce its block is not used", "[engine][model]") {
  auto& r = ResNet20::get();
  // layer2.1 declared without its first ReLU: the staged engine must notice and restart
  // that block whole, so its faults still match the naive engine.
  auto model = load_with_meta([](std::string meta) {
    return replace(meta, "residual layer2.1 conv1,bn1,relu1,conv2,bn2",
                   "residual layer2.1 conv1,bn1,conv2,bn2");
  });
  auto published = read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  std::vector<Fault> faults;
  for (const auto& f : published.faults)
    if (f.layer.rfind("layer2.1.", 0) == 0 && faults.size() < 4) faults.push_back(f);
  auto naive = make_engine(EngineKind::kNaive, model, r.data, EngineOptions{});
  auto staged = make_engine(EngineKind::kStaged, model, r.data, EngineOptions{});
  REQUIRE(staged->name() == "staged");
  CHECK(run_all(*staged, faults, FaultModel::kBitFlip) == run_all(*naive, faults, FaultModel::kBitFlip));
}

TEST_CASE("a model whose forward is not a plain sequence gets the naive engine", "[engine][model]") {
  auto& r = ResNet20::get();
  auto model = load_with_meta([](std::string meta) { return replace(meta, "sequential 1", "sequential 0"); });
  CHECK(make_engine(EngineKind::kStaged, model, r.data, EngineOptions{})->name() == "naive");
}

TEST_CASE("an exponent fault that overflows: NaN/Inf images counted, critical as the rule says",
          "[engine][model]") {
  auto& r = ResNet20::get();
  const auto fault = faults_of_every_layer().back();
  EngineOptions strict;
  strict.non_finite = NonFiniteRule::kCritical;
  auto staged = make_engine(EngineKind::kStaged, r.model, r.data, EngineOptions{});
  auto staged_strict = make_engine(EngineKind::kStaged, r.model, r.data, strict);
  const auto c = evaluate_fault(*staged, fault);
  const auto s = evaluate_fault(*staged_strict, fault);
  CHECK(c.non_finite > 0);  // the fault really drives logits to NaN/Inf
  CHECK(s.non_finite == c.non_finite);
  CHECK(s.critical >= s.non_finite);  // the strict rule: every one of them is critical
  CHECK(s.critical >= c.critical);
  CHECK(s.masked == c.masked);
  CHECK(c.masked + c.non_critical + c.critical == 300);
  // Both rules give the naive engine's counts.
  CHECK(evaluate_fault(*make_engine(EngineKind::kNaive, r.model, r.data, EngineOptions{}), fault) == c);
  CHECK(evaluate_fault(*make_engine(EngineKind::kNaive, r.model, r.data, strict), fault) == s);
}

TEST_CASE("chunked caching under a small memory limit gives the same counts", "[engine][model]") {
  auto& r = ResNet20::get();
  auto faults = faults_of_every_layer();
  faults.resize(12);
  EngineOptions whole, chunked;
  chunked.memory_limit = 1 << 20;  // a batch at a time
  auto a = make_engine(EngineKind::kStaged, r.model, r.data, whole);
  auto b = make_engine(EngineKind::kStaged, r.model, r.data, chunked);
  CHECK(run_all(*a, faults, FaultModel::kBitFlip) == run_all(*b, faults, FaultModel::kBitFlip));
  CHECK(b->cache_bytes() < a->cache_bytes());
  // The chunked campaign assembled its golden logits from the cached passes of its chunks.
  CHECK(b->golden_logits().view(torch::kInt32).equal(a->golden_logits().view(torch::kInt32)));
}

TEST_CASE("a stop request abandons an unfinished group of faults without reporting it", "[engine][model]") {
  auto& r = ResNet20::get();
  auto faults = faults_of_every_layer();
  EngineOptions chunked;
  chunked.memory_limit = 1 << 20;  // a batch at a time: faults are reported in groups
  std::atomic<bool> stop{true};
  chunked.stop = &stop;
  auto engine = make_engine(EngineKind::kStaged, r.model, r.data, chunked);
  std::size_t reported = 0;
  engine->run(faults, [&](std::size_t, const Counts&) { return ++reported > 0; });
  CHECK(reported == 0);
  CHECK(engine->executed_macs() == 0);
  stop = false;
  engine->run(faults, [&](std::size_t, const Counts&) { return ++reported > 0; });
  CHECK(reported == faults.size());
  CHECK(engine->executed_macs() > 0);
}

TEST_CASE("after a campaign the weights are restored: golden outputs are bit-identical", "[engine][model]") {
  auto& r = ResNet20::get();
  const auto before = r.logits();
  auto faults = faults_of_every_layer();
  faults.erase(faults.begin() + 1, faults.end() - 8);  // conv1 ... linear and the exponent fault
  for (auto kind : {EngineKind::kNaive, EngineKind::kStaged}) {
    auto engine = make_engine(kind, r.model, r.data, EngineOptions{});
    run_all(*engine, faults, FaultModel::kBitFlip);
    run_all(*engine, faults, FaultModel::kStuckAt0);
  }
  CHECK(r.logits().view(torch::kInt32).equal(before.view(torch::kInt32)));
}

TEST_CASE("a fault changes exactly one weight while it is applied", "[engine][model]") {
  auto& r = ResNet20::get();
  Fault f;
  f.layer = "layer2.1.conv2";
  f.index = {3, 7, 1, 2};
  f.bits = BitMask::bit(31);
  f.model = FaultModel::kBitFlip;
  const auto weight = r.model.weight(f.layer);
  const auto before = weight.clone();
  {
    ScopedFault patch(r.model, f);
    const auto diff = weight.ne(before);
    CHECK(diff.sum().item<std::int64_t>() == 1);
    CHECK(weight[3][7][1][2].item<float>() == -before[3][7][1][2].item<float>());
  }
  CHECK(weight.equal(before));
}

namespace {

// Every fault's counts, checking each is reported exactly once.
std::vector<Counts> collect(Engine& engine, const std::vector<Fault>& faults) {
  std::vector<Counts> counts(faults.size());
  std::vector<int> reports(faults.size(), 0);
  engine.run(faults, [&](std::size_t i, const Counts& c) {
    counts.at(i) = c;
    ++reports.at(i);
    return true;
  });
  CHECK(std::all_of(reports.begin(), reports.end(), [](int n) { return n == 1; }));
  return counts;
}

// `count` faults spread over `list`, their fault models taking turns, plus exponent faults
// (bit 30: weights huge or Inf) in a few layers.
std::vector<Fault> exactness_sample(const std::vector<Fault>& list, std::size_t count) {
  auto faults = spread_sample(list, count);
  const FaultModel models[] = {FaultModel::kBitFlip, FaultModel::kStuckAt0, FaultModel::kStuckAt1};
  for (std::size_t i = 0; i < faults.size(); ++i) faults[i].model = models[i % 3];
  for (std::size_t i = 0; i < faults.size(); i += faults.size() / 4) {
    Fault f = faults[i];
    f.injection += 1000000;
    f.bits = BitMask::bit(30);
    f.model = FaultModel::kBitFlip;
    faults.push_back(f);
  }
  return faults;
}

// The staged engine where it is split into rooms: more faults than one group (64), a memory
// limit of one batch per chunk (300 images: 3 chunks), two threads; fault by fault against
// the naive engine.
void check_staged_equals_naive(test::ZooModel& r, const std::vector<Fault>& faults) {
  REQUIRE(faults.size() > 64);
  test::ZooModel::use_threads(2);
  EngineOptions chunked;
  chunked.memory_limit = 1;
  auto naive = make_engine(EngineKind::kNaive, r.model, r.data, EngineOptions{});
  auto staged = make_engine(EngineKind::kStaged, r.model, r.data, chunked);
  REQUIRE(staged->name() == "staged");
  const auto expected = collect(*naive, faults);
  const auto got = collect(*staged, faults);
  std::int64_t changed = 0;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    INFO(faults[i].layer << " " << format_index(faults[i].index) << " bit " << format_bits(faults[i].bits)
                         << " " << to_string(faults[i].model));
    CHECK(got[i] == expected[i]);
    changed += got[i].injections - got[i].masked;
  }
  CHECK(changed > 0);
  CHECK(staged->golden_logits().view(torch::kInt32).equal(naive->golden_logits().view(torch::kInt32)));
  test::ZooModel::use_threads(1);
}

}  // namespace

// Hidden from a plain run (minutes): CTest runs them with the "slow" label.
TEST_CASE("staged equals naive on ResNet20: 70 published faults, 2 threads, 3 chunks", "[.][exactness]") {
  auto& r = ResNet20::get();
  const auto published =
      read_fault_list(test::shared_dir() / "seed" / "ResNet20_FL.csv", test::resnet20_layers());
  check_staged_equals_naive(r, exactness_sample(published.faults, 70));
}

TEST_CASE("staged equals naive on ResNet32: 70 statistical faults, 2 threads, 3 chunks", "[.][exactness]") {
  test::ZooModel r("resnet32", 300);
  check_staged_equals_naive(r,
                            exactness_sample(generate_fault_list(r.model.info().layers, SampleSpec{}), 70));
}

TEST_CASE("staged equals naive on ResNet56: 70 statistical faults, 2 threads, 3 chunks", "[.][exactness]") {
  test::ZooModel r("resnet56", 300);
  check_staged_equals_naive(r,
                            exactness_sample(generate_fault_list(r.model.info().layers, SampleSpec{}), 70));
}

namespace {
// A fault's critical images computed here: its faulty logits batch by batch (as every engine
// batches), their argmax against golden's.
std::vector<CriticalImage> critical_by_hand(Model& model, const Dataset& data, const Fault& fault) {
  torch::InferenceMode inference;
  std::vector<CriticalImage> out;
  const std::int64_t batch = kDefaultBatchSize;
  for (std::int64_t start = 0; start < data.size(); start += batch) {
    const auto length = std::min(batch, data.size() - start);
    const auto input = model.prepare_input(data.images.narrow(0, start, length));
    const auto golden = model.forward(input);
    torch::Tensor faulty;
    {
      ScopedFault patch(model, fault);
      faulty = model.forward(input);
    }
    for (std::int64_t i = 0; i < length; ++i) {
      const auto g = golden[i], f = faulty[i];
      const bool same = torch::equal(g.view(torch::kInt32), f.view(torch::kInt32));
      const auto top = f.argmax().item<std::int64_t>();
      if (!same && top != g.argmax().item<std::int64_t>()) out.push_back({start + i, top});
    }
  }
  return out;
}
}  // namespace

TEST_CASE(
    "per-image outcomes: naive's are the logits' by hand, and chunked and stacked engines name them too",
    "[engine][model][heavy]") {
  auto& r = ResNet20::get();
  // One fault of every second layer in a high exponent bit (most images critical, some not),
  // and the fault whose logits overflow.
  const auto every = faults_of_every_layer();
  std::vector<Fault> faults;
  for (std::size_t i = 0; i + 1 < every.size(); i += 4) {
    faults.push_back(every[i]);
    faults.back().bits = BitMask::bit(27 + static_cast<int>(i / 4) % 3);
  }
  faults.push_back(every.back());
  EngineOptions options;
  options.per_image = true;
  const auto expected =
      run_all(*make_engine(EngineKind::kNaive, r.model, r.data, options), faults, FaultModel::kBitFlip);
  std::int64_t with_critical = 0;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    INFO(faults[i].layer << " bit " << format_bits(faults[i].bits));
    CHECK(static_cast<std::int64_t>(expected[i].critical_images.size()) == expected[i].critical);
    with_critical += expected[i].critical > 0;
  }
  REQUIRE(with_critical >= 3);
  // Naive's against the logits by hand, for the faults with critical images (NaN ones aside:
  // PyTorch's argmax rule is the classify test's).
  std::size_t by_hand = 0;
  for (std::size_t i = 0; i < faults.size(); ++i)
    if (expected[i].critical > 0 && expected[i].non_finite == 0) {
      INFO(faults[i].layer << " bit " << format_bits(faults[i].bits));
      CHECK(expected[i].critical_images == critical_by_hand(r.model, r.data, faults[i]));
      ++by_hand;
    }
  CHECK(by_hand >= 3);
  // The staged engine chunked (one batch a chunk: image numbers from the chunk's start), and
  // stacked (the unchunked staged engine: the test above).
  EngineOptions chunked = options, stacked = options;
  chunked.memory_limit = 1 << 20;
  stacked.stack = 4;
  for (const auto& [kind, engine_options] :
       {std::pair{EngineKind::kStaged, chunked}, std::pair{EngineKind::kStacked, stacked}}) {
    const auto got =
        run_all(*make_engine(kind, r.model, r.data, engine_options), faults, FaultModel::kBitFlip);
    for (std::size_t i = 0; i < faults.size(); ++i) {
      INFO(to_string(kind) << " memory " << engine_options.memory_limit << ": " << faults[i].layer << " bit "
                           << format_bits(faults[i].bits));
      CHECK(got[i] == expected[i]);
    }
  }
}
