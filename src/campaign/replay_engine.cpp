// The replay engine (replay_engine.hpp).
#include "replay_engine.hpp"

#include <unordered_map>

#include "dnnfi/errors.hpp"
#include "dnnfi/word_format.hpp"

namespace dnnfi {
namespace {

class ReplayEngine final : public Engine {
 public:
  ReplayEngine(const std::vector<ResultRow>& rows, std::string source) : source_(std::move(source)) {
    for (const auto& row : rows) counts_.emplace(key(row.fault), row.counts);
  }
  std::string name() const override { return "replay"; }
  torch::Tensor golden_logits() override { return {}; }
  double executed_macs() const override { return 0; }
  std::int64_t cache_bytes() const override { return 0; }
  void run(const std::vector<Fault>& faults, const Done& done) override {
    for (std::size_t i = 0; i < faults.size(); ++i) {
      const auto it = counts_.find(key(faults[i]));
      if (it == counts_.end())
        throw InputError(source_ + " has no row for Injection " + std::to_string(faults[i].injection) + " (" +
                         key(faults[i]) + "); --replay needs every fault the campaign draws");
      if (!done(i, it->second)) return;
    }
  }

 private:
  std::string source_;
  std::unordered_map<std::string, Counts> counts_;
};

}  // namespace

std::unique_ptr<Engine> make_replay_engine(const std::vector<ResultRow>& rows, const std::string& source) {
  return std::make_unique<ReplayEngine>(rows, source);
}

}  // namespace dnnfi
