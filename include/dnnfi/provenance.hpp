#pragma once
// What made a results file, kept beside it as RESULTS.csv.json (the CSV keeps the seed's
// columns as they are). Resume and merge compare it field by field: everything that can change
// a count must agree; the engine, thread count and dnnfi version may differ, since results are
// identical across them.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/fault_list.hpp"

namespace dnnfi {

inline constexpr int kProvenanceVersion = 1;

// This dnnfi's version ("0.1.0").
std::string dnnfi_version();

struct Provenance {
  std::string dnnfi_version;
  std::string model;              // "resnet20/cifar10" (zoo) or the TorchScript file
  std::string model_sha256;       // of the published checkpoint (zoo) or of the TorchScript file
  std::string params;             // which parameters faults may hit: weight | all
  std::string dataset;            // "cifar10 (zoo)" or the --data spec
  std::string dataset_sha256;     // of the test-set file or folder read; empty for a replay
  std::string normalization;      // mean/std applied
  std::int64_t images = 0;        // per fault
  std::string fault_list;         // the -f file, or "statistical, seed 38"
  std::string fault_list_sha256;  // of the campaign's whole list, its rows in a canonical form
  std::string fault_model;        // of the list's first fault ("mixed" when they differ)
  std::string layers;             // --layers; empty: all
  std::size_t sample = 0;         // --sample; 0: all
  std::string iterative;          // --margin and its settings; empty: the whole list
  std::string non_finite_rule;    // argmax | critical
  std::int64_t batch_size = 0;
  std::string device;    // cpu, cuda:0
  std::string numerics;  // fp32, tf32 (cudnn), and the layers where TF32 is emulated (numerics.hpp)
  std::string layout;    // nchw | nhwc (a file of a dnnfi without --layout: nhwc, all it ran)
  std::string replay;    // the file counts were replayed from; empty: inference
  std::string engine;    // may differ between parts of one campaign
  int threads = 0;       // may differ
  Shard shard;           // which part of the campaign this file holds
  // The campaign's faults in order, before sharding, as Injection ranges ("0-16626" or
  // "0,405,811"); shard K holds every N-th of them from K.
  std::string injections;
  // Rows taken over from a file without provenance (--adopt), and how many; empty: none. Kept by
  // every later resume and merge, so the adoption stays on record.
  std::string adopted;
  // --per-image: the name of the per-image outcomes file beside the results (per_image.hpp);
  // empty: none. Not part of the campaign's identity, but a resume must keep it.
  std::string per_image;
  // What the faults hit: the word format and the target (weights | activations), and the bits the
  // list was drawn from ("0-31", or --bits of the faultlist that wrote it) with its burst: the
  // population a report and an iterative campaign count. Files of an older dnnfi read fp32,
  // weights, every bit.
  std::string format = "fp32";
  std::string target = "weights";
  std::string bits;  // empty: every bit of the word
  int burst = 1;
  // A stratified iterative campaign's design, for reports: what it is, its strata with their
  // populations ("key=N;key=N"), and the stratum of every fault drawn ("injection:h,...", h the
  // place of its stratum). Written before each round runs; not part of the campaign's identity
  // (its settings are in `iterative`).
  std::string design, design_strata, design_members;
};

// The Injection numbers of `faults` as ranges, and back.
std::string format_injection_ranges(const std::vector<Fault>& faults);
std::vector<std::int64_t> parse_injection_ranges(const std::string& text, const std::string& where);
// The sha256 of a fault list's sites and fault models, in its order (independent of how the file
// spells its cells).
std::string fault_list_sha256(const std::vector<Fault>& faults);

// Where the provenance of a results file lives: RESULTS.csv.json.
std::filesystem::path provenance_path(const std::filesystem::path& results);
// Writes it atomically (temporary file, rename).
void write_provenance(const std::filesystem::path& results, const Provenance& provenance);
// Reads it; nullopt when the results file has none (made by an older dnnfi, or a published
// list). InputError naming the file when it is malformed or of a newer version.
std::optional<Provenance> read_provenance(const std::filesystem::path& results);

// What makes `theirs` (from a file) another campaign than `ours`: "field: ours vs theirs" for
// every field that can change a count. With `same_part`, the shard and its faults must agree too
// (resume); without, only the campaign must (merge).
std::vector<std::string> provenance_differences(const Provenance& ours, const Provenance& theirs,
                                                bool same_part);

}  // namespace dnnfi
