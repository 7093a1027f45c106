#include <fmt/format.h>

#include <memory>

#include "commands.hpp"
#include "dnnfi/errors.hpp"
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
  cmd->add_option_function<std::string>(
      "--seed", [opts](const std::string& v) { opts->list.spec.seed = parse_count("--seed", v); },
      "random seed (default: 38)");
  cmd->add_option("-e,--error-margin", opts->list.spec.error_margin, "error margin e")->capture_default_str();
  cmd->add_option("-t,--t-value", opts->list.spec.t_value, "t for the confidence level (2.58: 99%)")
      ->capture_default_str();
  cmd->add_option("-p,--proportion", opts->list.spec.p, "estimated proportion p")->capture_default_str();
  cmd->add_option("--fault-model", opts->fault_model,
                  "write a fault_model column: " + one_of(fault_model_names()) + " (default: none, " +
                      std::string(to_string(kDefaultFaultModel)) + ")")
      ->check(CLI::IsMember(fault_model_names()));
  auto* bits = cmd->add_option_function<std::string>(
      "--bits", [opts](const std::string& v) { opts->list.spec.bits = parse_bits_option(v); },
      "bits faults are drawn from, e.g. 23-30 (the exponent) or 0-22,31; default: all 32");
  cmd->add_option_function<std::string>(
      "--burst",
      [opts](const std::string& v) {
        opts->list.spec.burst = static_cast<int>(parse_count("--burst", v, 1, 32));
      },
      "K adjacent bits per fault, upward from the drawn bit (default: 1)");
  cmd->add_option_function<std::string>(
      "--per-layer",
      [opts](const std::string& v) { opts->list.spec.per_layer = parse_count("--per-layer", v, 1); },
      "N faults in every layer instead of the proportional split");
  cmd->add_flag(
      "--all-bits", opts->list.spec.all_bits,
      "every drawable bit of each drawn weight (the count then buys whole weights), for per-bit studies");
  cmd->add_option_function<std::string>(
      "--layers", [opts](const std::string& v) { opts->list.layers = v; },
      "only the layers whose name holds a match of this regular expression (searched: 'layer3', '^conv1$')");
  cmd->add_option_function<std::string>(
      "--from-keras", [opts](const std::string& v) { opts->list.from_keras = v; },
      "map this Keras fault list of the seed (conv2d_N, dense_N; HWIO indices) onto the model instead of "
      "sampling");
  add_format_option(*cmd, opts->list.spec.format);
  add_target_option(*cmd, opts->list.target);
  cmd->add_option("-o,--output", opts->list.output, "CSV file to write")->required();
  cmd->callback([opts, bits] {
    const auto& spec = opts->list.spec;
    if (bits->count() > 0 && (spec.bits.word() & ~all_bits(spec.format).word()))
      throw Error(ExitCode::kUsage,
                  fmt::format("--bits {}: {} words have bits 0-{}", format_bit_ranges(spec.bits),
                              to_string(spec.format), word_bits(spec.format) - 1));
    if (!opts->fault_model.empty()) opts->list.fault_model = parse_fault_model(opts->fault_model);
    const auto faults = write_statistical_list(opts->model, opts->list);
    const auto model = opts->model.model_file ? opts->model.model_file->string()
                                              : opts->model.name + "/" + opts->model.dataset;
    if (opts->list.from_keras)
      fmt::print("{}: {} faults for {}, mapped from {}\n", opts->list.output.string(), faults.size(), model,
                 opts->list.from_keras->string());
    else
      fmt::print("{}: {} faults for {} (seed {}, e={}, t={}, p={})\n", opts->list.output.string(),
                 faults.size(), model, opts->list.spec.seed, opts->list.spec.error_margin,
                 opts->list.spec.t_value, opts->list.spec.p);
  });
}

}  // namespace dnnfi::cli
