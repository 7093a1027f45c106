// `dnnfi faultlist`: the statistical fault list of a model (or a Keras list mapped onto it),
// written atomically.
#include <fstream>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"

namespace dnnfi {

std::vector<Fault> write_statistical_list(const ModelOptions& model, const FaultListOptions& options) {
  auto layers = model_layers(model);
  std::vector<Fault> faults;
  if (options.from_keras) {
    faults = read_keras_fault_list(*options.from_keras, layers).faults;
    if (options.layers) faults = select_faults(faults, *options.layers);
    for (auto& f : faults) f.model = options.fault_model.value_or(kDefaultFaultModel);
  } else {
    if (options.layers) layers = select_layers(layers, *options.layers);
    faults = generate_fault_list(layers, options.spec, options.fault_model.value_or(kDefaultFaultModel));
  }
  const auto tmp = std::filesystem::path(options.output).concat(".part");
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw ResourceError(options.output.string() + ": cannot write the fault list");
    write_fault_list(out, faults, options.fault_model.has_value());
    if (!out.flush()) throw ResourceError(options.output.string() + ": write failed");
  }
  std::filesystem::rename(tmp, options.output);
  return faults;
}

}  // namespace dnnfi
