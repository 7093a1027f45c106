// `dnnfi models`: what the zoo holds and, per entry, what is already here.
#include <cmath>

#include "dnnfi/errors.hpp"
#include "dnnfi/fault_list.hpp"
#include "dnnfi/zoo.hpp"
#include "exports.hpp"

namespace dnnfi {

std::vector<ZooStatus> zoo_status(const std::optional<std::filesystem::path>& weights_dir) {
  const auto where = resolve_locations(weights_dir, std::nullopt);
  std::vector<ZooStatus> rows;
  for (const auto& entry : zoo()) {
    ZooStatus row;
    row.entry = &entry;
    const auto meta_path = zoo_export_stem(entry, where).concat(".meta");
    std::optional<ModelInfo> meta;
    try {
      if (std::filesystem::exists(meta_path)) meta = read_model_info(meta_path);
    } catch (const InputError&) {
      // an outdated export: fall back to the formula
    }
    if (meta) {
      row.fault_list_size = static_cast<std::int64_t>(generate_fault_list(meta->layers, SampleSpec{}).size());
      row.fault_list_exact = true;
    } else {
      row.fault_list_size =
          std::llround(statistical_sample_size(static_cast<double>(entry.fault_weights) * 64, SampleSpec{}));
    }
    if (entry.weights_file.empty()) {
      row.checkpoint = "not published";
    } else if (meta && meta->checkpoint == entry.weights_file) {
      row.checkpoint = "verified";  // the exporter checked its sha256 before exporting
    } else {
      row.checkpoint = "missing";
      for (const auto& dir : {where.weights_dir.value_or(""), where.home / "weights"}) {
        const auto file = dir / entry.weights_file;
        if (!dir.empty() && std::filesystem::exists(file) &&
            (entry.size < 0 || static_cast<std::int64_t>(std::filesystem::file_size(file)) == entry.size))
          row.checkpoint = "present";
      }
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace dnnfi
