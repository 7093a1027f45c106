#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "options.hpp"

namespace dnnfi::cli {

void setup_faultlist(CLI::App& app) {
  struct Options {
    ModelOptions model;
    FaultListOptions list;
    std::string fault_model;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("faultlist", "write the statistical fault list (Leveugle et al., DATE 2009)");
  add_model_options(*cmd, opts->model);
  cmd->add_option("--seed", opts->list.spec.seed, "random seed")->capture_default_str();
  cmd->add_option("-e,--error-margin", opts->list.spec.error_margin, "error margin e")->capture_default_str();
  cmd->add_option("-t,--t-value", opts->list.spec.t_value, "t for the confidence level (2.58: 99%)")
      ->capture_default_str();
  cmd->add_option("-p,--proportion", opts->list.spec.p, "estimated proportion p")->capture_default_str();
  cmd->add_option("--fault-model", opts->fault_model,
                  "write a fault_model column: " + one_of(fault_model_names()) + " (default: none, " +
                      std::string(to_string(kDefaultFaultModel)) + ")")
      ->check(CLI::IsMember(fault_model_names()));
  cmd->add_option("-o,--output", opts->list.output, "CSV file to write")->required();
  cmd->callback([opts] {
    if (!opts->fault_model.empty()) opts->list.fault_model = parse_fault_model(opts->fault_model);
    const auto faults = write_statistical_list(opts->model, opts->list);
    fmt::print("{}: {} faults for {}/{} (seed {}, e={}, t={}, p={})\n", opts->list.output.string(),
               faults.size(), opts->model.name, opts->model.dataset, opts->list.spec.seed,
               opts->list.spec.error_margin, opts->list.spec.t_value, opts->list.spec.p);
  });
}

}  // namespace dnnfi::cli
