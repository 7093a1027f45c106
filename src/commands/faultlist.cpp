// `dnnfi faultlist`: the statistical fault list of a model (or a Keras list mapped onto it),
// written atomically with a sidecar that says dnnfi made it and how.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "commands/workload.hpp"
#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/provenance.hpp"
#include "platform/files.hpp"
#include "platform/flat_json.hpp"
#include "platform/json.hpp"
#include "results/outputs.hpp"
#include "text.hpp"

namespace dnnfi {
namespace {

// FILE.csv.json: what made the list. Its "kind" marks the list as one faultlist may replace.
std::string list_sidecar(const ModelOptions& model, const FaultListOptions& options, std::size_t faults) {
  json::Writer out;
  out.begin_object();
  out.key("kind").string("dnnfi fault list");
  out.key("dnnfi_version").string(dnnfi_version());
  out.key("model").string(model.model_file ? model.model_file->string() : model.name + "/" + model.dataset);
  out.key("faults").number(faults);
  if (options.from_keras) {
    out.key("from_keras").string(options.from_keras->string());
  } else {
    const auto& spec = options.spec;
    out.key("seed").number(spec.seed);
    out.key("error_margin")
        .number(spec.error_margin)
        .key("t_value")
        .number(spec.t_value)
        .key("p")
        .number(spec.p);
    out.key("bits")
        .string(format_bit_ranges(BitMask(spec.bits.word() & all_bits(spec.format).word())))
        .key("burst")
        .number(spec.burst);
    if (spec.per_layer) out.key("per_layer").number(*spec.per_layer);
    out.key("all_bits").string(spec.all_bits ? "yes" : "no");
  }
  out.key("format").string(to_string(options.spec.format));
  out.key("target").string(to_string(options.target));
  out.key("layers").string(options.layers.value_or(""));
  out.key("fault_model").string(options.fault_model ? to_string(*options.fault_model) : "");
  out.end_object();
  return out.str() + "\n";
}

}  // namespace

std::vector<Fault> write_statistical_list(const ModelOptions& model, const FaultListOptions& options) {
  std::vector<std::filesystem::path> inputs;
  for (const auto& input : {options.from_keras, model.model_file, model.data})
    if (input) inputs.push_back(*input);
  check_output(options.output, OutputKind::kFaultList, inputs, "-o");
  if (options.spec.per_layer && *options.spec.per_layer == 0)
    throw Error(ExitCode::kUsage, "--per-layer must be at least 1, got 0 (a list of no faults)");
  auto layers = fault_targets(resolve_workload(model), FaultSpace{options.spec.format, options.target});
  std::vector<Fault> faults;
  if (options.from_keras) {
    faults = read_keras_fault_list(*options.from_keras, layers, options.spec.format).faults;
    if (options.layers) faults = select_faults(faults, *options.layers);
    for (auto& f : faults) f.model = options.fault_model.value_or(kDefaultFaultModel);
  } else {
    if (options.layers) layers = select_layers(layers, *options.layers);
    faults = generate_fault_list(layers, options.spec, options.fault_model.value_or(kDefaultFaultModel));
  }
  if (faults.empty())
    throw InputError(options.from_keras
                         ? options.from_keras->string() + ": no faults to map (--layers keeps none?)"
                         : std::string("the options give a list of no faults"));
  std::ostringstream list;
  write_fault_list(list, faults, options.fault_model.has_value());
  auto sidecar = options.output;
  sidecar += ".json";
  replace_file(sidecar, list_sidecar(model, options, faults.size()));
  replace_file(options.output, list.str());
  return faults;
}

}  // namespace dnnfi
