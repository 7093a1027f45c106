#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "options.hpp"

namespace dnnfi::cli {

void setup_eval(CLI::App& app) {
  struct Options {
    ModelOptions model;
    InferenceOptions inference;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("eval", "top-1 accuracy of the clean model on its test set");
  add_model_options(*cmd, opts->model);
  add_inference_options(*cmd, opts->inference);
  cmd->add_flag("--json", opts->json, "print the accuracy as one JSON object, for programs");
  cmd->callback([opts] {
    const auto r = evaluate(opts->model, opts->inference);
    const auto model = opts->model.model_file ? opts->model.model_file->string()
                                              : opts->model.name + "/" + opts->model.dataset;
    if (opts->json) {
      fmt::print("{}", eval_json(r, model));
      return;
    }
    fmt::print("{}: {} images in {:.1f} s\n", model, r.total, r.seconds);
    fmt::print("top1 accuracy: {:.2f}% ({}/{})\n", r.total ? 100.0 * r.correct / r.total : 0.0, r.correct,
               r.total);
  });
}

}  // namespace dnnfi::cli
