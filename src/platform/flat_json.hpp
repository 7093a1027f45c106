#pragma once
// The sidecars dnnfi writes beside its files (a results file's provenance, a fault list's
// record) are one flat JSON object, a key per line; this reads exactly that (strings, integers,
// booleans), which is all dnnfi writes there.
#include <fmt/format.h>

#include <cctype>
#include <map>
#include <string>

#include "dnnfi/errors.hpp"

namespace dnnfi {

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

}  // namespace dnnfi
