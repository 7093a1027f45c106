// The `dnnfi run` command line of a request (scale_out.hpp, run_arguments): what a part runs.
// Each field of the request is written as the option that sets it (apps/dnnfi/run_options.cpp
// reads them), when it differs from its default; a new field of the request is a new line here,
// and tests/cli/scale_out.sh checks that parts give the single-process file and provenance.
#include <fmt/format.h>

#include "dnnfi/scale_out.hpp"
#include "dnnfi/settings.hpp"

namespace dnnfi {
namespace {

std::string join_floats(const std::vector<float>& values) {
  std::string out;
  for (auto v : values)
    out += (out.empty() ? "" : ",") + fmt::format("{}", v);  // the shortest that reads back
  return out;
}

}  // namespace

std::vector<std::string> run_arguments(const CampaignRequest& request) {
  std::vector<std::string> a;
  // --option=value: a value that begins with '-' (--mean=-0.5,...) stays a value.
  const auto add = [&](const std::string& option, const std::string& value) {
    a.push_back(option + "=" + value);
  };
  const auto& m = request.model;
  const ModelOptions model_defaults;
  if (m.model_file) {
    add("--model", m.model_file->string());
  } else {
    add("--name", m.name);
    add("--dataset", m.dataset);
  }
  if (m.data) add("--data", m.data->string());
  if (!m.normalization.mean.empty()) add("--mean", join_floats(m.normalization.mean));
  if (!m.normalization.std.empty()) add("--std", join_floats(m.normalization.std));
  if (m.size.size() == 2) add("--size", fmt::format("{}x{}", m.size[0], m.size[1]));
  if (m.params != model_defaults.params)
    add("--params", std::string(name_of(kParamSelectionNames, m.params)));
  if (m.weights_dir) add("--weights-dir", m.weights_dir->string());
  if (m.data_dir) add("--data-dir", m.data_dir->string());

  const auto& i = request.inference;
  const InferenceOptions inference_defaults;
  if (i.batch_size != inference_defaults.batch_size) add("--batch-size", std::to_string(i.batch_size));
  if (i.use_cuda) a.push_back("--use-cuda");
  if (i.images) add("--images", std::to_string(*i.images));
  if (i.numerics.tf32) add("--tf32", "on");
  if (!i.numerics.emulate_tf32.empty()) add("--emulate-tf32", i.numerics.emulate_tf32);
  if (i.layout != inference_defaults.layout) add("--layout", std::string(name_of(kLayoutNames, i.layout)));
  if (i.format != inference_defaults.format) add("--format", std::string(to_string(i.format)));

  const auto& c = request.campaign;
  const CampaignOptions campaign_defaults;
  if (c.faults) add("--faults", c.faults->string());
  if (c.layers) add("--layers", *c.layers);
  if (c.fault_model) add("--fault-model", std::string(to_string(*c.fault_model)));
  if (c.target != campaign_defaults.target) add("--target", std::string(to_string(c.target)));
  if (c.sample > 0) add("--sample", std::to_string(c.sample));
  if (c.engine != campaign_defaults.engine) add("--engine", std::string(to_string(c.engine)));
  if (c.stack > 0) add("--stack", std::to_string(c.stack));
  if (c.memory_limit) add("--memory-limit", format_memory_size(*c.memory_limit));
  if (c.non_finite != campaign_defaults.non_finite) add("--non-finite", std::string(to_string(c.non_finite)));
  if (const auto& it = c.iterative) {
    const IterativeOptions iterative_defaults;
    add("--margin", fmt::format("{}", it->margin));
    if (it->confidence != iterative_defaults.confidence)
      add("--confidence", fmt::format("{}", it->confidence));
    if (it->estimand != iterative_defaults.estimand)
      add("--estimand", std::string(name_of(kEstimandNames, it->estimand)));
    if (it->strata) add("--strata", std::string(name_of(kStrataNames, *it->strata)));
    if (it->allocation != iterative_defaults.allocation)
      add("--allocation", std::string(name_of(kAllocationNames, it->allocation)));
    if (it->pilot != iterative_defaults.pilot) add("--pilot", std::to_string(it->pilot));
    if (it->per_layer) a.push_back("--per-layer");
    if (it->seed != iterative_defaults.seed) add("--seed", std::to_string(it->seed));
    if (it->round != iterative_defaults.round) add("--round", std::to_string(it->round));
  }
  if (c.replay) add("--replay", c.replay->string());
  if (c.adopt) a.push_back("--adopt");
  if (c.overwrite) a.push_back("--overwrite");
  if (c.per_image) a.push_back("--per-image");
  return a;
}

}  // namespace dnnfi
