#pragma once
// Minimal RFC 4180 field splitting for the seed's CSV files (quoted fields, "" escapes).
#include <optional>
#include <string>
#include <vector>

namespace dnnfi::csv {

// Splits one line (without its newline; a trailing '\r' is dropped). Returns nullopt,
// with a reason in `error`, when a quote is not closed or text follows a closing quote.
std::optional<std::vector<std::string>> split(const std::string& line, std::string* error);

// Quotes a field when it holds a comma, quote or whitespace-sensitive text.
std::string quote(const std::string& field);

}  // namespace dnnfi::csv
