#pragma once
// Small text parsing shared by the readers of lists, results, model info and the zoo registry.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace dnnfi::text {

inline std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// The whole text as a decimal integer; nullopt for anything else (empty, trailing text, overflow).
inline std::optional<std::int64_t> parse_int(std::string_view text) {
  const std::string s(text);
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return value;
}

// The whole text as a finite decimal number.
inline std::optional<double> parse_double(std::string_view text) {
  const std::string s(text);
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return value;
}

inline std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);) parts.push_back(part);
  return parts;
}

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The line of a LibTorch or TorchScript message that says what failed: its last line that is not
// part of a call stack ("frame #3: ...", "Exception raised from ...", the interpreter's
// traceback lines), whitespace trimmed.
inline std::string error_line(const std::string& message) {
  std::vector<std::string> lines;
  std::stringstream in(message);
  for (std::string line; std::getline(in, line);) lines.push_back(trim(line));
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    const auto& line = *it;
    if (line.empty() || line.rfind("frame #", 0) == 0 || line.rfind("Exception raised from", 0) == 0 ||
        line.rfind("File \"", 0) == 0 || line == "~~~~" || line.find_first_not_of("~^ ") == std::string::npos)
      continue;
    return line;
  }
  return trim(message);
}

}  // namespace dnnfi::text
