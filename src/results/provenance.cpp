#include "dnnfi/provenance.hpp"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "dnnfi/errors.hpp"
#include "platform/files.hpp"
#include "platform/flat_json.hpp"
#include "platform/json.hpp"
#include "platform/sha256.hpp"

namespace dnnfi {
namespace {

std::int64_t integer(const std::map<std::string, std::string>& values, const std::string& key,
                     const std::string& source) {
  const auto it = values.find(key);
  if (it == values.end()) throw InputError(source + ": no \"" + key + "\"");
  try {
    std::size_t used = 0;
    const auto v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw InputError(source + ": \"" + key + "\" is not an integer: " + it->second);
}

// The text fields, in the order they are written; the numbers and the shard follow them.
struct TextField {
  const char* key;
  std::string Provenance::*member;
};
const TextField kTextFields[] = {
    {"dnnfi_version", &Provenance::dnnfi_version},
    {"model", &Provenance::model},
    {"model_sha256", &Provenance::model_sha256},
    {"params", &Provenance::params},
    {"dataset", &Provenance::dataset},
    {"dataset_sha256", &Provenance::dataset_sha256},
    {"normalization", &Provenance::normalization},
    {"fault_list", &Provenance::fault_list},
    {"fault_list_sha256", &Provenance::fault_list_sha256},
    {"fault_model", &Provenance::fault_model},
    {"layers", &Provenance::layers},
    {"iterative", &Provenance::iterative},
    {"non_finite_rule", &Provenance::non_finite_rule},
    {"device", &Provenance::device},
    {"numerics", &Provenance::numerics},
    {"replay", &Provenance::replay},
    {"engine", &Provenance::engine},
    {"injections", &Provenance::injections},
};

}  // namespace

std::string format_injection_ranges(const std::vector<Fault>& faults) {
  std::string out;
  for (std::size_t i = 0; i < faults.size();) {
    std::size_t end = i + 1;
    while (end < faults.size() && faults[end].injection == faults[end - 1].injection + 1) ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(faults[i].injection);
    if (end - i > 1) out += "-" + std::to_string(faults[end - 1].injection);
    i = end;
  }
  return out;
}

std::vector<std::int64_t> parse_injection_ranges(const std::string& text, const std::string& where) {
  std::vector<std::int64_t> out;
  std::stringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) {
    // A range is "A-B"; its first number may itself be negative ("-3--1").
    const auto dash = part.find('-', 1);
    try {
      std::size_t used = 0;
      const auto first = std::stoll(part.substr(0, dash), &used);
      if (used != part.substr(0, dash).size()) throw std::invalid_argument(part);
      const auto last = dash == std::string::npos ? first : std::stoll(part.substr(dash + 1), &used);
      if (dash != std::string::npos && used != part.size() - dash - 1) throw std::invalid_argument(part);
      if (last < first) throw std::invalid_argument(part);
      for (auto v = first; v <= last; ++v) out.push_back(v);
    } catch (const std::exception&) {
      throw InputError(where + ": bad injection range '" + part + "'");
    }
  }
  return out;
}

std::string fault_list_sha256(const std::vector<Fault>& faults) {
  Sha256 sha;
  for (const auto& f : faults)
    sha.update(fmt::format("{},{},{},{},{}\n", f.injection, f.layer, format_index(f.index),
                           format_bits(f.bits), to_string(f.model)));
  return sha.hex();
}

std::filesystem::path provenance_path(const std::filesystem::path& results) {
  auto path = results;
  path += ".json";
  return path;
}

void write_provenance(const std::filesystem::path& results, const Provenance& p) {
  std::string out = "{\n";
  bool first = true;
  auto field = [&](const char* key, auto value) {
    json::Writer w;
    w.begin_object().key(key);
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>)
      w.string(value);
    else
      w.number(value);
    w.end_object();
    const auto& text = w.str();  // {"key":value}
    out += (first ? "  " : ",\n  ") + text.substr(1, text.size() - 2);
    first = false;
  };
  field("provenance_version", kProvenanceVersion);
  for (const auto& [key, member] : kTextFields) field(key, p.*member);
  field("layout", p.layout);
  field("images", p.images);
  field("sample", p.sample);
  field("batch_size", p.batch_size);
  field("threads", p.threads);
  field("shard", fmt::format("{}/{}", p.shard.index, p.shard.count));
  if (!p.adopted.empty()) field("adopted", p.adopted);
  if (!p.per_image.empty()) field("per_image", p.per_image);
  field("format", p.format);
  field("target", p.target);
  field("bits", p.bits);
  field("burst", p.burst);
  if (!p.design.empty()) {
    field("design", p.design);
    field("design_strata", p.design_strata);
    field("design_members", p.design_members);
  }
  out += "\n}\n";

