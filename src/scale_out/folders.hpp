#pragma once
// What the scale-out backends share: the folders they keep parts and scripts in.
#include <filesystem>

#include "dnnfi/errors.hpp"

namespace dnnfi {

// Creates a folder of a campaign's parts or scripts; a ResourceError naming it (exit 4) when it
// cannot be made.
inline void make_folder(const std::filesystem::path& folder, const char* what) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec)
    throw ResourceError(folder.string() + ": the folder for " + what + " cannot be made (" + ec.message() +
                        ")");
}

}  // namespace dnnfi
