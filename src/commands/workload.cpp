#include "workload.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "dnnfi/errors.hpp"
#include "text.hpp"

namespace dnnfi {

Workload resolve_workload(const ModelOptions& options) {
  const auto where = resolve_locations(options.weights_dir, options.data_dir);
  if (options.model_file)
    return Workload{where, ModelSource::files(ModelFiles{*options.model_file, {}}),
                    options.model_file->string(), nullptr, options};
  const auto& entry = find_model(options.name, options.dataset);
  return Workload{where, ModelSource::zoo(entry.name, entry.dataset), entry.name + "/" + entry.dataset,
                  &entry, options};
}

DataSource Workload::data() const {
  // A zoo dataset's name (with no file or folder of that name here): its official test set,
  // for a model of one's own too; the normalization is --mean/--std, else the zoo model's.
  if (options.data && !std::filesystem::exists(*options.data)) {
    const auto names = zoo_dataset_names();
    const auto name = text::lower(options.data->string());
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      const auto& first =
          *std::find_if(zoo().begin(), zoo().end(), [&](const ZooEntry& e) { return e.dataset == name; });
      auto source = zoo_test_set(entry && entry->dataset == name ? *entry : first, where);
      source.normalization = options.normalization.mean.empty() && options.normalization.std.empty() && entry
                                 ? entry->normalization
                                 : options.normalization;
      return source;
    }
  }
  if (options.data) {
    // A zoo model keeps its own normalization unless --mean/--std say otherwise.
    auto normalization = options.normalization;
    if (normalization.mean.size() != normalization.std.size())
      throw Error(ExitCode::kUsage, "--mean and --std need one value per channel each (got " +
                                        std::to_string(normalization.mean.size()) + " and " +
                                        std::to_string(normalization.std.size()) + ")");
    if (normalization.mean.empty() && normalization.std.empty() && entry)
      normalization = entry->normalization;
    return data_source(*options.data, normalization, options.size);
  }
  if (!entry)
    throw Error(ExitCode::kUsage, label +
                                      ": a model of one's own needs --data (a folder of class folders of "
                                      "images, a .pt tensor file or a CIFAR .bin)");
  return zoo_test_set(*entry, where);
}

std::vector<Layer> Workload::layers() const {
  if (options.params == ParamSelection::kAll) return model.parameter_layers(where);
  return model.info(where).layers;
}

namespace {

// What the model says of its input, for an error: its model info's input shape, else what its
// first layer takes (a convolution's channels, a linear layer's features); empty when neither.
std::string wanted_input(const Model& model) {
  const auto& info = model.info();
  if (!info.input.empty()) {
    std::string shape = "N";
    for (const auto d : info.input) shape += " x " + std::to_string(d);
    return "; the model wants " + shape + " (its model info)";
  }
  if (info.layers.empty()) return "";
  const auto& first = info.layers.front();
  if (first.shape.size() >= 3)
    return "; its first layer, " + first.name + ", is a convolution over " + std::to_string(first.shape[1]) +
           " channels (N x " + std::to_string(first.shape[1]) + " x ...)";
  if (first.shape.size() == 2)
    return "; its first layer, " + first.name + ", is linear over " + std::to_string(first.shape[1]) +
           " features (N x ... x " + std::to_string(first.shape[1]) + ")";
  return "";
}

}  // namespace

void check_model_fits(Model& model, const Dataset& data, const std::string& data_label) {
  if (data.size() == 0) throw InputError(data_label + ": no images");
  torch::Tensor logits;
  try {
    torch::InferenceMode guard;
    logits = model.forward(model.prepare_input(data.images.narrow(0, 0, 1)));
  } catch (const std::exception& e) {
    // TorchScript prints its call stack, LibTorch its C++ frames: one line says what went wrong.
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    const auto why = text::error_line(c10_error ? c10_error->what_without_backtrace() : e.what());
    throw InputError(data_label + ": images of shape " + format_shape(data.images[0].sizes().vec()) +
                     " do not fit the model (" + why + ")" + wanted_input(model));
  }
  if (logits.dim() != 2)
    throw InputError(data_label + ": the model maps an image to a tensor of shape " +
                     format_shape(logits.sizes().vec()) + ", not to one row of logits");
  check_labels(data, logits.size(1), data_label);
}

}  // namespace dnnfi
