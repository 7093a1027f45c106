// `dnnfi faultlist`: the statistical fault list of a model, written atomically.
#include <fstream>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"

namespace dnnfi {

std::vector<Fault> write_statistical_list(const ModelOptions& model, const FaultListOptions& options) {
  const auto faults = generate_fault_list(model_layers(model), options.spec,
                                          options.fault_model.value_or(kDefaultFaultModel));
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
