// The machine-readable forms of `models`, `layers` and `eval` (--json): what programs (the
// Python package) read instead of the tables people read.
#include "dnnfi/commands.hpp"
#include "dnnfi/zoo.hpp"
#include "platform/json.hpp"

namespace dnnfi {
namespace {
void shape(json::Writer& out, const std::vector<std::int64_t>& dims) {
  out.begin_array();
  for (auto d : dims) out.number(d);
  out.end_array();
}
}  // namespace

std::string models_json(const std::optional<std::filesystem::path>& weights_dir) {
  json::Writer out;
  out.begin_object().key("kind").string("dnnfi models").key("models").begin_array();
  for (const auto& row : zoo_status(weights_dir)) {
    const auto& e = *row.entry;
    out.begin_object();
    out.key("name").string(e.name).key("dataset").string(e.dataset).key("classes").number(e.classes);
    out.key("input");
    shape(out, e.input);
    out.key("mean").begin_array();
    for (auto m : e.normalization.mean) out.number(m);
    out.end_array().key("std").begin_array();
    for (auto s : e.normalization.std) out.number(s);
    out.end_array();
    out.key("weights").number(e.fault_weights).key("faults").number(row.fault_list_size);
    out.key("faults_exact").boolean(row.fault_list_exact).key("seed_top1").number(e.seed_top1);
    out.key("checkpoint").string(row.checkpoint).key("checkpoint_file").string(e.weights_file);
    out.end_object();
  }
  out.end_array().key("datasets").begin_array();
  for (const auto& name : zoo_dataset_names()) out.string(name);
  out.end_array().end_object();
  return out.str() + "\n";
}

std::string layers_json(const std::vector<Layer>& layers, const std::vector<Layer>& left_out) {
  json::Writer out;
  out.begin_object().key("kind").string("dnnfi layers").key("layers").begin_array();
  for (const auto& layer : layers) {
    out.begin_object().key("layer").string(layer.name).key("shape");
    shape(out, layer.shape);
    out.key("weights").number(layer.numel()).end_object();
  }
  out.end_array().key("left_out").begin_array();
  for (const auto& parameter : left_out) {
    out.begin_object().key("parameter").string(parameter.name).key("shape");
    shape(out, parameter.shape);
    out.key("values").number(parameter.numel()).end_object();
  }
  out.end_array().end_object();
  return out.str() + "\n";
}

std::string eval_json(const EvalResult& result, const std::string& model) {
  json::Writer out;
  out.begin_object().key("kind").string("dnnfi eval").key("model").string(model);
  out.key("correct").number(result.correct).key("total").number(result.total);
  out.key("top1").number(result.total ? static_cast<double>(result.correct) / result.total : 0.0);
  out.key("seconds").number(result.seconds).end_object();
  return out.str() + "\n";
}

}  // namespace dnnfi
