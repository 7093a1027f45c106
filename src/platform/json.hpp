#pragma once
// A small JSON writer for dnnfi's machine-readable outputs (no parser is needed anywhere).
#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace dnnfi::json {

class Writer {
 public:
  Writer& begin_object() { return open('{'); }
  Writer& end_object() { return close('}'); }
  Writer& begin_array() { return open('['); }
  Writer& end_array() { return close(']'); }
  Writer& key(std::string_view name) {
    string(name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  Writer& string(std::string_view value) {
    separate();
    out_ += '"';
    for (char c : value) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\r':
          out_ += "\\r";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20)
            out_ += fmt::format("\\u{:04x}", c);
          else
            out_ += c;
      }
    }
    out_ += '"';
    return *this;
  }
  // Integers exactly; other numbers with 17 significant digits (they read back to the same
  // double); NaN and infinities as null.
  template <typename T>
  Writer& number(T value) {
    separate();
    if constexpr (std::is_integral_v<T>) {
      out_ += std::to_string(value);
    } else if constexpr (std::is_same_v<T, float>) {
      out_ += std::isfinite(value) ? fmt::format("{}", value) : "null";  // the shortest that reads back
    } else {
      out_ += std::isfinite(value) ? fmt::format("{:.17g}", static_cast<double>(value)) : "null";
    }
    return *this;
  }
  Writer& boolean(bool value) {
    separate();
    out_ += value ? "true" : "false";
    return *this;
  }
  // An unknown value is null.
  template <typename T>
  Writer& number(const std::optional<T>& value) {
    if (value) return number(*value);
    separate();
    out_ += "null";
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  Writer& open(char bracket) {
    separate();
    out_ += bracket;
    first_.push_back(true);
    return *this;
  }
  Writer& close(char bracket) {
    out_ += bracket;
    first_.pop_back();
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace dnnfi::json
