#include "dnnfi/model.hpp"

#include <spdlog/spdlog.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <fstream>
#include <sstream>

#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

constexpr int kExportFormat = 3;  // bump with scripts/export_model.py's EXPORT_FORMAT

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

std::filesystem::path export_stem(const ZooEntry& entry, const Locations& where) {
  return where.home / "models" / (entry.name + "-" + entry.dataset);
}

void run_exporter(const ZooEntry& entry, const Locations& where, bool structure_only) {
  std::vector<std::string> argv = {python_interpreter(),
                                   (scripts_dir() / "export_model.py").string(),
                                   "-n", entry.name, "-d", entry.dataset,
                                   "-o", (where.home / "models").string(),
                                   "--home", where.home.string()};
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

bool meta_usable(const std::filesystem::path& path, bool need_weights) {
  if (!std::filesystem::exists(path)) return false;
  try {
    const ModelMeta meta = read_model_meta(path);
    return !need_weights || meta.checkpoint != "none";
  } catch (const InputError& e) {
    spdlog::warn("{}; exporting the model again", e.what());
    return false;
  }
}

}  // namespace

ModelMeta read_model_meta(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open model metadata");
  ModelMeta meta;
  std::string line;
  long line_no = 0;
  bool format_seen = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    try {
      if (key == "format") {
        if (std::stoi(value) != kExportFormat)
          throw InputError(path.string(), line_no, "export format " + value + ", this dnnfi reads " +
                                                       std::to_string(kExportFormat));
        format_seen = true;
      } else if (key == "name") {
        meta.name = value;
      } else if (key == "dataset") {
        meta.dataset = value;
      } else if (key == "classes") {
        meta.classes = std::stoi(value);
      } else if (key == "input") {
        for (const auto& d : split(value, 'x')) meta.input.push_back(std::stoll(d));
      } else if (key == "mean") {
        for (const auto& v : split(value, ',')) meta.mean.push_back(std::stof(v));
      } else if (key == "std") {
        for (const auto& v : split(value, ',')) meta.std.push_back(std::stof(v));
      } else if (key == "checkpoint") {
        meta.checkpoint = value;
      } else if (key == "sequential") {
        meta.sequential = value == "1";
      } else if (key == "layer") {
        const auto parts = split(value, ' ');
        if (parts.size() != 3) throw InputError(path.string(), line_no, "expected 'layer NAME SHAPE MACS'");
        Layer layer{parts[0], {}};
        for (const auto& d : split(parts[1], 'x')) layer.shape.push_back(std::stoll(d));
        layer.macs = std::stoll(parts[2]);
        meta.layers.push_back(std::move(layer));
      } else if (key == "conv") {
        const auto parts = split(value, ' ');
        if (parts.size() != 5) throw InputError(path.string(), line_no, "expected 'conv NAME STRIDE PAD DIL GROUPS'");
        ConvGeometry g;
        for (const auto& v : split(parts[1], ',')) g.stride.push_back(std::stoll(v));
        for (const auto& v : split(parts[2], ',')) g.padding.push_back(std::stoll(v));
        for (const auto& v : split(parts[3], ',')) g.dilation.push_back(std::stoll(v));
        g.groups = std::stoll(parts[4]);
        meta.convs[parts[0]] = std::move(g);
      } else if (key == "residual") {
        const auto parts = split(value, ' ');
        if (parts.size() != 4) throw InputError(path.string(), line_no, "expected 'residual BLOCK MAIN SHORTCUT POST'");
        meta.residuals.push_back({parts[0], split(parts[1], ','), parts[2], parts[3]});
      }
    } catch (const std::logic_error&) {  // std::stoi and friends
      throw InputError(path.string(), line_no, "malformed value '" + value + "'");
    }
  }
  if (!format_seen || meta.layers.empty() || meta.input.size() != 3)
    throw InputError(path.string() + ": incomplete model metadata; delete it and dnnfi exports the model again");
  return meta;
}

