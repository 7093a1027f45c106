#include "dnnfi/per_image.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unordered_map>

#include "dnnfi/errors.hpp"
#include "platform/files.hpp"
#include "text.hpp"

namespace dnnfi {

std::filesystem::path per_image_path(const std::filesystem::path& results) {
  auto path = results;
  if (path.extension() == ".csv") path.replace_extension();
  path += ".images.csv";
  return path;
}

namespace {
// "# key: value" -> value.
std::string head_value(const std::string& line, const std::string& key, const std::string& source,
                       long number) {
  const std::string prefix = "# " + key + ": ";
  if (line.compare(0, prefix.size(), prefix) != 0)
    throw InputError(source, number,
                     "expected \"" + prefix + "...\", found: " + text::trim(line).substr(0, 60));
  return line.substr(prefix.size());
}

std::int64_t whole_number(std::string_view text, const std::string& what, const std::string& source,
                          long number) {
  const auto value = text::parse_int(text);
  if (!value || *value < 0)
    throw InputError(source, number,
                     what + " is not a whole number: \"" + std::string(text.substr(0, 40)) + "\"");
  return *value;
}

std::vector<std::int64_t> numbers(const std::string& text, std::int64_t count, const std::string& what,
                                  const std::string& source, long number) {
  std::vector<std::int64_t> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    out.push_back(whole_number(std::string_view(text).substr(at, end - at), what, source, number));
    at = end + 1;
  }
  if (static_cast<std::int64_t>(out.size()) != count)
    throw InputError(
        source, number,
        what + ": " + std::to_string(out.size()) + " values for " + std::to_string(count) + " images");
  return out;
}

// Text after the last line end that a kill could have cut short: digits and at most two commas.
bool could_start_line(const std::string& tail) {
  std::size_t commas = 0;
  for (const char c : tail) {
    if (c == ',')
      ++commas;
    else if (c < '0' || c > '9')
      return false;
  }
  return commas <= 2;
}
}  // namespace

bool is_per_image_file(const std::filesystem::path& path) {
  return first_line_of_head(head_of_file(path)) == kPerImageMarker;
}

PerImageFile read_per_image(const std::filesystem::path& path) {
  const auto source = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(source + ": cannot open: " + std::strerror(errno));
  std::string content(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>{});
  if (in.bad()) throw InputError(source + ": read error");
  PerImageFile file;
  const auto last_end = content.rfind('\n');
  file.complete_bytes = last_end == std::string::npos ? 0 : last_end + 1;
  file.torn_bytes = content.size() - file.complete_bytes;
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < file.complete_bytes;) {
    const auto end = content.find('\n', at);
    auto line = content.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    at = end + 1;
  }
  if (lines.size() < 6 || lines[0] != kPerImageMarker)
    throw InputError(source + ": not a dnnfi per-image file (its first line is not \"" + kPerImageMarker +
                     "\", or its head is incomplete)");
  const auto tail = content.substr(file.complete_bytes);
  if (!could_start_line(tail))
    throw InputError(source, static_cast<long>(lines.size()) + 1,
                     "text without a line end: " + tail.substr(0, 40));
  auto& head = file.head;
  head.results = head_value(lines[1], "results", source, 2);
  const auto images = whole_number(head_value(lines[2], "images", source, 3), "images", source, 3);
  head.labels = numbers(head_value(lines[3], "labels", source, 4), images, "labels", source, 4);
  head.golden = numbers(head_value(lines[4], "golden", source, 5), images, "golden", source, 5);
  if (lines[5] != kPerImageHeader)
    throw InputError(source, 6, std::string("expected the header ") + kPerImageHeader);
  std::unordered_map<std::int64_t, long> first_line;  // by Injection
  for (std::size_t i = 6; i < lines.size(); ++i) {
    const auto number = static_cast<long>(i) + 1;
    const auto fields = text::split(lines[i], ',');
    if (fields.size() != 3) throw InputError(source, number, "expected Injection,image,faulty: " + lines[i]);
    const auto injection = whole_number(fields[0], "Injection", source, number);
    const CriticalImage image{whole_number(fields[1], "image", source, number),
                              whole_number(fields[2], "faulty", source, number)};
    if (image.image >= images)
      throw InputError(
          source, number,
          "image " + std::to_string(image.image) + " is not among its " + std::to_string(images));
    if (file.faults.empty() || file.faults.back().injection != injection) {
      const auto [seen, fresh] = first_line.emplace(injection, number);
      if (!fresh)
        throw InputError(source, number,
                         "Injection " + std::to_string(injection) + " again (its lines began on line " +
                             std::to_string(seen->second) + ")");
      file.faults.push_back({injection, {}, number});
    }
    auto& fault = file.faults.back();
    if (!fault.images.empty() && fault.images.back().image >= image.image)
      throw InputError(source, number, "Injection " + std::to_string(injection) + ": images not ascending");
    fault.images.push_back(image);
  }
  return file;
}

void check_per_image(const PerImageFile& file, const std::vector<ResultRow>& rows,
                     const std::filesystem::path& per_image, const std::filesystem::path& results) {
  std::unordered_map<std::int64_t, const PerImageFault*> listed;
  for (const auto& fault : file.faults) listed.emplace(fault.injection, &fault);
  std::unordered_map<std::int64_t, bool> in_results;
  for (const auto& row : rows) {
    in_results.emplace(row.fault.injection, true);
    const auto it = listed.find(row.fault.injection);
    const auto n = it == listed.end() ? 0 : static_cast<std::int64_t>(it->second->images.size());
    if (n != row.counts.critical)
      throw InputError(per_image.string() + ": Injection " + std::to_string(row.fault.injection) + " lists " +
                       std::to_string(n) + " critical images, its row in " + results.string() + " counts " +
                       std::to_string(row.counts.critical));
  }
  for (const auto& fault : file.faults)
    if (!in_results.count(fault.injection))
      throw InputError(per_image.string(), fault.line,
                       "Injection " + std::to_string(fault.injection) + " has no row in " + results.string());
}

std::string format_per_image(std::int64_t injection, const std::vector<CriticalImage>& images) {
  std::string out;
  const auto prefix = std::to_string(injection) + ',';
  for (const auto& image : images)
    out += prefix + std::to_string(image.image) + ',' + std::to_string(image.faulty) + '\n';
  return out;
}

void replace_per_image(const std::filesystem::path& path, const PerImageHead& head,
                       const std::vector<PerImageFault>& faults) {
  const auto joined = [](const std::vector<std::int64_t>& values) {
    std::string out;
    for (const auto v : values) out += (out.empty() ? "" : " ") + std::to_string(v);
    return out;
  };
  std::string content = std::string(kPerImageMarker) + "\n# results: " + head.results +
                        "\n# images: " + std::to_string(head.images()) +
                        "\n# labels: " + joined(head.labels) + "\n# golden: " + joined(head.golden) + "\n" +
                        kPerImageHeader + "\n";
  for (const auto& fault : faults) content += format_per_image(fault.injection, fault.images);
  replace_file(path, content);
}

PerImageWriter::PerImageWriter(std::filesystem::path path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr)
    throw ResourceError(path_.string() + ": cannot open for writing: " + std::strerror(errno));
}

PerImageWriter::~PerImageWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void PerImageWriter::append(std::int64_t injection, const std::vector<CriticalImage>& images) {
  if (images.empty()) return;
  const auto lines = format_per_image(injection, images);
  if (std::fwrite(lines.data(), 1, lines.size(), file_) != lines.size() || std::fflush(file_) != 0)
    throw ResourceError(path_.string() + ": write failed: " + std::strerror(errno));
}

}  // namespace dnnfi
