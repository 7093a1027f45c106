#pragma once
// Where dnnfi looks for and keeps its files; options win over the environment.
#include <filesystem>
#include <optional>

namespace dnnfi {

struct Locations {
  std::filesystem::path home;                        // DNNFI_HOME; Default: ~/.cache/dnnfi
  std::optional<std::filesystem::path> weights_dir;  // --weights-dir / DNNFI_WEIGHTS_DIR
  std::optional<std::filesystem::path> data_dir;     // --data-dir / DNNFI_DATA_DIR
};
Locations resolve_locations(const std::optional<std::filesystem::path>& weights_dir,
                            const std::optional<std::filesystem::path>& data_dir);

}  // namespace dnnfi
