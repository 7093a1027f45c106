#include "fault_table.hpp"

#include <algorithm>

#include "csv.hpp"
#include "dnnfi/errors.hpp"
#include "text.hpp"

namespace dnnfi::csv {

TableReader::TableReader(std::istream& in, std::string source, std::string_view expected_header)
    : in_(in), source_(std::move(source)) {
  if (!std::getline(in_, header_line_))
    throw InputError(source_, 1, "empty file; expected the header " + std::string(expected_header));
  line_ = 1;
  if (!header_line_.empty() && header_line_.back() == '\r') header_line_.pop_back();
  // Spreadsheets save CSV with a UTF-8 byte order mark, which is no part of the first column's name.
  if (header_line_.rfind("\xEF\xBB\xBF", 0) == 0) header_line_.erase(0, 3);
  std::string why;
  auto fields = split(header_line_, &why);
  if (!fields) fail("broken header: " + why);
  header_ = std::move(*fields);
}

std::optional<std::size_t> TableReader::column(std::string_view name) const {
  const auto it = std::find(header_.begin(), header_.end(), name);
  if (it == header_.end()) return std::nullopt;
  return static_cast<std::size_t>(it - header_.begin());
}

bool TableReader::starts_with(const std::vector<std::string_view>& names) const {
  return header_.size() >= names.size() && std::equal(names.begin(), names.end(), header_.begin());
}

bool TableReader::next() {
  std::string line, why;
  while (std::getline(in_, line)) {
    ++line_;
    if (text::trim(line).empty()) continue;
    auto fields = split(line, &why);
    if (!fields) fail(why);
    if (fields->size() != header_.size())
      fail("expected " + std::to_string(header_.size()) + " fields, got " + std::to_string(fields->size()));
    fields_ = std::move(*fields);
    return true;
  }
  if (in_.bad()) throw InputError(source_ + ": read error");
  return false;
}

std::int64_t TableReader::count(std::size_t column) const {
  const auto value = text::parse_int(text::trim(field(column)));
  if (!value || *value < 0)
    fail(header_.at(column) + " '" + field(column) + "' is not a non-negative integer");
  return *value;
}

void TableReader::fail(const std::string& what) const { throw InputError(source_, line_, what); }

Fault read_fault_columns(const TableReader& row) {
  Fault fault;
  fault.injection = row.count(0);
  fault.layer = text::trim(row.field(1));
  if (fault.layer.empty()) row.fail("empty Layer");
  std::string why;
  auto index = parse_index(row.field(2), &why);
  if (!index) row.fail("TensorIndex '" + row.field(2) + "': " + why);
  fault.index = std::move(*index);
  auto bits = parse_bits(row.field(3));
  if (!bits)
    row.fail("Bit '" + row.field(3) + "' must be an integer in 0..31, or several joined by '|' (3|4)");
  fault.bits = *bits;
  return fault;
}

std::string format_fault_columns(const Fault& fault) {
  return std::to_string(fault.injection) + ',' + quote(fault.layer) + ',' + quote(format_index(fault.index)) +
         ',' + quote(format_bits(fault.bits));
}

}  // namespace dnnfi::csv
