#pragma once
#include <filesystem>

#include "dnnfi/zoo.hpp"

namespace dnnfi {

// DNNFI_HOME/models/NAME-DATASET: the stem of a zoo model's export (.pt) and model info (.meta).
std::filesystem::path zoo_export_stem(const ZooEntry& entry, const Locations& where);

}  // namespace dnnfi
