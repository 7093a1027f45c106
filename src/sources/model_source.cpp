#include "dnnfi/model_source.hpp"

#include "dnnfi/errors.hpp"
#include "dnnfi/zoo.hpp"

namespace dnnfi {

ModelSource ModelSource::zoo(std::string name, std::string dataset) {
  ModelSource source;
  source.name_ = std::move(name);
  source.dataset_ = std::move(dataset);
  return source;
}

ModelSource ModelSource::files(ModelFiles files) {
  ModelSource source;
  source.files_ = std::move(files);
  return source;
}

ModelInfo ModelSource::info(const Locations& where) const {
  if (!files_) return zoo_model_info(find_model(name_, dataset_), where);
  if (!files_->info.empty()) return read_model_info(files_->info);
  return discover_model_info(load_module(files_->torchscript, torch::kCPU),
                             files_->torchscript.stem().string());
}

ModelFiles ModelSource::prepare(const Locations& where) const {
  if (!files_) return zoo_model_files(find_model(name_, dataset_), where);
  for (const auto& file : {files_->torchscript, files_->info})
    if (!file.empty() && !std::filesystem::exists(file))
      throw ResourceError(file.string() + " does not exist");
  return *files_;
}

std::vector<Layer> ModelSource::parameter_layers(const Locations& where) const {
  const auto files = prepare(where);
  const auto module = load_module(files.torchscript, torch::kCPU);
  const auto weights = files.info.empty()
                           ? discover_model_info(module, files.torchscript.stem().string()).layers
                           : read_model_info(files.info).layers;
  return dnnfi::parameter_layers(module, weights);
}

std::string ModelSource::label() const {
  if (files_) return files_->torchscript.string();
  return name_ + "/" + dataset_;
}

}  // namespace dnnfi