  replace_file(provenance_path(results), out);
}

std::optional<Provenance> read_provenance(const std::filesystem::path& results) {
  const auto path = provenance_path(results);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) throw InputError(path.string() + ": cannot be read");
  const auto source = path.string();
  const auto v = FlatJson(text.str(), source).parse();
  const auto version = integer(v, "provenance_version", source);
  if (version > kProvenanceVersion)
    throw InputError(source + ": provenance version " + std::to_string(version) +
                     " is newer than this dnnfi reads (" + std::to_string(kProvenanceVersion) +
                     "); use a newer dnnfi");
  auto text_of = [&](const char* key) {
    const auto it = v.find(key);
    if (it == v.end()) throw InputError(source + ": no \"" + std::string(key) + "\"");
    return it->second;
  };
  Provenance p;
  for (const auto& [key, member] : kTextFields) p.*member = text_of(key);
  p.layout = v.count("layout") ? v.at("layout") : "nhwc";  // a dnnfi without --layout ran NHWC
  p.images = integer(v, "images", source);
  p.sample = static_cast<std::size_t>(integer(v, "sample", source));
  p.batch_size = integer(v, "batch_size", source);
  p.threads = static_cast<int>(integer(v, "threads", source));
  if (const auto it = v.find("adopted"); it != v.end()) p.adopted = it->second;
  if (const auto it = v.find("per_image"); it != v.end()) p.per_image = it->second;
  // Fields an older dnnfi did not write: its campaigns were fp32 weights, every bit.
  for (const auto& [key, member] :
       {std::pair{"format", &Provenance::format}, std::pair{"target", &Provenance::target},
        std::pair{"bits", &Provenance::bits}, std::pair{"design", &Provenance::design},
        std::pair{"design_strata", &Provenance::design_strata},
        std::pair{"design_members", &Provenance::design_members}})
    if (const auto it = v.find(key); it != v.end()) p.*member = it->second;
  if (v.count("burst")) p.burst = static_cast<int>(integer(v, "burst", source));
  const auto shard_text = text_of("shard");
  const auto slash = shard_text.find('/');
  try {
    p.shard.index = std::stoul(shard_text.substr(0, slash));
    p.shard.count = std::stoul(shard_text.substr(slash + 1));
  } catch (const std::exception&) {
    throw InputError(source + ": bad shard '" + shard_text + "'");
  }
  if (slash == std::string::npos || p.shard.count == 0 || p.shard.index >= p.shard.count)
    throw InputError(source + ": bad shard '" + shard_text + "'");
  return p;
}

std::vector<std::string> provenance_differences(const Provenance& ours, const Provenance& theirs,
                                                bool same_part) {
  std::vector<std::string> out;
  auto check = [&](const char* what, const auto& a, const auto& b) {
    if (a != b) out.push_back(fmt::format("{}: {} here, {} in the file", what, a, b));
  };
  check("model sha256", ours.model_sha256, theirs.model_sha256);
  check("params", ours.params, theirs.params);
  check("dataset sha256", ours.dataset_sha256, theirs.dataset_sha256);
  check("normalization", ours.normalization, theirs.normalization);
  check("images", ours.images, theirs.images);
  check("fault list sha256", ours.fault_list_sha256, theirs.fault_list_sha256);
  check("fault model", ours.fault_model, theirs.fault_model);
  check("layers", ours.layers, theirs.layers);
  check("sample", ours.sample, theirs.sample);
  check("iterative", ours.iterative, theirs.iterative);
  check("non-finite rule", ours.non_finite_rule, theirs.non_finite_rule);
  // A batch at least as large as the test set is one batch of all of it, whatever its number
  // (files of an older dnnfi recorded -b as given).
  const auto effective = [](const Provenance& p) {
    return p.images > 0 && p.batch_size > p.images ? p.images : p.batch_size;
  };
  check("batch size", effective(ours), effective(theirs));
  check("device", ours.device, theirs.device);
  check("numerics", ours.numerics, theirs.numerics);
  check("layout", ours.layout, theirs.layout);
  check("format", ours.format, theirs.format);
  check("target", ours.target, theirs.target);
  check("replay", ours.replay, theirs.replay);
  if (ours.injections != theirs.injections) out.push_back("injections: the campaigns run other faults");
  if (same_part)
    check("shard", fmt::format("{}/{}", ours.shard.index, ours.shard.count),
          fmt::format("{}/{}", theirs.shard.index, theirs.shard.count));
  else
    check("shard count", ours.shard.count, theirs.shard.count);
  return out;
}

}  // namespace dnnfi
