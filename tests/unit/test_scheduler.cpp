// The staged engine's scheduler on its own: a fake test set of chunks, no model.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/scheduler.hpp"

using namespace dnnfi;

namespace {

// Records what the scheduler asks for; each fault's counts over one chunk are its injection
// number as masked images plus the chunk's own size as injections, so sums are checkable.
class FakeWork : public ChunkedWork {
 public:
  explicit FakeWork(std::size_t chunks) : chunks_(chunks) {}
  std::size_t chunk_count() const override { return chunks_; }
  void load_chunk(std::size_t chunk) override {
    held = chunk;
    log.push_back("load " + std::to_string(chunk));
  }
  bool shares_runs(const Fault& fault) const override { return fault.layer != "alone"; }
  bool needs_inference(const Fault& fault) const override { return fault.layer != "unchanged"; }
  Counts unchanged_counts() override { return Counts{30, 30, 0, 0, 0, {}}; }
  void evaluate(const Fault* faults, std::size_t n, Counts* counts) override {
    runs.push_back(n);
    std::string entry = "run";
    for (std::size_t i = 0; i < n; ++i) {
      entry += " " + std::to_string(faults[i].injection);
      counts[i] += Counts{10, faults[i].injection, 10 - faults[i].injection, 0, 0, {}};
    }
    log.push_back(entry);
    if (stop_on_run && runs.size() == *stop_on_run) stop_on_run_flag->store(true);
  }

  std::size_t held = 99;
  std::vector<std::string> log;
  std::vector<std::size_t> runs;
  std::optional<std::size_t> stop_on_run;
  std::atomic<bool>* stop_on_run_flag = nullptr;

 private:
  std::size_t chunks_;
};

std::vector<Fault> faults_of(const std::vector<std::string>& layers) {
  std::vector<Fault> faults;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    Fault f;
    f.injection = static_cast<std::int64_t>(i);
    f.layer = layers[i];
    faults.push_back(f);
  }
  return faults;
}

struct Reports {
  std::vector<std::size_t> order;
  std::vector<Counts> counts;
  Engine::Done done(std::size_t stop_after = SIZE_MAX) {
    return [this, stop_after](std::size_t i, const Counts& c) {
      order.push_back(i);
      counts.push_back(c);
      return order.size() < stop_after;
    };
  }
};

}  // namespace

TEST_CASE("consecutive faults of a layer that shares runs go together, at most the run limit",
          "[scheduler]") {
  FakeWork work(1);
  Reports reports;
  auto faults = faults_of({"a", "a", "a", "b", "alone", "alone", "a", "a", "a", "a", "a"});
  ScheduleLimits limits;
  limits.run = 3;
  run_schedule(faults, work, reports.done(), nullptr, limits);
  CHECK(work.log ==
        std::vector<std::string>{"load 0", "run 0 1 2", "run 3", "run 4", "run 5", "run 6 7 8", "run 9 10"});
  CHECK(reports.order == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE("with one chunk each fault is reported as its run finishes, and a false done stops",
          "[scheduler]") {
  FakeWork work(1);
  Reports reports;
  run_schedule(faults_of({"a", "a", "b", "c"}), work, reports.done(/*stop_after=*/3), nullptr);
  CHECK(reports.order == std::vector<std::size_t>{0, 1, 2});
  CHECK(work.log == std::vector<std::string>{"load 0", "run 0 1", "run 2"});  // fault 3 never ran
  CHECK(reports.counts[1] == Counts{10, 1, 9, 0, 0, {}});
}

TEST_CASE("with several chunks a group sweeps every chunk and is reported once complete", "[scheduler]") {
  FakeWork work(3);
  Reports reports;
  ScheduleLimits limits;
  limits.group = 2;
  run_schedule(faults_of({"a", "a", "b", "c", "d"}), work, reports.done(), nullptr, limits);
  CHECK(work.log == std::vector<std::string>{"load 0", "run 0 1", "load 1", "run 0 1", "load 2", "run 0 1",
                                             "load 0", "run 2",   "run 3",  "load 1",  "run 2",  "run 3",
                                             "load 2", "run 2",   "run 3",  "load 0",  "run 4",  "load 1",
                                             "run 4",  "load 2",  "run 4"});
  CHECK(reports.order == std::vector<std::size_t>{0, 1, 2, 3, 4});
  // Each fault's counts are the sum over the three chunks.
  CHECK(reports.counts[3] == Counts{30, 9, 21, 0, 0, {}});
}

TEST_CASE("a stop request abandons the unfinished group of a chunked test set", "[scheduler]") {
  FakeWork work(2);
  std::atomic<bool> stop{false};
  work.stop_on_run = 3;  // during the second group's first chunk
  work.stop_on_run_flag = &stop;
  Reports reports;
  ScheduleLimits limits;
  limits.group = 1;
  run_schedule(faults_of({"a", "b", "c"}), work, reports.done(), &stop, limits);
  CHECK(reports.order == std::vector<std::size_t>{0});  // the first group completed before the stop
  CHECK(work.log.back() == "run 1");                    // the second group's other chunk never ran
}

TEST_CASE("a stop request does not cut short a single-chunk campaign's current run", "[scheduler]") {
  // With one chunk the campaign loop's done() returns false instead: the scheduler itself
  // keeps going, so a run's faults are all reported.
  FakeWork work(1);
  std::atomic<bool> stop{true};
  Reports reports;
  run_schedule(faults_of({"a", "a", "b"}), work, reports.done(), &stop);
  CHECK(reports.order == std::vector<std::size_t>{0, 1, 2});
}

TEST_CASE("faults that need no inference ride along in a group; a group of them alone loads no chunk",
          "[scheduler]") {
  FakeWork work(3);
  Reports reports;
  ScheduleLimits limits;
  limits.group = 1;
  run_schedule(faults_of({"a", "unchanged", "unchanged", "b"}), work, reports.done(), nullptr, limits);
  // Two groups, [a, unchanged, unchanged] and [b], so two sweeps of three chunks.
  CHECK(std::count(work.log.begin(), work.log.end(), "load 0") == 2);
  CHECK(std::vector<std::string>(work.log.begin(), work.log.begin() + 4) ==
        std::vector<std::string>{"load 0", "run 0", "run 1 2", "load 1"});
  CHECK(work.log.size() == 3 * 3 + 2 * 3);
  CHECK(reports.order == std::vector<std::size_t>{0, 1, 2, 3});

  for (std::size_t chunks : {1, 3}) {
    FakeWork idle(chunks);
    Reports only_unchanged;
    run_schedule(faults_of({"unchanged", "unchanged"}), idle, only_unchanged.done(), nullptr, limits);
    CHECK(idle.log.empty());
    CHECK(only_unchanged.order == std::vector<std::size_t>{0, 1});
    CHECK(only_unchanged.counts[1] == Counts{30, 30, 0, 0, 0, {}});
  }
}
