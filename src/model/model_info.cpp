#include "dnnfi/model_info.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dnnfi/errors.hpp"
#include "platform/process.hpp"
#include "text.hpp"

namespace dnnfi {
namespace detail {
extern const char* const kModelInfoSchema;  // models/model_info.txt, compiled in
}

namespace {

struct RecordSpec {
  std::size_t fields = 0;
  bool once = false;
};

struct Schema {
  int version = 0;
  std::map<std::string, RecordSpec> records;
};

const Schema& schema() {
  static const Schema parsed = [] {
    Schema s;
    std::stringstream in(detail::kModelInfoSchema);
    for (std::string line; std::getline(in, line);) {
      std::stringstream words(line);
      std::string kind, key, occurs;
      std::size_t fields = 0;
      words >> kind;
      if (kind == "version") words >> s.version;
      if (kind == "record" && words >> key >> fields >> occurs)
        s.records[key] = RecordSpec{fields, occurs == "once"};
    }
    if (s.version <= 0 || s.records.empty())
      throw Error(ExitCode::kFailure, "models/model_info.txt (compiled in) is malformed; rebuild dnnfi");
    return s;
  }();
  return parsed;
}

std::vector<std::int64_t> integers(const std::string& text, char separator) {
  std::vector<std::int64_t> values;
  for (const auto& part : text::split(text, separator)) {
    const auto v = text::parse_int(part);
    if (!v) throw std::invalid_argument(part);
    values.push_back(*v);
  }
  return values;
}

std::vector<float> floats(const std::string& text) {
  std::vector<float> values;
  for (const auto& part : text::split(text, ',')) {
    char* end = nullptr;
    const float v = std::strtof(part.c_str(), &end);  // to float directly, as the zoo registry reads them
    if (part.empty() || end != part.c_str() + part.size()) throw std::invalid_argument(part);
    values.push_back(v);
  }
  return values;
}

// Stores one record whose field count the schema has already checked.
void apply(ModelInfo& info, const std::string& key, const std::vector<std::string>& f) {
  if (key == "name")
    info.name = f[0];
  else if (key == "dataset")
    info.dataset = f[0];
  else if (key == "classes")
    info.classes = static_cast<int>(integers(f[0], ',').at(0));
  else if (key == "input")
    info.input = integers(f[0], 'x');
  else if (key == "mean")
    info.mean = floats(f[0]);
  else if (key == "std")
    info.std = floats(f[0]);
  else if (key == "checkpoint")
    info.checkpoint = f[0];
  else if (key == "sequential")
    info.sequential = f[0] == "1";
  else if (key == "layer")
    info.layers.push_back(Layer{f[0], integers(f[1], 'x'), integers(f[2], ',').at(0)});
  else if (key == "conv")
    info.convs[f[0]] = ConvGeometry{integers(f[1], ','), integers(f[2], ','), integers(f[3], ','),
                                    integers(f[4], ',').at(0)};
  else if (key == "residual")
    info.residuals.push_back({f[0], text::split(f[1], ','), f[2], f[3]});
  else if (key != "format")
    throw std::logic_error("the schema's record '" + key + "' has no reader");
}

}  // namespace

int model_info_version() { return schema().version; }

namespace {

// The command that writes a model info file of this version for the model `lines` describe.
std::string export_command(const std::vector<std::string>& lines, const std::filesystem::path& path) {
  std::string name = "NAME", dataset = "DATASET", scripts = "scripts";
  for (const auto& line : lines) {
    if (line.rfind("name ", 0) == 0) name = line.substr(5);
    if (line.rfind("dataset ", 0) == 0) dataset = line.substr(8);
  }
  try {
    scripts = scripts_dir().string();
  } catch (const Error&) {
    // keep the relative name
  }
  return python_interpreter() + " " + scripts + "/export_model.py -n " + name + " -d " + dataset + " -o " +
         path.parent_path().string();
}

}  // namespace

ModelInfo read_model_info(const std::filesystem::path& path) {
  const auto& spec = schema();
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open model info");
  const std::string file = path.string();
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("format ", 0) != 0) continue;
    const std::string version = lines[i].substr(7);
    if (version != std::to_string(spec.version))
      throw ModelInfoVersionError(file, static_cast<long>(i + 1),
                                  "model info version " + version + ", this dnnfi reads version " +
                                      std::to_string(spec.version) + "; export the model again with `" +
                                      export_command(lines, path) +
                                      "` (dnnfi does it by itself for zoo models)");
  }

  ModelInfo info;
  std::set<std::string> seen;
  long line_no = 0;
  for (const auto& line : lines) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    auto words = text::split(line, ' ');
    const std::string key = words.front();
    words.erase(words.begin());
    const auto record = spec.records.find(key);
    if (record == spec.records.end())
      throw InputError(file, line_no,
                       "unknown record '" + key + "' (models/model_info.txt lists the records)");
    if (words.size() != record->second.fields)
      throw InputError(file, line_no,
                       "record '" + key + "' takes " + std::to_string(record->second.fields) +
                           " field(s), got " + std::to_string(words.size()));
    if (record->second.once && !seen.insert(key).second)
      throw InputError(file, line_no, "record '" + key + "' appears twice");
    try {
      apply(info, key, words);
    } catch (const std::invalid_argument&) {
      throw InputError(file, line_no, "malformed value in '" + line + "'");
    } catch (const std::out_of_range&) {
      throw InputError(file, line_no, "malformed value in '" + line + "'");
    }
  }
  for (const auto& [key, record] : spec.records)
    if (record.once && !seen.count(key))
      throw InputError(file + ": incomplete model info (no '" + key + "' record); export the model again");
  if (info.layers.empty() || info.input.size() != 3)
    throw InputError(file + ": model info without layers or a CxHxW input; export the model again");
  return info;
}

}  // namespace dnnfi
