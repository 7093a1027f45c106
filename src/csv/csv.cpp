#include "csv.hpp"

namespace dnnfi::csv {

std::optional<std::vector<std::string>> split(const std::string& raw, std::string* error) {
  std::string line = raw;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> fields;
  std::string field;
  std::size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field += line[i++];
      }
      if (!closed) {
        if (error) *error = "unterminated quoted field";
        return std::nullopt;
      }
      if (i < line.size() && line[i] != ',') {
        if (error) *error = "text after a closing quote";
        return std::nullopt;
      }
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') {
          if (error) *error = "quote inside an unquoted field";
          return std::nullopt;
        }
        field += line[i++];
      }
    }
    fields.push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

std::string quote(const std::string& field) {
  if (field.find_first_of(",\"\r\n ") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace dnnfi::csv
