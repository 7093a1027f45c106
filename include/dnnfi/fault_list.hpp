#pragma once
// Fault lists in the seed project's CSV format: reading (with validation against the
// model's layers), writing, and statistical generation (Leveugle et al., DATE 2009).
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "dnnfi/fault.hpp"

namespace dnnfi {

// The seed's columns; input lists carry the first four, published lists all eight.
inline constexpr const char* kFaultColumns[] = {"Injection", "Layer", "TensorIndex", "Bit"};
inline constexpr const char* kResultColumns[] = {"n_injections", "masked", "non_critical", "critical"};
inline constexpr const char* kFaultModelColumn = "fault_model";

struct FaultList {
  std::vector<Fault> faults;
  bool has_fault_model_column = false;  // rows carry their own fault model
};

// Parses and validates a whole list before anything runs: every problem is reported as
// "<source>:<line>: <what>" (InputError). `layers` is the model's injectable layer table.
FaultList parse_fault_list(std::istream& in, const std::string& source, const std::vector<Layer>& layers);
FaultList read_fault_list(const std::filesystem::path& path, const std::vector<Layer>& layers);

// Writes the seed's four columns (plus fault_model when `with_fault_model`).
void write_fault_list(std::ostream& out, const std::vector<Fault>& faults, bool with_fault_model);

struct SampleSpec {
  double error_margin = 0.01;  // e; Default: 0.01
  double t_value = 2.58;       // confidence 99%; Default: 2.58
  double p = 0.5;              // worst-case proportion; Default: 0.5
  std::uint64_t seed = 38;     // Default: 38, the list shipped in fault_lists/
};

// Statistical sample size n = N / (1 + e^2 (N - 1) / (t^2 p (1 - p))), not rounded.
double statistical_sample_size(double population, const SampleSpec& spec);
// Population as the seed counted it: weights x 32 bits x 2.
double fault_population(const std::vector<Layer>& layers);

// The seed's statistical list: n split over layers in proportion to their weight counts
// (rounded half to even), index and bit uniform, (layer, index, bit) unique, numbered
// from 0 in layer order. The same spec and layers give the same list on every platform.
std::vector<Fault> generate_fault_list(const std::vector<Layer>& layers, const SampleSpec& spec);

// `count` faults spread evenly over `faults` (every k-th), for quick campaigns.
std::vector<Fault> spread_sample(const std::vector<Fault>& faults, std::size_t count);

}  // namespace dnnfi
