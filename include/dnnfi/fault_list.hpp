#pragma once
// Fault lists in the seed project's CSV format: reading (with validation against the model's
// layers), writing, statistical generation (Leveugle et al., DATE 2009), samples and shards.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/word_format.hpp"

namespace dnnfi {

// The seed's columns; input lists carry the first four, published lists all eight.
inline constexpr const char* kFaultListHeader = "Injection,Layer,TensorIndex,Bit";
inline constexpr const char* kFaultModelColumn = "fault_model";

struct FaultList {
  std::vector<Fault> faults;            // every fault with its model resolved
  bool has_fault_model_column = false;  // the rows carried their own fault model
};

// Parses and validates a whole list before anything runs: every problem is reported as
// "<source>:<line>: <what>" (InputError). `layers` is the table of what faults may hit (the
// model's weights, or its layers' outputs). `fault_model` (--fault-model) is the model of every
// row of a list without a fault_model column (default: bit-flip); giving it for a list that has
// the column is a usage Error. A bit past the word of `space.format` is refused.
FaultList parse_fault_list(std::istream& in, const std::string& source, const std::vector<Layer>& layers,
                           std::optional<FaultModel> fault_model = std::nullopt,
                           const FaultSpace& space = {});
FaultList read_fault_list(const std::filesystem::path& path, const std::vector<Layer>& layers,
                          std::optional<FaultModel> fault_model = std::nullopt, const FaultSpace& space = {});

// Writes the seed's four columns (plus fault_model when `with_fault_model`).
void write_fault_list(std::ostream& out, const std::vector<Fault>& faults, bool with_fault_model);

struct SampleSpec {
  double error_margin = 0.01;  // e; Default: 0.01
  double t_value = 2.58;       // confidence 99%; Default: 2.58
  double p = 0.5;              // worst-case proportion; Default: 0.5
  std::uint64_t seed = 38;     // Default: 38, the list shipped in fault_lists/
  // For studies of some bits, of every bit, of multi-bit upsets (the defaults give the seed's list):
  WordFormat format = WordFormat::kFp32;  // --format: the word faults hit, its bits; Default: fp32
  BitMask bits = BitMask(0xFFFFFFFFu);    // --bits: where a fault's (lowest) bit is drawn from; Default: all
  int burst = 1;                          // --burst K: K adjacent bits upward from the drawn bit; Default: 1
  std::optional<std::size_t> per_layer;   // --per-layer N: N faults per layer; Default: proportional split
  bool all_bits = false;                  // --all-bits: every drawable bit of each drawn weight; Default: one
};

// Statistical sample size n = N / (1 + e^2 (N - 1) / (t^2 p (1 - p))), not rounded.
double statistical_sample_size(double population, const SampleSpec& spec);
// The population `spec` draws from: population(layers, spec.format, spec.bits, spec.burst).
double fault_population(const std::vector<Layer>& layers, const SampleSpec& spec);

// The seed's statistical list: n (for the population of `spec`) rounded to an integer, then split
// over layers in proportion to their weight counts (each share rounded half to even), or
// `per_layer` faults each; index and bit uniform, (layer, index, bits) unique; with `all_bits`
// a layer's count is spread over whole weights, each giving one fault per drawable bit. Numbered
// from 0 in layer order, every fault of model `model`. The same spec and layers give the same
// list on every platform.
std::vector<Fault> generate_fault_list(const std::vector<Layer>& layers, const SampleSpec& spec,
                                       FaultModel model = kDefaultFaultModel);

// A list of the seed's Keras campaigns (layers conv2d, conv2d_1, ..., dense, ... in creation order;
// conv indices (kh, kw, in, out), dense (in, out)) mapped onto the PyTorch layers in parameter
// order, (out, in, kh, kw) / (out, in) indices, Injection numbers kept. Every row must fit its
// layer's shape and its bits the word of `format` (InputError with file:line otherwise).
FaultList read_keras_fault_list(const std::filesystem::path& path, const std::vector<Layer>& layers,
                                WordFormat format = WordFormat::kFp32);

// The faults of the layers whose name holds a match of the regular expression (ECMAScript,
// searched as --emulate-tf32 is: "layer3" keeps layer3's layers, "^conv1$" conv1 alone).
std::vector<Layer> select_layers(const std::vector<Layer>& layers, const std::string& pattern);
std::vector<Fault> select_faults(const std::vector<Fault>& faults, const std::string& pattern);

// `count` faults spread evenly over `faults` (every k-th), for quick campaigns; 0 keeps all.
std::vector<Fault> spread_sample(const std::vector<Fault>& faults, std::size_t count);

// Shard K of N: every N-th fault starting at K (0-based), for `--shard K/N`.
struct Shard {
  std::size_t index = 0;  // K; Default: 0
  std::size_t count = 1;  // N; Default: 1 (the whole list)
};
std::vector<Fault> shard(const std::vector<Fault>& faults, const Shard& part);
// --shard K/N: 0 <= K < N (a usage Error naming the value otherwise), and its parser.
void check_shard(const Shard& part);
Shard parse_shard(const std::string& text);

// What the record `faultlist` writes beside a list (FILE.csv.json) says of the population it was
// drawn from.
struct ListRecord {
  std::string format = "fp32";     // the word format
  std::string target = "weights";  // weights | activations
  std::string bits;                // --bits as ranges ("23-30"); empty: every bit
  int burst = 1;
};
// The record beside `list` (FILE.csv.json), nullopt for a list without one (the seed's, a list
// of one's own).
std::optional<ListRecord> read_list_record(const std::filesystem::path& list);

}  // namespace dnnfi
