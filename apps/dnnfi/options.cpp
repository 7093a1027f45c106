#include "options.hpp"

namespace dnnfi::cli {

void add_model_options(CLI::App& app, ModelOptions& model) {
  app.add_option("-n,--name", model.name, "model name as the seed zoo writes it (ResNet20, resnet32, ...)")
      ->capture_default_str();
  app.add_option("-d,--dataset", model.dataset, "dataset: cifar10, cifar100 or gtsrb")->capture_default_str();
  app.add_option("--model", model.model_file,
                 "a TorchScript classifier of one's own (torch.jit.save of a traced or scripted module), "
                 "instead of -n/-d");
  app.add_option("--data", model.data,
                 "test data of one's own: a folder of class folders of PNG/JPEG/PPM images, a .pt file of "
                 "torch.save({'images': X, 'labels': y}), or a CIFAR .bin");
  app.add_option_function<std::string>(
      "--mean",
      [&model](const std::string& v) { model.normalization.mean = parse_channel_values("--mean", v); },
      "per-channel mean applied after scaling to 0..1, e.g. 0.4914,0.4822,0.4465 (with --data)");
  app.add_option_function<std::string>(
      "--std", [&model](const std::string& v) { model.normalization.std = parse_channel_values("--std", v); },
      "per-channel standard deviation, e.g. 0.2023,0.1994,0.2010 (with --data)");
  app.add_option_function<std::string>(
      "--size", [&model](const std::string& v) { model.size = parse_image_size(v); },
      "resize --data images to HxW (bilinear, antialiased, as PIL)");
  app.add_option_function<std::string>(
         "--params", [&model](const std::string& v) { model.params = *value_named(kParamSelectionNames, v); },
         "weight (conv/linear weights, the seed's campaigns) or all (biases and normalisation parameters "
         "too)")
      ->check(CLI::IsMember(names_of(kParamSelectionNames)));
  app.add_option(
      "--weights-dir", model.weights_dir,
      "directory holding the seed's checkpoint files (default: $DNNFI_WEIGHTS_DIR, else download)");
  app.add_option(
      "--data-dir", model.data_dir,
      "directory holding the test set, e.g. cifar-10-batches-bin/ (default: $DNNFI_DATA_DIR, else download)");
}

void add_format_option(CLI::App& app, WordFormat& format) {
  app.add_option_function<std::string>(
         "--format", [&format](const std::string& v) { format = *parse_word_format(v); },
         "the word every conv/linear weight is stored in: " + one_of(word_format_names()) +
             " (fp16/bf16 rounded to nearest even, int8 symmetric per output channel; compute stays FP32; "
             "default: fp32)")
      ->check(CLI::IsMember(word_format_names()));
}

void add_target_option(CLI::App& app, FaultTarget& target) {
  app.add_option_function<std::string>(
         "--target", [&target](const std::string& v) { target = *parse_fault_target(v); },
         "what faults hit: weights, or activations (an element of a conv/linear layer's output, in every "
         "image; default: weights)")
      ->check(CLI::IsMember(fault_target_names()));
}

// Ranges are checked by the library (settings.hpp), once, with messages that name the value.
void add_inference_options(CLI::App& app, InferenceOptions& inference) {
  app.add_option("-b,--batch-size", inference.batch_size, "images per batch")->capture_default_str();
  app.add_flag("--use-cuda", inference.use_cuda, "run on the first CUDA device");
  app.add_option("--threads", inference.threads, "LibTorch intra- and inter-op threads (0: all cores)")
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--tf32", [&inference](const std::string& v) { inference.numerics.tf32 = v == "on"; },
         "with --use-cuda: TF32 convolutions (on, as PyTorch does by default on Ampere and newer GPUs) or "
         "IEEE FP32 convolutions and matmuls (off, the default); matmuls stay IEEE either way")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--emulate-tf32", inference.numerics.emulate_tf32,
                 "round the inputs and weights of the conv layers matching this regex to TF32 before FP32 "
                 "convolutions, in golden and faulty runs (e.g. '^layer3\\.' reproduces the published ResNet "
                 "masked counts on the CPU)");
  app.add_option_function<std::string>(
         "--layout", [&inference](const std::string& v) { inference.layout = *value_named(kLayoutNames, v); },
         "memory layout of 4-D weights and activations: nchw (what a plain eager PyTorch loop over the "
         "model computes, bit for bit) or nhwc (channels_last; the default, faster on the CPU)")
      ->check(CLI::IsMember(names_of(kLayoutNames)));
  app.add_option_function<std::int64_t>(
      "--images", [&inference](const std::int64_t& n) { inference.images = n; },
      "use only the first N test images (default: all)");
  add_format_option(app, inference.format);
}

}  // namespace dnnfi::cli
