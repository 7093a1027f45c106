// Zoo models become TorchScript exports with their model info through scripts/export_model.py,
// once; later runs reuse the files under DNNFI_HOME/models.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dnnfi/errors.hpp"
#include "dnnfi/zoo.hpp"
#include "exports.hpp"
#include "platform/process.hpp"

namespace dnnfi {

std::filesystem::path zoo_export_stem(const ZooEntry& entry, const Locations& where) {
  return where.home / "models" / (entry.name + "-" + entry.dataset);
}

namespace {

void run_exporter(const ZooEntry& entry, const Locations& where, bool structure_only) {
  std::vector<std::string> argv = {python_interpreter(),
                                   (scripts_dir() / "export_model.py").string(),
                                   "-n",
                                   entry.name,
                                   "-d",
                                   entry.dataset,
                                   "-o",
                                   (where.home / "models").string(),
                                   "--home",
                                   where.home.string()};
  if (where.weights_dir) {
    argv.push_back("--weights-dir");
    argv.push_back(where.weights_dir->string());
  }
  if (structure_only) argv.push_back("--structure-only");
  spdlog::info("preparing {}/{}: exporting it to TorchScript with {} (once; reused after)", entry.name,
               entry.dataset, argv[1]);
  const int status = run_process(argv);
  if (status != 0)
    throw ResourceError(fmt::format(
        "could not export {}/{} (exporter exit status {}, its message is above); fix that and run again, "
        "or run `{} {} -n {} -d {} -o {}` by hand",
        entry.name, entry.dataset, status, argv[0], argv[1], entry.name, entry.dataset, argv[7]));
}

// An export is reused when its model info reads (an older format is exported again) and, when
// weights are needed, came from a checkpoint.
bool info_usable(const std::filesystem::path& path, bool need_weights) {
  if (!std::filesystem::exists(path)) return false;
  try {
    const ModelInfo info = read_model_info(path);
    return !need_weights || info.checkpoint != "none";
  } catch (const InputError& e) {
    spdlog::warn("{}; exporting the model again", e.what());
    return false;
  }
}

}  // namespace

ModelInfo zoo_model_info(const ZooEntry& entry, const Locations& where) {
  const auto info_path = zoo_export_stem(entry, where).concat(".meta");
  if (!info_usable(info_path, false)) run_exporter(entry, where, /*structure_only=*/true);
  return read_model_info(info_path);
}

ModelFiles zoo_model_files(const ZooEntry& entry, const Locations& where) {
  const auto stem = zoo_export_stem(entry, where);
  ModelFiles files{std::filesystem::path(stem).concat(".pt"), std::filesystem::path(stem).concat(".meta")};
  if (!std::filesystem::exists(files.torchscript) || !info_usable(files.info, true))
    run_exporter(entry, where, /*structure_only=*/false);
  return files;
}

}  // namespace dnnfi
