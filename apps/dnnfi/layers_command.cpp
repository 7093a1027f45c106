#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "options.hpp"

namespace dnnfi::cli {

void setup_layers(CLI::App& app) {
  auto model = std::make_shared<ModelOptions>();
  auto* cmd = app.add_subcommand("layers", "injectable layers: name, weight shape, number of weights");
  add_model_options(*cmd, *model);
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print the layers as one JSON object, for programs");
  cmd->callback([model, json] {
    if (*json) {
      fmt::print("{}", layers_json(model_layers(*model)));
      return;
    }
    for (const auto& layer : model_layers(*model))
      fmt::print("{} {} {}\n", layer.name, format_shape(layer.shape), layer.numel());
  });
}

}  // namespace dnnfi::cli
