#include "dnnfi/fault_list.hpp"

#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "csv/csv.hpp"
#include "csv/fault_table.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/word_format.hpp"
#include "platform/flat_json.hpp"
#include "text.hpp"

namespace dnnfi {
namespace {

std::string layer_names(const std::vector<Layer>& layers) {
  std::string names;
  for (std::size_t i = 0; i < layers.size() && i < 8; ++i) names += (i ? ", " : "") + layers[i].name;
  if (layers.size() > 8) names += ", ... (" + std::to_string(layers.size()) + " in all; see `dnnfi layers`)";
  return names;
}

std::string joined_fault_model_names() {
  std::string names;
  for (const auto& name : fault_model_names()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

// The fault's element exists in the model: its layer, its rank and every index in range; its
// bits are bits of the word.
void check_against_layers(const Fault& fault, const std::unordered_map<std::string, const Layer*>& by_name,
                          const std::vector<Layer>& layers, const FaultSpace& space,
                          const csv::TableReader& row) {
  const auto layer = by_name.find(fault.layer);
  if (layer == by_name.end())
    row.fail("unknown layer '" + fault.layer + "'; the model's layers are " + layer_names(layers));
  const auto& shape = layer->second->shape;
  const auto what = space.target == FaultTarget::kWeights ? fault.layer + ".weight"
                                                          : "the output of " + fault.layer + " (one image)";
  if (fault.index.size() != shape.size())
    row.fail("TensorIndex " + format_index(fault.index) + " has rank " + std::to_string(fault.index.size()) +
             " but " + what + " is " + format_shape(shape));
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (fault.index[d] < 0 || fault.index[d] >= shape[d])
      row.fail("TensorIndex " + format_index(fault.index) + " is out of range for " + what + " of shape " +
               format_shape(shape));
  if (fault.bits.word() & ~all_bits(space.format).word())
    row.fail("Bit " + format_bits(fault.bits) + " is past the word of " +
             std::string(to_string(space.format)) + " (bits 0-" +
             std::to_string(word_bits(space.format) - 1) + ")");
}

}  // namespace

FaultList parse_fault_list(std::istream& in, const std::string& source, const std::vector<Layer>& layers,
                           std::optional<FaultModel> fault_model, const FaultSpace& space) {
  std::unordered_map<std::string, const Layer*> by_name;
  for (const auto& layer : layers) by_name[layer.name] = &layer;

  csv::TableReader table(in, source, kFaultListHeader);
  if (!table.starts_with({"Injection", "Layer", "TensorIndex", "Bit"}))
    table.fail("header must start with " + std::string(kFaultListHeader) + " (got '" + table.header_line() +
               "')");
  const auto model_column = table.column(kFaultModelColumn);
  FaultList list;
  list.has_fault_model_column = model_column.has_value();
  if (list.has_fault_model_column && fault_model)
    throw Error(ExitCode::kUsage,
                "--fault-model conflicts with the fault_model column of " + source + "; drop one of them");

  std::unordered_set<std::int64_t> injections;
  std::unordered_set<std::string> seen;
  while (table.next()) {
    Fault fault = csv::read_fault_columns(table);
    if (!injections.insert(fault.injection).second)
      table.fail("Injection " + std::to_string(fault.injection) + " appears twice");
    check_against_layers(fault, by_name, layers, space, table);
    if (model_column) {
      const auto model = parse_fault_model(text::trim(table.field(*model_column)));
      if (!model)
        table.fail("fault_model '" + table.field(*model_column) + "' is not one of " +
                   joined_fault_model_names());
      fault.model = *model;
    } else {
      fault.model = fault_model.value_or(kDefaultFaultModel);
    }
    // Numeric result columns of published lists are checked so a shifted row is caught.
    for (std::size_t c = 4; c < table.header().size(); ++c) {
      // A dnnfi results file read as a list: its rule column names how images were classified.
      if (c == model_column || table.header()[c] == "non_finite_rule") continue;
      // ... and an unknown NaN/Inf count is an empty cell (a replay of a published list).
      if (table.header()[c] == "non_finite" && text::trim(table.field(c)).empty()) continue;
      if (!text::parse_int(text::trim(table.field(c))))
        table.fail(table.header()[c] + " '" + table.field(c) + "' is not an integer");
    }
    if (!seen.insert(key(fault)).second) table.fail("fault " + site(fault) + " appears twice");
    list.faults.push_back(std::move(fault));
  }
  return list;
}

FaultList read_fault_list(const std::filesystem::path& path, const std::vector<Layer>& layers,
                          std::optional<FaultModel> fault_model, const FaultSpace& space) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open the fault list");
  return parse_fault_list(in, path.string(), layers, fault_model, space);
}

void write_fault_list(std::ostream& out, const std::vector<Fault>& faults, bool with_fault_model) {
  out << kFaultListHeader << (with_fault_model ? std::string(",") + kFaultModelColumn : "") << "\n";
  for (const auto& f : faults) {
    out << csv::format_fault_columns(f);
    if (with_fault_model) out << ',' << to_string(f.model);
    out << '\n';
  }
}

std::optional<ListRecord> read_list_record(const std::filesystem::path& list) {
  auto path = list;
  path += ".json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const auto values = FlatJson(text.str(), path.string()).parse();
  const auto kind = values.find("kind");
  if (kind == values.end() || kind->second != "dnnfi fault list") return std::nullopt;
  ListRecord record;
  const auto get = [&](const char* key, std::string& into) {
    if (const auto it = values.find(key); it != values.end()) into = it->second;
  };
  get("format", record.format);
  get("target", record.target);
  get("bits", record.bits);
  if (const auto it = values.find("burst"); it != values.end()) {
    const auto burst = text::parse_int(it->second);
    if (!burst || *burst < 1 || *burst > 32)
      throw InputError(path.string() + ": bad burst '" + it->second + "'");
    record.burst = static_cast<int>(*burst);
  }
  return record;
}

}  // namespace dnnfi
