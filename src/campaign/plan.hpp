#pragma once
// A campaign planned once, purely (as ninja's Plan, leveldb's PickCompaction): from the request and
// what was found about its inputs to everything its execution needs: the faults, the provenance,
// the engine's options and the sampler's. Every check of the request is made here, so a refused
// campaign is refused before a model is loaded or a file written.
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/campaign.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/provenance.hpp"
#include "strata.hpp"

namespace dnnfi {

// What was found about a campaign's inputs (read, hashed, measured) before it is planned.
struct CampaignInputs {
  std::string model_label;     // "resnet20/cifar10" or the TorchScript file
  std::vector<Layer> targets;  // what faults may hit, in network order (fault_targets)
  // -f as read against the targets (nullopt: the statistical list for seed 38), and the record
  // `faultlist` wrote beside it.
  std::optional<std::vector<Fault>> list;
  std::optional<ListRecord> record;
  // --replay: its rows, and its provenance (nullopt: a file without one, as the published lists).
  std::vector<ResultRow> replay_rows;
  std::optional<Provenance> replay_provenance;
  // For inference (left empty for a replay): the test set and the model as read.
  std::int64_t images = 0;
  std::string model_sha256, dataset, dataset_sha256, normalization;
  std::string device = "cpu";  // as LibTorch names it ("cuda:0"); "cuda" for a replay on --use-cuda
  std::string numerics;        // as the device reports them (describe())
  int threads = 0;             // LibTorch's
};

// The faults of a campaign: its whole list (after --layers), the sequence it runs them in (after
// --sample) and this part's share of them (after --shard; the whole list for an iterative one).
struct CampaignFaults {
  std::vector<Fault> list, sequence, faults;
};

struct CampaignPlan {
  CampaignFaults faults;
  Provenance provenance;  // as written beside the results; threads and engine are set as they run
  std::int64_t images = 0;
  NonFiniteRule rule = kDefaultNonFiniteRule;
  EngineKind engine = EngineKind::kStaged;
  EngineOptions engine_options;               // the stop flag is the execution's
  std::optional<IterativeOptions> iterative;  // with its strata and the list's population
  // A stratified campaign without a list draws from the model's whole fault population.
  std::optional<PopulationSpec> population;
  bool replay = false;
};

// The checks that need no input, made before anything is read: shard, memory limit, --margin
// and --confidence ranges, --margin with --sample or --shard. A usage Error (exit 2).
void check_request(const CampaignRequest& request);

// True for a stratified iterative campaign without -f (nor --replay, which draws from the
// statistical list as before): it draws from the model's whole fault
// population, its faults known only as it goes.
bool draws_from_population(const CampaignRequest& request);

// Pure: the faults of the campaign (none in advance for one that draws from the population); an InputError
// for a list without faults, a usage Error for
// --layers that keep none or a shard with none.
CampaignFaults plan_faults(const CampaignRequest& request, const std::vector<Layer>& targets,
                           const std::optional<std::vector<Fault>>& list);

// Pure: the plan, or the first usage Error (exit 2) or InputError (exit 3) the request and its
// inputs give (check_request's, the list's record against --format and --target, plan_faults',
// replayed rows of other image counts, rules, formats or targets).
CampaignPlan plan_campaign(const CampaignRequest& request, const CampaignInputs& inputs);

}  // namespace dnnfi
