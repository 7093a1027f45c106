#pragma once
// From per-fault counts to findings: how vulnerable the model, each layer and each bit are, how
// sure the sample makes us, and how two campaigns over the same faults agree.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/per_image.hpp"
#include "dnnfi/results.hpp"
#include "dnnfi/statistics.hpp"
#include "dnnfi/word_format.hpp"

namespace dnnfi {

struct Comparison;

// What a group of faults (the whole campaign, one layer, one bit) shows.
struct GroupStats {
  std::string name;                  // layer name, bit number or field
  std::int64_t faults = 0;           // rows
  std::int64_t critical_faults = 0;  // rows with at least one critical image
  double critical_fault_rate = 0;    // critical_faults / faults
  Interval ci99;                     // Wilson interval of that rate, 99%
  double mean_sdc1 = 0;              // mean over the faults of critical / n_injections
  Interval sdc1_ci99;                // its 99% interval: Wilson at the effective sample size
  double masked_share = 0;           // masked images / images
  // Images with NaN/Inf logits / images; unknown when a row does not record them.
  std::optional<double> non_finite_share = 0;
};

// The field of a bit of a word format (fp32: 31 sign, 23-30 exponent, 0-22 mantissa).
std::string_view bit_field(int bit, WordFormat format = WordFormat::kFp32);

// A stratified campaign's design (run --margin with strata), as its provenance records it: the
// strata with their populations N_h and the stratum of every fault drawn. Its faults were drawn
// with unequal chances, so its rates are weighted by N_h / n_h, never taken from the sample as is.
struct Design {
  std::string description;          // "stage-delta strata (...), neyman allocation, ..."
  std::vector<std::string> strata;  // in the design's order
  std::vector<double> populations;  // N_h
  std::unordered_map<std::int64_t, std::size_t> stratum_of;  // Injection -> stratum
};
// The design from the provenance's fields design, design_strata ("key=N;...") and design_members
// ("injection:h,..."); an InputError naming `source` where they do not parse or disagree.
Design parse_design(const std::string& description, const std::string& strata, const std::string& members,
                    const std::string& source);

// One stratum of a design: what was drawn from it and its own rates.
struct DesignStratum {
  std::string name;
  double population = 0;  // N_h
  std::int64_t drawn = 0, critical_faults = 0;
  double critical_fault_rate = 0;  // of the faults drawn
  Interval ci99;                   // Wilson, finite-population corrected by N_h
  double mean_sdc1 = 0;
  bool exact = false;  // faults that leave their word unchanged: masked, nothing drawn
};
// A design-weighted rate of a group that is not a stratum (a layer, a bit): the estimate of the
// population's rate in it (sum of N_h / n_h over its faults drawn), with both rates' 99%
// intervals as a domain of the stratified sample (domain_mean).
struct WeightedGroup {
  std::string name;
  std::int64_t drawn = 0;
  double population = 0;  // its estimated share of the population's faults, in faults
  double critical_fault_rate = 0, mean_sdc1 = 0;
  Interval faults_ci99, sdc1_ci99;
};
struct DesignFindings {
  std::string description;
  double population = 0;              // N: the list's faults, else the model's fault population
  StratifiedMean faults, inferences;  // both rates at 99%: Wilson at the effective sample size
  double design_effect = 0;           // its per-fault variance / a simple random sample's of as many
  double simple_random_needs = 0;     // faults a simple random sample needs for the same half-width
  std::vector<DesignStratum> strata;  // the design's order
  std::vector<WeightedGroup> layers, bits;
};

// What a campaign's per-image outcomes (run --per-image) show: the classes its critical images
// came from and went to, over the faults run (not weighted by a stratified design).
struct PerImageFindings {
  std::string source;  // the per-image file
  std::int64_t faults = 0, images = 0, classes = 0, critical = 0;
  std::vector<std::int64_t> class_images;            // [golden class]: test images of that golden class
  std::vector<std::int64_t> class_critical;          // [golden class]: critical images, summed over faults
  std::vector<double> class_rate;                    // class_critical / (faults x class_images)
  std::vector<std::vector<std::int64_t>> confusion;  // [golden][faulty]: critical images
  struct Image {
    std::int64_t image = 0, label = 0, golden = 0;
    std::int64_t faults = 0;  // that made it critical
  };
  std::vector<Image> most_vulnerable;  // most faults first, then by image; at most 10
};

// The findings of `file`, the per-image outcomes of a results file of `faults` rows (checked
// against them before: check_per_image).
PerImageFindings per_image_findings(const PerImageFile& file, std::int64_t faults, const std::string& source);

struct Report {
  std::string source;                            // the results file
  std::int64_t images = 0;                       // n_injections of the rows (0 when they differ)
  std::vector<std::string> fault_models, rules;  // those the rows carry
  GroupStats overall;
  WordFormat format = WordFormat::kFp32;
  FaultTarget target = FaultTarget::kWeights;
  double population = 0;  // the model's fault population N (population()); 0: unknown
  double margin = 0;      // achieved_margin(faults, population)
  // With the model's layers: the estimate stratified by layer (weights as strata weights), as an
  // iterative campaign (--margin) measures it; its half-width is the margin that campaign met.
  std::optional<StratifiedEstimate> stratified;
  std::vector<GroupStats> layers;                     // network order (the model's, else first appearance)
  std::vector<GroupStats> bits;                       // 0..word bits - 1, those present
  std::vector<GroupStats> fields;                     // the format's fields, most significant first
  std::vector<std::vector<GroupStats>> layer_fields;  // [layer][field]: each layer's faults per field
  std::vector<double> critical_sdc1;                  // SDC-1 rate of every critical fault
  std::vector<ResultRow> most_critical;               // highest SDC-1 rates first
  // A stratified campaign: its rates as the design weighs them. The rates above are then those of
  // the faults drawn, which over-represent the strata the design drew more of.
  std::optional<DesignFindings> design;
  std::optional<PerImageFindings> per_image;  // a campaign run with --per-image
};

// The report as JSON (every number above; `layers` and `bits` lists of objects with `layer` /
// `bit`, `faults`, `critical_faults`, `critical_fault_rate`, `ci99`; a comparison with a
// reference campaign under `reference`), and as terminal tables that fit 100 columns.
std::string report_json(const Report& report, const Comparison* reference = nullptr);
std::string report_text(const Report& report);

struct ReportOptions {
  // The model's fault targets (network order, elements for the population); empty: unknown.
  std::vector<Layer> layers;
  std::size_t most_critical = 10;  // rows in the most-critical table; Default: 10
  // What the faults hit and which bits the list drew from: the per-bit fields and the population.
  WordFormat format = WordFormat::kFp32;       // Default: fp32
  FaultTarget target = FaultTarget::kWeights;  // Default: weights
  BitMask bits = BitMask(0xFFFFFFFFu);         // Default: every bit of the word
  int burst = 1;                               // Default: 1
  std::optional<Design> design;                // a stratified campaign's (its provenance)
};

// The report of `rows` read from `source`; an empty list is an InputError.
Report make_report(const std::vector<ResultRow>& rows, const std::string& source,
                   const ReportOptions& options);

// Two campaigns over the same faults, matched by (Layer, TensorIndex, Bit).
struct FaultDifference {
  ResultRow a, b;
  std::int64_t critical_diff = 0;  // |a.critical - b.critical|
};

struct Comparison {
  std::string a_source, b_source;
  std::int64_t a_faults = 0, b_faults = 0;
  std::int64_t common = 0;             // matched faults with the same n_injections
  std::int64_t other_images = 0;       // matched faults whose n_injections differ (not compared)
  std::int64_t other_fault_model = 0;  // matched faults whose fault models differ (not compared)
  std::int64_t max_critical_diff = 0;  // the K allowed
  std::int64_t critical_exact = 0, critical_within_1 = 0, critical_within_k = 0;
  std::int64_t masked_exact = 0, non_critical_exact = 0;
  std::int64_t largest_critical_diff = 0;
  double a_critical_fault_rate = 0, b_critical_fault_rate = 0;  // over the common faults
  std::vector<FaultDifference> largest;                         // largest critical differences first
  bool within_limit() const { return common > 0 && largest_critical_diff <= max_critical_diff; }
};

Comparison compare_results(const std::vector<ResultRow>& a, const std::string& a_source,
                           const std::vector<ResultRow>& b, const std::string& b_source,
                           std::int64_t max_critical_diff, std::size_t largest = 10);
std::string comparison_json(const Comparison& comparison);
std::string comparison_text(const Comparison& comparison);

}  // namespace dnnfi
