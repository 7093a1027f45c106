#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "dnnfi/zoo.hpp"
#include "options.hpp"

namespace dnnfi::cli {

void setup_models(CLI::App& app) {
  auto weights_dir = std::make_shared<std::optional<std::filesystem::path>>();
  auto* cmd =
      app.add_subcommand("models", "the model zoo: datasets, sizes, seed accuracy, checkpoint status");
  cmd->add_option("--weights-dir", *weights_dir,
                  "directory holding checkpoint files (default: $DNNFI_WEIGHTS_DIR)");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print the zoo as one JSON object, for programs");
  cmd->callback([weights_dir, json] {
    if (*json) {
      fmt::print("{}", models_json(*weights_dir));
      return;
    }
    fmt::print("{:<12} {:<9} {:>7} {:>9} {:>12} {:>10} {:>9}  {}\n", "name", "dataset", "classes", "input",
               "weights", "faults", "seed top1", "checkpoint");
    for (const auto& row : zoo_status(*weights_dir)) {
      const auto& e = *row.entry;
      fmt::print("{:<12} {:<9} {:>7} {:>9} {:>12} {:>10} {:>8.1f}%  {}\n", e.name, e.dataset, e.classes,
                 format_shape(e.input), e.fault_weights,
                 (row.fault_list_exact ? "" : "~") + std::to_string(row.fault_list_size), e.seed_top1,
                 row.checkpoint + (row.checkpoint == "missing" || row.checkpoint == "present"
                                       ? " (" + e.weights_file + ")"
                                       : ""));
    }
    fmt::print(
        "faults: size of the default statistical list (seed 38); '~' until `dnnfi layers` has exported "
        "the model\n");
  });
}

}  // namespace dnnfi::cli
