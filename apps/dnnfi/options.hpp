#pragma once
// Options shared by several subcommands.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "dnnfi/commands.hpp"

namespace dnnfi::cli {

void add_model_options(CLI::App& app, ModelOptions& model);
void add_inference_options(CLI::App& app, InferenceOptions& inference);
void add_format_option(CLI::App& app, WordFormat& format);
void add_target_option(CLI::App& app, FaultTarget& target);

// "a, b or c", for help texts drawn from the library's name tables.
inline std::string one_of(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return text;
}

}  // namespace dnnfi::cli
