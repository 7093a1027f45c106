#pragma once
// Options shared by several subcommands.
#include <CLI/CLI.hpp>

#include "dnnfi/commands.hpp"

namespace dnnfi::cli {

void add_model_options(CLI::App& app, ModelOptions& model);
void add_inference_options(CLI::App& app, InferenceOptions& inference);

}  // namespace dnnfi::cli
