#include "dnnfi/provenance.hpp"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "dnnfi/errors.hpp"
#include "findings/json.hpp"
#include "platform/sha256.hpp"

namespace dnnfi {
namespace {

// The sidecar is one flat JSON object, a key per line; this reads exactly that (strings,
// integers, booleans), which is all dnnfi writes.
class FlatJson {
 public:
  FlatJson(std::string text, std::string source) : text_(std::move(text)), source_(std::move(source)) {}

  std::map<std::string, std::string> parse() {
    std::map<std::string, std::string> values;
    expect('{');
    skip_space();
    if (peek() == '}') return values;
    for (;;) {
      const auto key = string_value();
      expect(':');
      skip_space();
      values[key] = peek() == '"' ? string_value() : bare_value();
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect('}');
      return values;
    }
  }

 private:
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  [[noreturn]] void fail(const std::string& what) const {
    long line = 1;
    for (std::size_t i = 0; i < at_ && i < text_.size(); ++i) line += text_[i] == '\n';
    throw InputError(source_, line, what + " (a dnnfi provenance file is one flat JSON object)");
  }
  void skip_space() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) ++at_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++at_;
  }
  std::string string_value() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_ >= text_.size()) fail("unterminated string");
      char c = text_[at_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated string");
      c = text_[at_++];
      switch (c) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'u': {
          if (at_ + 4 > text_.size()) fail("bad \\u escape");
          out += static_cast<char>(std::stoi(text_.substr(at_, 4), nullptr, 16));
          at_ += 4;
          break;
        }
        default:
          out += c;
      }
    }
  }
  std::string bare_value() {
    const auto start = at_;
    while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '-' ||
                                  text_[at_] == '.' || text_[at_] == '+'))
      ++at_;
    if (at_ == start) fail("expected a value");
    return text_.substr(start, at_ - start);
  }

  std::string text_, source_;
  std::size_t at_ = 0;
};

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
  out += "\n}\n";

  const auto path = provenance_path(results);
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file << out;
    file.flush();
    if (!file) throw ResourceError(temporary.string() + ": cannot be written");
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) throw ResourceError(path.string() + ": cannot be written (" + ec.message() + ")");
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
  check("batch size", ours.batch_size, theirs.batch_size);
  check("device", ours.device, theirs.device);
  check("numerics", ours.numerics, theirs.numerics);
  check("layout", ours.layout, theirs.layout);
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
