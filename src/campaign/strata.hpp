#pragma once
// Strata of a stratified campaign, and the pools faults are drawn from.
//  - A stratification puts each fault in a stratum by what is known before it runs: its layer,
//    its bit, or (data-aware) the size of the change it makes, the binary exponent of
//    |faulty - stored| of its weight, alone or with the fault's network stage or layer. A fault
//    that leaves its word unchanged is masked by construction: its stratum is exact.
//  - A pool holds the faults of the population a campaign draws from, by stratum, each stratum's
//    faults in an order shuffled by the seed: a list (which then is the population), or the
//    model's whole fault population, found by one pass over every element and drawable bit.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dnnfi/campaign.hpp"
#include "dnnfi/fault.hpp"
#include "dnnfi/model.hpp"
#include "dnnfi/word_format.hpp"

namespace dnnfi {

// What a weight fault does to its element: the value it had and the value it has, as the layer's
// arithmetic sees them (rounded where TF32 is emulated). For data-aware strata.
class FaultValues {
 public:
  virtual ~FaultValues() = default;
  virtual std::pair<float, float> values(const Fault& fault) const = 0;
  // The same for the element at `flat` (row-major place in the layer's weight) of `layer`.
  virtual std::pair<float, float> values(const std::string& layer, std::int64_t flat, BitMask bits,
                                         FaultModel model) const = 0;
};
// The values of the weights of `targets` of a loaded model (copied to the host once).
std::unique_ptr<FaultValues> model_fault_values(const Model& model, const std::vector<Layer>& targets);

// The stage of a layer: the first part of its module name ("layer2" of "layer2.0.conv1").
std::string stage_of(const std::string& layer);

// A fault's stratum key under `strata`: "layer2.0.conv1", "bit 30", "layer2.0.conv1 bit 30",
// "|d| 2^-7", "layer2 |d| 2^-7", "layer2.0.conv1 |d| 2^-7"; "|d| 0" for a change that rounds to
// nothing, "|d| inf" for a value that becomes NaN or infinite, and kUnchangedKey for a fault
// that leaves its word as it was (exact: masked). `values` is needed by the data-aware strata.
inline constexpr const char* kUnchangedKey = "unchanged";
std::string stratum_key(const Fault& fault, Strata strata, const FaultValues* values);
bool is_data_aware(Strata strata);

// The faults of a population by stratum, drawn without replacement.
class FaultPool {
 public:
  virtual ~FaultPool() = default;
  // The strata, in a fixed order (sorted by key), with their populations.
  const std::vector<std::string>& keys() const { return keys_; }
  const std::vector<double>& populations() const { return populations_; }
  double population() const;  // all strata
  // The next `count` faults of stratum `h` in the pool's order (fewer when it runs out).
  virtual std::vector<Fault> draw(std::size_t h, std::size_t count) = 0;
  // The stratum of a fault the pool drew (or could draw), by Injection number.
  virtual std::optional<std::size_t> stratum_of(std::int64_t injection) const = 0;

 protected:
  std::vector<std::string> keys_;
  std::vector<double> populations_;
};

// The strata of a list's faults (which then are the population), found once: pools of it can be
// drawn from again and again with other seeds, as the coverage benchmark replays campaigns.
struct ListStrata {
  std::vector<std::string> keys;                    // sorted
  std::vector<std::vector<std::uint32_t>> members;  // per stratum, places in the list
};
std::shared_ptr<const ListStrata> list_strata(const std::vector<Fault>& list, Strata strata,
                                              const FaultValues* values);
// A list as the population: each stratum's faults in an order drawn from `seed` (a uniform random
// order, found only as far as it is drawn). `list` must outlive the pool.
std::unique_ptr<FaultPool> list_pool(const std::vector<Fault>& list, std::shared_ptr<const ListStrata> strata,
                                     std::uint64_t seed);
std::unique_ptr<FaultPool> list_pool(const std::vector<Fault>& list, Strata strata, const FaultValues* values,
                                     std::uint64_t seed);

// The whole fault population of `targets` (every element x every bit a fault may start at, of
// `format`, `bits` and `burst`, with fault model `model`): N_h counted in one pass, and each
// stratum's draws a uniform sample without replacement (a reservoir per stratum, refilled by a
// further pass when a stratum needs more). Faults are numbered by their place in the population:
// (offset of the element among all targets' elements) x word bits + the lowest bit.
struct PopulationSpec {
  std::vector<Layer> targets;
  WordFormat format = WordFormat::kFp32;
  BitMask bits = BitMask(0xFFFFFFFFu);
  int burst = 1;
  FaultModel model = kDefaultFaultModel;
};
std::unique_ptr<FaultPool> population_pool(const PopulationSpec& spec, Strata strata,
                                           const FaultValues* values, std::uint64_t seed);
// The fault of a population by its Injection number (nullopt: not one of it), for checking the
// rows of a results file.
std::optional<Fault> population_fault(const PopulationSpec& spec, std::int64_t injection);

}  // namespace dnnfi
