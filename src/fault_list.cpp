#include "dnnfi/fault_list.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "csv.hpp"
#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

bool parse_int(const std::string& text, std::int64_t* value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return false;
  *value = v;
  return true;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// "(3, 0, 2, 1)" -> {3, 0, 2, 1}; "(5,)" and "5" are accepted for rank-1 tensors.
bool parse_index(const std::string& text, std::vector<std::int64_t>* index, std::string* why) {
  std::string t = trim(text);
  if (t.size() >= 2 && t.front() == '(' && t.back() == ')') t = t.substr(1, t.size() - 2);
  else if (t.find(',') != std::string::npos) {
    *why = "expected a parenthesised index like \"(3, 0, 2, 1)\"";
    return false;
  }
  index->clear();
  std::stringstream parts(t);
  std::string part;
  while (std::getline(parts, part, ',')) {
    part = trim(part);
    if (part.empty() && parts.eof() && !index->empty()) break;  // trailing comma of "(5,)"
    std::int64_t v;
    if (!parse_int(part, &v)) {
      *why = "'" + part + "' is not an integer";
      return false;
    }
    index->push_back(v);
  }
  if (index->empty()) {
    *why = "empty index";
    return false;
  }
  return true;
}

std::string layer_names(const std::vector<Layer>& layers) {
  std::string names;
  for (std::size_t i = 0; i < layers.size() && i < 8; ++i) names += (i ? ", " : "") + layers[i].name;
  if (layers.size() > 8) names += ", ... (" + std::to_string(layers.size()) + " in all; see `dnnfi layers`)";
  return names;
}

}  // namespace

FaultList parse_fault_list(std::istream& in, const std::string& source, const std::vector<Layer>& layers) {
  std::unordered_map<std::string, const Layer*> by_name;
  for (const auto& layer : layers) by_name[layer.name] = &layer;

  FaultList list;
  std::string line, why;
  long line_no = 0;
  if (!std::getline(in, line)) throw InputError(source, 1, "empty file; expected the header "
                                                "Injection,Layer,TensorIndex,Bit");
  ++line_no;
  auto header = csv::split(line, &why);
  if (!header) throw InputError(source, line_no, "broken header: " + why);
  if (header->size() < 4 || !std::equal(std::begin(kFaultColumns), std::end(kFaultColumns), header->begin()))
    throw InputError(source, line_no, "header must start with Injection,Layer,TensorIndex,Bit (got '" + line + "')");
  int model_column = -1;
  for (std::size_t c = 4; c < header->size(); ++c)
    if ((*header)[c] == kFaultModelColumn) model_column = static_cast<int>(c);
  list.has_fault_model_column = model_column >= 0;

  std::unordered_set<std::int64_t> injections;
  std::set<std::tuple<std::string, std::vector<std::int64_t>, int, int>> seen;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty() || trim(line) == "\r") continue;
    auto fields = csv::split(line, &why);
    if (!fields) throw InputError(source, line_no, why);
    if (fields->size() != header->size())
      throw InputError(source, line_no, "expected " + std::to_string(header->size()) + " fields, got " +
                                            std::to_string(fields->size()));
    Fault fault;
    if (!parse_int(trim((*fields)[0]), &fault.injection) || fault.injection < 0)
      throw InputError(source, line_no, "Injection '" + (*fields)[0] + "' is not a non-negative integer");
    if (!injections.insert(fault.injection).second)
      throw InputError(source, line_no, "Injection " + std::to_string(fault.injection) + " appears twice");
    fault.layer = trim((*fields)[1]);
    auto layer = by_name.find(fault.layer);
    if (layer == by_name.end())
      throw InputError(source, line_no, "unknown layer '" + fault.layer + "'; the model's layers are " +
                                            layer_names(layers));
    if (!parse_index((*fields)[2], &fault.index, &why))
      throw InputError(source, line_no, "TensorIndex '" + (*fields)[2] + "': " + why);
    const auto& shape = layer->second->shape;
    if (fault.index.size() != shape.size())
      throw InputError(source, line_no, "TensorIndex " + format_index(fault.index) + " has rank " +
                                            std::to_string(fault.index.size()) + " but " + fault.layer +
                                            ".weight is " + format_shape(shape));
    for (std::size_t d = 0; d < shape.size(); ++d)
      if (fault.index[d] < 0 || fault.index[d] >= shape[d])
        throw InputError(source, line_no, "TensorIndex " + format_index(fault.index) + " is out of range for " +
                                              fault.layer + ".weight of shape " + format_shape(shape));
    std::int64_t bit;
    if (!parse_int(trim((*fields)[3]), &bit) || bit < 0 || bit > 31)
      throw InputError(source, line_no, "Bit '" + (*fields)[3] + "' must be an integer in 0..31");
    fault.bit = static_cast<int>(bit);
    if (model_column >= 0) {
      fault.model = parse_fault_model(trim((*fields)[model_column]));
      if (!fault.model)
        throw InputError(source, line_no, "fault_model '" + (*fields)[model_column] +
                                              "' is not one of bit-flip, stuck-at-0, stuck-at-1");
    }
    // Numeric result columns of published lists are checked so a shifted row is caught.
    for (std::size_t c = 4; c < header->size(); ++c) {
      if (static_cast<int>(c) == model_column) continue;
      std::int64_t v;
      if (!parse_int(trim((*fields)[c]), &v))
        throw InputError(source, line_no, (*header)[c] + " '" + (*fields)[c] + "' is not an integer");
    }
    int model_key = fault.model ? static_cast<int>(*fault.model) : -1;
    if (!seen.emplace(fault.layer, fault.index, fault.bit, model_key).second)
      throw InputError(source, line_no, "fault " + fault.layer + " " + format_index(fault.index) + " bit " +
                                            std::to_string(fault.bit) + " appears twice");
    list.faults.push_back(std::move(fault));
  }
  if (in.bad()) throw InputError(source + ": read error");
  return list;
}

