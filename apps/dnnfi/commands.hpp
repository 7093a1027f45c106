#pragma once
// Each subcommand: setup_* registers it on the app; its callback runs the library call.
#include <CLI/CLI.hpp>

namespace dnnfi::cli {

void setup_eval(CLI::App& app);
void setup_layers(CLI::App& app);
void setup_models(CLI::App& app);
void setup_faultlist(CLI::App& app);
void setup_run(CLI::App& app);
void setup_report(CLI::App& app);
void setup_compare(CLI::App& app);
void setup_merge(CLI::App& app);
void setup_slurm(CLI::App& app);

}  // namespace dnnfi::cli
