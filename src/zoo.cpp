#include "dnnfi/zoo.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace detail {
extern const char* const kZooTsv;
}

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<ZooEntry> parse_registry() {
  std::vector<ZooEntry> entries;
  std::stringstream in(detail::kZooTsv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto f = split(line, '\t');
    if (f.size() != 13) throw Error(ExitCode::kFailure, "models/zoo.tsv: malformed row: " + line);
    auto dash = [](const std::string& s) { return s == "-" ? std::string() : s; };
    ZooEntry e;
    e.name = f[0];
    e.dataset = f[1];
    e.classes = std::stoi(f[2]);
    for (const auto& d : split(f[3], 'x')) e.input.push_back(std::stoll(d));
    for (const auto& v : split(f[4], ',')) e.mean.push_back(std::stof(v));
    for (const auto& v : split(f[5], ',')) e.std.push_back(std::stof(v));
    e.seed_top1 = std::stod(f[6]);
    e.weights_file = dash(f[7]);
    e.url = dash(f[9]);
    e.sha256 = dash(f[10]);
    e.size = f[11] == "-" ? -1 : std::stoll(f[11]);
    e.fault_weights = std::stoll(f[12]);
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = parse_registry();
  return entries;
}

const ZooEntry& find_model(const std::string& name, const std::string& dataset) {
  const std::string n = lower(name), d = lower(dataset);
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

}  // namespace dnnfi
