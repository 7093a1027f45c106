// dnnfi: fault-injection campaigns on the weights of the seed model zoo.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "allocator.hpp"
#include "commands.hpp"
#include "dnnfi/errors.hpp"

int main(int argc, char** argv) {
  dnnfi::cli::keep_freed_memory();
  auto logger = spdlog::stderr_color_mt("dnnfi");
  logger->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"dnnfi: fast fault-injection campaigns for the DNN reliability model zoo"};
  app.require_subcommand(1);
  app.add_flag_callback(
      "-v,--verbose", [] { spdlog::set_level(spdlog::level::debug); }, "debug logging");
  dnnfi::cli::setup_eval(app);
  dnnfi::cli::setup_layers(app);
  dnnfi::cli::setup_models(app);
  dnnfi::cli::setup_faultlist(app);
  dnnfi::cli::setup_run(app);
  dnnfi::cli::setup_report(app);
  dnnfi::cli::setup_compare(app);
  dnnfi::cli::setup_merge(app);
  dnnfi::cli::setup_slurm(app);

  // A word where the command belongs that names none: say so, rather than "a subcommand is required".
  std::string commands;
  bool known = false;
  for (const auto* command : app.get_subcommands({})) {
    commands += (commands.empty() ? "" : ", ") + command->get_name();
    known = known || (argc > 1 && command->get_name() == argv[1]);
  }
  if (argc > 1 && argv[1][0] != '-' && !known) {
    fmt::print(stderr, "dnnfi: error: unknown command '{}' (the commands: {}; dnnfi --help says more)\n",
               argv[1], commands);
    return static_cast<int>(dnnfi::ExitCode::kUsage);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Options are parsed before callbacks run; report and exit with the usage code.
    if (e.get_exit_code() == 0) return app.exit(e);
    app.exit(e);
    return static_cast<int>(dnnfi::ExitCode::kUsage);
  } catch (const dnnfi::Error& e) {
    if (e.code() != dnnfi::ExitCode::kInterrupted) fmt::print(stderr, "dnnfi: error: {}\n", e.what());
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    fmt::print(stderr, "dnnfi: LibTorch error: {}\n", e.what_without_backtrace());
    return static_cast<int>(dnnfi::ExitCode::kFailure);
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnnfi: error: {}\n", e.what());
    return static_cast<int>(dnnfi::ExitCode::kFailure);
  }
  return 0;
}
