#pragma once
// The seed's CSV tables (fault lists and results files share their first four columns,
// Injection,Layer,TensorIndex,Bit), read row by row with every error as "file:line: what".
// The fault list reader and the results reader are both built on this one reader.
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnnfi/fault.hpp"

namespace dnnfi::csv {

class TableReader {
 public:
  // Reads the header line; an empty input is an error that names `expected_header`.
  TableReader(std::istream& in, std::string source, std::string_view expected_header);

  const std::string& source() const { return source_; }
  const std::vector<std::string>& header() const { return header_; }
  // The header line as written (without its line ending).
  const std::string& header_line() const { return header_line_; }
  std::optional<std::size_t> column(std::string_view name) const;
  // True when the header starts with `names`, in that order.
  bool starts_with(const std::vector<std::string_view>& names) const;

  // Advances to the next row that is not blank; false at the end of the input.
  bool next();
  long line() const { return line_; }
  const std::string& field(std::size_t column) const { return fields_.at(column); }
  // A non-negative integer field; otherwise fails naming the column.
  std::int64_t count(std::size_t column) const;
  // Throws InputError("source:line: what").
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::istream& in_;
  std::string source_;
  std::string header_line_;
  std::vector<std::string> header_;
  std::vector<std::string> fields_;
  long line_ = 0;
};

// The four fault columns of the current row, checked for form (an Injection number, a layer
// name, an index, a bit); the model is left at its default for the caller to resolve.
Fault read_fault_columns(const TableReader& row);
// The four fault columns as the seed writes them: 7,layer1.0.conv1,"(3, 0, 2, 1)",15
std::string format_fault_columns(const Fault& fault);

}  // namespace dnnfi::csv
