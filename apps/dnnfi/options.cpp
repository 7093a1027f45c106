#include "options.hpp"

namespace dnnfi::cli {

void add_model_options(CLI::App& app, ModelOptions& model) {
  app.add_option("-n,--name", model.name, "model name as the seed zoo writes it (ResNet20, resnet32, ...)")
      ->capture_default_str();
  app.add_option("-d,--dataset", model.dataset, "dataset: cifar10, cifar100 or gtsrb")->capture_default_str();
  app.add_option(
      "--weights-dir", model.weights_dir,
      "directory holding the seed's checkpoint files (default: $DNNFI_WEIGHTS_DIR, else download)");
  app.add_option(
      "--data-dir", model.data_dir,
      "directory holding the test set, e.g. cifar-10-batches-bin/ (default: $DNNFI_DATA_DIR, else download)");
}

// Ranges are checked by the library (settings.hpp), once, with messages that name the value.
void add_inference_options(CLI::App& app, InferenceOptions& inference) {
  app.add_option("-b,--batch-size", inference.batch_size, "images per batch")->capture_default_str();
  app.add_flag("--use-cuda", inference.use_cuda, "run on the first CUDA device");
  app.add_option("--threads", inference.threads, "LibTorch intra- and inter-op threads (0: all cores)")
      ->capture_default_str();
  app.add_option_function<std::int64_t>(
      "--images", [&inference](const std::int64_t& n) { inference.images = n; },
      "use only the first N test images (default: all)");
}

}  // namespace dnnfi::cli
