#include <algorithm>
#include <map>
#include <sstream>

#include "dnnfi/errors.hpp"
#include "dnnfi/zoo.hpp"
#include "text.hpp"

namespace dnnfi {
namespace detail {
extern const char* const kZooTsv;
}

namespace {

// models/zoo.tsv, read by its column names as scripts/zoo.py reads it.
std::vector<ZooEntry> parse_registry() {
  auto broken = [](const std::string& what) {
    return Error(ExitCode::kFailure,
                 "models/zoo.tsv (compiled in): " + what + "; rebuild dnnfi from a good copy");
  };
  std::vector<ZooEntry> entries;
  std::stringstream in(detail::kZooTsv);
  std::string line;
  std::getline(in, line);
  std::map<std::string, std::size_t> column;
  const auto names = text::split(line, '\t');
  for (std::size_t c = 0; c < names.size(); ++c) column[names[c]] = c;
  for (const char* required : {"name", "dataset", "classes", "input", "mean", "std", "seed_top1",
                               "weights_file", "url", "sha256", "size", "fault_weights"})
    if (!column.count(required)) throw broken(std::string("no column '") + required + "'");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = text::split(line, '\t');
    if (f.size() != names.size()) throw broken("malformed row: " + line);
    auto get = [&](const char* key) { return f[column.at(key)]; };
    auto dash = [&](const char* key) { return get(key) == "-" ? std::string() : get(key); };
    try {
      ZooEntry e;
      e.name = get("name");
      e.dataset = get("dataset");
      e.classes = std::stoi(get("classes"));
      for (const auto& d : text::split(get("input"), 'x')) e.input.push_back(std::stoll(d));
      for (const auto& v : text::split(get("mean"), ',')) e.normalization.mean.push_back(std::stof(v));
      for (const auto& v : text::split(get("std"), ',')) e.normalization.std.push_back(std::stof(v));
      e.seed_top1 = std::stod(get("seed_top1"));
      e.weights_file = dash("weights_file");
      e.url = dash("url");
      e.sha256 = dash("sha256");
      e.size = get("size") == "-" ? -1 : std::stoll(get("size"));
      e.fault_weights = std::stoll(get("fault_weights"));
      entries.push_back(std::move(e));
    } catch (const std::logic_error&) {
      throw broken("malformed value in row: " + line);
    }
  }
  return entries;
}

}  // namespace

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = parse_registry();
  return entries;
}

const ZooEntry& find_model(const std::string& name, const std::string& dataset) {
  const std::string n = text::lower(name), d = text::lower(dataset);
  for (const auto& e : zoo())
    if (e.name == n && e.dataset == d) return e;
  std::string known;
  for (const auto& e : zoo())
    if (e.dataset == d) known += (known.empty() ? "" : ", ") + e.name;
  if (known.empty()) {
    for (const auto& e : zoo())
      if (known.find(e.dataset) == std::string::npos) known += (known.empty() ? "" : ", ") + e.dataset;
    throw Error(ExitCode::kUsage, "unknown dataset '" + dataset + "'; the zoo has " + known);
  }
  throw Error(ExitCode::kUsage, "the zoo has no model '" + name + "' for " + d + "; it has " + known);
}

std::vector<std::string> zoo_dataset_names() {
  std::vector<std::string> names;
  for (const auto& entry : zoo())
    if (std::find(names.begin(), names.end(), entry.dataset) == names.end()) names.push_back(entry.dataset);
  return names;
}

}  // namespace dnnfi
