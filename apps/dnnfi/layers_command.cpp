#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

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
    const auto left_out = left_out_parameters(*model);
    if (*json) {
      fmt::print("{}", layers_json(model_layers(*model), left_out));
      return;
    }
    for (const auto& layer : model_layers(*model))
      fmt::print("{} {} {}\n", layer.name, format_shape(layer.shape), layer.numel());
    if (left_out.empty()) return;
    // Said beside the table (on stderr, so that the table stays one layer per line).
    std::int64_t values = 0;
    std::string names;
    for (const auto& p : left_out) {
      values += p.numel();
      names += (names.empty() ? "" : ", ") + p.name + " " + format_shape(p.shape);
    }
    fmt::print(stderr,
               "left out: {} float parameters ({} values) that are not conv, linear or attention weights; "
               "--params all faults them too: {}\n",
               left_out.size(), values, names);
  });
}

}  // namespace dnnfi::cli