ModelMeta prepare_model_meta(const ZooEntry& entry, const Locations& where) {
  const auto meta_path = export_stem(entry, where).concat(".meta");
  if (!meta_usable(meta_path, false)) run_exporter(entry, where, /*structure_only=*/true);
  return read_model_meta(meta_path);
}

ModelFiles prepare_model(const ZooEntry& entry, const Locations& where) {
  const auto stem = export_stem(entry, where);
  ModelFiles files{std::filesystem::path(stem).concat(".pt"), std::filesystem::path(stem).concat(".meta")};
  if (!std::filesystem::exists(files.torchscript) || !meta_usable(files.meta, true))
    run_exporter(entry, where, /*structure_only=*/false);
  return files;
}

Model::Model(torch::jit::Module module, ModelMeta meta, torch::Device device, bool channels_last)
    : module_(std::move(module)), meta_(std::move(meta)), device_(device), channels_last_(channels_last) {
  torch::NoGradGuard no_grad;
  for (const auto& p : module_.named_parameters(/*recurse=*/true)) {
    p.value.set_requires_grad(false);
    if (channels_last_ && p.value.dim() == 4)
      p.value.set_data(p.value.contiguous(at::MemoryFormat::ChannelsLast));
    for (auto* table : {&weights_, &biases_}) {
      const std::string suffix = table == &weights_ ? ".weight" : ".bias";
      if (p.name.size() > suffix.size() && p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0)
        (*table)[p.name.substr(0, p.name.size() - suffix.size())] = p.value;
    }
  }
  for (const auto& layer : meta_.layers) {
    auto it = weights_.find(layer.name);
    if (it == weights_.end() || it->second.sizes().vec() != layer.shape || it->second.scalar_type() != torch::kFloat)
      throw ResourceError("the exported model does not match its metadata at layer " + layer.name +
                          "; delete the export (" + meta_.name + "-" + meta_.dataset + ".*) to re-export it");
  }
}

Model Model::load(const ModelFiles& files, const torch::Device& device, bool channels_last) {
  ModelMeta meta = read_model_meta(files.meta);
  torch::jit::Module module;
  try {
    module = torch::jit::load(files.torchscript.string(), device);
  } catch (const c10::Error& e) {
    throw ResourceError(files.torchscript.string() + ": cannot be loaded as TorchScript (" +
                        e.what_without_backtrace() + "); delete it and dnnfi exports it again");
  }
  module.eval();
  // Run graphs as exported: no profiling-driven rewrites that could change kernels between
  // the golden and the faulty passes.
  torch::jit::setGraphExecutorOptimize(false);
  return Model(std::move(module), std::move(meta), device, channels_last);
}

torch::Tensor Model::prepare_input(const torch::Tensor& batch) const {
  auto x = batch.to(device_);
  return channels_last_ ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
}

torch::Tensor Model::forward(const torch::Tensor& batch) {
  return module_.forward({batch}).toTensor();
}

torch::Tensor Model::weight(const std::string& layer) const {
  auto it = weights_.find(layer);
  if (it == weights_.end()) throw InputError("the model has no injectable layer '" + layer + "'");
  return it->second;
}

torch::Tensor Model::bias(const std::string& layer) const {
  auto it = biases_.find(layer);
  return it == biases_.end() ? torch::Tensor() : it->second;
}

torch::Tensor element(torch::Tensor tensor, const std::vector<std::int64_t>& index) {
  for (auto i : index) tensor = tensor.select(/*dim=*/0, i);
  return tensor;
}

void store_bits(const torch::Tensor& slot, float value) {
  torch::NoGradGuard no_grad;
  // from_blob + copy_ move raw bits, so NaN payloads and signed zeros survive on every device.
  slot.copy_(torch::from_blob(&value, {}, torch::kFloat));
}

ScopedFault::ScopedFault(const Model& model, const Fault& fault, FaultModel fault_model)
    : slot_(element(model.weight(fault.layer), fault.index)) {
  original_ = slot_.to(torch::kCPU).item<float>();
  faulty_ = apply_fault(original_, fault.bit, fault_model);
  store_bits(slot_, faulty_);
}

ScopedFault::~ScopedFault() { store_bits(slot_, original_); }

}  // namespace dnnfi
