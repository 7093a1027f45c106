#include "dnnfi/locations.hpp"

#include <cstdlib>

#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {
std::optional<std::filesystem::path> env_path(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::filesystem::path(value);
}
}  // namespace

Locations resolve_locations(const std::optional<std::filesystem::path>& weights_dir,
                            const std::optional<std::filesystem::path>& data_dir) {
  Locations where;
  if (auto home = env_path("DNNFI_HOME")) {
    where.home = *home;
  } else if (auto user = env_path("HOME")) {
    where.home = *user / ".cache" / "dnnfi";
  } else {
    throw ResourceError("neither DNNFI_HOME nor HOME is set; set DNNFI_HOME to a writable directory");
  }
  where.weights_dir = weights_dir ? weights_dir : env_path("DNNFI_WEIGHTS_DIR");
  where.data_dir = data_dir ? data_dir : env_path("DNNFI_DATA_DIR");
  return where;
}

}  // namespace dnnfi
