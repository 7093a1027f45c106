// The replay engine: each fault's counts come from an existing results file instead of
// inference, to re-analyse a finished campaign (e.g. the order and stopping of an iterative one).
#include <map>
#include <tuple>

#include "dnnfi/engine.hpp"
#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

using Key = std::tuple<std::string, std::vector<std::int64_t>, std::uint32_t, FaultModel>;

Key key_of(const Fault& f) { return {f.layer, f.index, f.bits.word(), f.model}; }

class ReplayEngine final : public Engine {
 public:
  ReplayEngine(const std::vector<ResultRow>& rows, std::string source) : source_(std::move(source)) {
    for (const auto& row : rows) counts_.emplace(key_of(row.fault), row.counts);
  }
  std::string name() const override { return "replay"; }
  torch::Tensor golden_logits() override { return {}; }
  double executed_macs() const override { return 0; }
  std::int64_t cache_bytes() const override { return 0; }
  void run(const std::vector<Fault>& faults, const Done& done) override {
    for (std::size_t i = 0; i < faults.size(); ++i) {
      const auto it = counts_.find(key_of(faults[i]));
      if (it == counts_.end())
        throw InputError(source_ + " has no row for Injection " + std::to_string(faults[i].injection) + " (" +
                         faults[i].layer + " " + format_index(faults[i].index) + " bit " +
                         format_bits(faults[i].bits) + ", " + std::string(to_string(faults[i].model)) +
                         "); --replay needs every fault the campaign draws");
      if (!done(i, it->second)) return;
    }
  }

 private:
  std::string source_;
  std::map<Key, Counts> counts_;
};

}  // namespace

std::unique_ptr<Engine> make_replay_engine(const std::vector<ResultRow>& rows, const std::string& source) {
  return std::make_unique<ReplayEngine>(rows, source);
}

}  // namespace dnnfi