FaultList read_fault_list(const std::filesystem::path& path, const std::vector<Layer>& layers) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open the fault list");
  return parse_fault_list(in, path.string(), layers);
}

void write_fault_list(std::ostream& out, const std::vector<Fault>& faults, bool with_fault_model) {
  out << "Injection,Layer,TensorIndex,Bit" << (with_fault_model ? ",fault_model" : "") << "\n";
  for (const auto& f : faults) {
    out << f.injection << ',' << csv::quote(f.layer) << ',' << csv::quote(format_index(f.index)) << ',' << f.bit;
    if (with_fault_model) out << ',' << to_string(f.model.value_or(FaultModel::kBitFlip));
    out << '\n';
  }
}

double fault_population(const std::vector<Layer>& layers) {
  double weights = 0;
  for (const auto& layer : layers) weights += static_cast<double>(layer.numel());
  return weights * 32 * 2;
}

double statistical_sample_size(double population, const SampleSpec& spec) {
  const double e = spec.error_margin, t = spec.t_value, p = spec.p;
  return population / (1 + e * e * (population - 1) / (t * t * p * (1 - p)));
}

namespace {
// Uniform integer in [0, bound) by rejection, independent of the standard library's
// distribution implementations so a seed means the same list everywhere.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                              std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t draw;
  do draw = rng();
  while (draw >= limit);
  return draw % bound;
}
}  // namespace

std::vector<Fault> generate_fault_list(const std::vector<Layer>& layers, const SampleSpec& spec) {
  if (!(spec.error_margin > 0) || !(spec.t_value > 0) || !(spec.p > 0 && spec.p < 1))
    throw InputError("statistical sample needs e > 0, t > 0 and 0 < p < 1");
  double total_weights = 0;
  for (const auto& layer : layers) total_weights += static_cast<double>(layer.numel());
  const double n = statistical_sample_size(fault_population(layers), spec);

  std::mt19937_64 rng(spec.seed);
  std::vector<Fault> faults;
  for (const auto& layer : layers) {
    const std::uint64_t sites = static_cast<std::uint64_t>(layer.numel()) * 32;
    auto wanted = static_cast<std::uint64_t>(std::nearbyint(n * static_cast<double>(layer.numel()) / total_weights));
    wanted = std::min(wanted, sites);
    std::unordered_set<std::uint64_t> taken;
    taken.reserve(wanted * 2);
    while (taken.size() < wanted) {
      const std::uint64_t offset = uniform_below(rng, static_cast<std::uint64_t>(layer.numel()));
      const std::uint64_t bit = uniform_below(rng, 32);
      if (!taken.insert(offset * 32 + bit).second) continue;
      Fault fault;
      fault.injection = static_cast<std::int64_t>(faults.size());
      fault.layer = layer.name;
      fault.bit = static_cast<int>(bit);
      fault.index.assign(layer.shape.size(), 0);
      std::uint64_t rest = offset;
      for (std::size_t d = layer.shape.size(); d-- > 0;) {
        fault.index[d] = static_cast<std::int64_t>(rest % static_cast<std::uint64_t>(layer.shape[d]));
        rest /= static_cast<std::uint64_t>(layer.shape[d]);
      }
      faults.push_back(std::move(fault));
    }
  }
  return faults;
}

std::vector<Fault> spread_sample(const std::vector<Fault>& faults, std::size_t count) {
  if (count == 0 || count >= faults.size()) return faults;
  std::vector<Fault> sample;
  sample.reserve(count);
  for (std::size_t i = 0; i < count; ++i) sample.push_back(faults[i * faults.size() / count]);
  return sample;
}

}  // namespace dnnfi
