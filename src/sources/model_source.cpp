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
  if (files_) return read_model_info(files_->info);
  return zoo_model_info(find_model(name_, dataset_), where);
}

ModelFiles ModelSource::prepare(const Locations& where) const {
  if (!files_) return zoo_model_files(find_model(name_, dataset_), where);
  for (const auto& file : {files_->torchscript, files_->info})
    if (!std::filesystem::exists(file)) throw ResourceError(file.string() + " does not exist");
  return *files_;
}

std::string ModelSource::label() const {
  if (files_) return files_->torchscript.string();
  return name_ + "/" + dataset_;
}

}  // namespace dnnfi
