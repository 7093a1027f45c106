#pragma once
// A planned campaign executed (as ninja's Builder over its CommandRunner): one loop over the
// sampler's rounds, each fault taken from the results file when it is there and run on the
// engine when it is not, every row appended and observed as it finishes, stopped by the controls.
#include "dnnfi/campaign.hpp"
#include "dnnfi/engine.hpp"
#include "plan.hpp"
#include "sampler.hpp"
#include "store.hpp"

namespace dnnfi {

// Runs the rounds of `sampler` on `engine` into `store` (checked against `plan`; its provenance
// `provenance` is written before the first row). Stops after the current fault when
// `controls.stop` is set; the summary then says the campaign is not complete.
CampaignSummary execute(const CampaignPlan& plan, const Provenance& provenance, Engine& engine,
                        ResultsStore& store, Sampler& sampler, const CampaignControls& controls);

}  // namespace dnnfi
