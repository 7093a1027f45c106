#include "workload.hpp"

namespace dnnfi {

Workload resolve_workload(const ModelOptions& options) {
  const auto& entry = find_model(options.name, options.dataset);
  return Workload{resolve_locations(options.weights_dir, options.data_dir),
                  ModelSource::zoo(entry.name, entry.dataset), entry.name + "/" + entry.dataset, &entry};
}

}  // namespace dnnfi
