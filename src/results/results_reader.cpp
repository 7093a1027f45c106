#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "csv/fault_table.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/results.hpp"
#include "dnnfi/word_format.hpp"
#include "text.hpp"

namespace dnnfi {

struct ResultsReader::State {
  std::string content;  // the complete lines
  std::uintmax_t torn = 0;
  std::istringstream stream;
  std::unique_ptr<csv::TableReader> table;
  bool dnnfi_format = false;
  std::size_t n_injections = 4, masked = 5, non_critical = 6, critical = 7;
  std::optional<std::size_t> non_finite, fault_model, rule;
};

namespace {
std::string read_stream(std::istream& in, const std::string& source) {
  std::string content(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>{});
  if (in.bad()) throw InputError(source + ": read error");
  return content;
}

// Whether `tail`, text after the last line end, could be the start of a results row that a
// kill cut short (the first `columns` fields of a dnnfi or seed results header, each of its
// form so far). A note a user appended without a line end cannot, and is never dropped.
bool could_start_row(const std::string& tail, const std::vector<std::string>& header) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (const char c : tail) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\r') return false;
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted)
      fields.emplace_back();
    else
      fields.back() += c;
  }
  if (fields.size() > header.size()) return false;
  const auto only = [](const std::string& field, std::string_view allowed) {
    return field.find_first_not_of(allowed) == std::string::npos;
  };
  const auto prefix_of_name = [](const std::string& field, const std::vector<std::string>& names) {
    const auto value = text::trim(field);
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& name) { return name.compare(0, value.size(), value) == 0; });
  };
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& field = fields[i];
    const bool last = i + 1 == fields.size();
    const auto& column = header[i];
    bool fits = true;
    if (column == "Injection")
      fits = only(field, "0123456789") && (last || !field.empty());
    else if (column == "Layer")
      fits = field.find(' ') == std::string::npos && (last || !field.empty());
    else if (column == "TensorIndex")
      fits = only(field, "\"()0123456789, ") && (last || !field.empty());
    else if (column == "Bit")
      fits = only(field, "\"0123456789|") && (last || !field.empty());
    else if (column == "fault_model")
      fits = prefix_of_name(field, fault_model_names());
    else if (column == "non_finite_rule")
      fits = prefix_of_name(field, non_finite_rule_names());
    else if (column == "non_finite")
      fits = only(field, "0123456789\r");
    else if (i < 8)  // the seed's counts
      fits = only(field, "0123456789\r") && (last || !field.empty());
    if (!fits) return false;
  }
  return true;
}

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path.string() + ": a folder, not a results file");
  if (!std::filesystem::exists(path, ec)) throw InputError(path.string() + ": no such results file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open the results file");
  return read_stream(in, path.string());
}
}  // namespace

ResultsReader::ResultsReader(const std::filesystem::path& path) : state_(std::make_unique<State>()) {
  load(read_file(path), path.string());
}

ResultsReader::ResultsReader(std::istream& in, const std::string& source)
    : state_(std::make_unique<State>()) {
  load(read_stream(in, source), source);
}

void ResultsReader::load(std::string content, const std::string& source) {
  auto& s = *state_;
  s.content = std::move(content);
  const auto last_newline = s.content.rfind('\n');
  const std::size_t complete = last_newline == std::string::npos ? 0 : last_newline + 1;
  s.torn = s.content.size() - complete;
  const auto tail = s.content.substr(complete);
  s.content.resize(complete);
  if (complete == 0) return;
  s.stream.str(s.content);
  s.table = std::make_unique<csv::TableReader>(s.stream, source, kResultsHeader);
  const auto& t = *s.table;
  if (!t.starts_with(
          {"Injection", "Layer", "TensorIndex", "Bit", "n_injections", "masked", "non_critical", "critical"}))
    t.fail("not a dnnfi results file nor a published list with results (header '" + t.header_line() +
           "'); results files start with " + kSeedResultsHeader);
  s.dnnfi_format = t.header_line() == kResultsHeader;
  s.non_finite = t.column("non_finite");
  s.fault_model = t.column("fault_model");
  s.rule = t.column("non_finite_rule");
  if (s.torn > 0 && !could_start_row(tail, t.header())) {
    const auto lines = 1 + std::count(s.content.begin(), s.content.end(), '\n');
    const auto shown = tail.size() > 40 ? tail.substr(0, 40) + "..." : tail;
    throw InputError(source, static_cast<long>(lines),
                     "the last line ('" + shown +
                         "') has no line end and is not the start of a results row a kill cut short; dnnfi "
                         "drops only such a row: move that text out of the file (it is left as it is)");
  }
}

ResultsReader::~ResultsReader() = default;

bool ResultsReader::has_header() const { return state_->table != nullptr; }
bool ResultsReader::dnnfi_format() const { return state_->dnnfi_format; }
long ResultsReader::line() const { return state_->table ? state_->table->line() : 0; }
std::uintmax_t ResultsReader::complete_bytes() const { return state_->content.size(); }
std::uintmax_t ResultsReader::torn_bytes() const { return state_->torn; }

bool ResultsReader::next(ResultRow& row) {
  auto& s = *state_;
  if (!s.table || !s.table->next()) return false;
  const auto& t = *s.table;
  row.fault = csv::read_fault_columns(t);
  // non_finite is unknown where the file has no such column (the published lists) or leaves
  // the cell empty (a replay of such a file).
  std::optional<std::int64_t> non_finite;
  if (s.non_finite && !text::trim(t.field(*s.non_finite)).empty()) non_finite = t.count(*s.non_finite);
  row.counts = Counts{t.count(s.n_injections), t.count(s.masked), t.count(s.non_critical),
                      t.count(s.critical),     non_finite,        {}};
  row.fault.model = kDefaultFaultModel;
  if (s.fault_model) {
    const auto model = parse_fault_model(text::trim(t.field(*s.fault_model)));
    if (!model) t.fail("unknown fault_model '" + t.field(*s.fault_model) + "'");
    row.fault.model = *model;
  }
  // Files without the column: the seed's lists used argmax, dnnfi before it existed critical.
  row.rule = s.non_finite ? NonFiniteRule::kCritical : NonFiniteRule::kArgmax;
  if (s.rule) {
    const auto rule = parse_non_finite_rule(text::trim(t.field(*s.rule)));
    if (!rule) t.fail("unknown non_finite_rule '" + t.field(*s.rule) + "'");
    row.rule = *rule;
  }
  const auto& c = row.counts;
  if (c.masked + c.non_critical + c.critical != c.injections)
    t.fail("masked + non_critical + critical differs from n_injections");
  if (c.non_finite && *c.non_finite > c.injections) t.fail("non_finite exceeds n_injections");
  return true;
}

std::vector<ResultRow> ResultsReader::read_all() {
  std::vector<ResultRow> rows;
  // A fault counted twice (two parts concatenated by hand) would weigh twice in every finding,
  // and its two rows may disagree: refused, as resume and merge refuse it.
  std::unordered_map<std::int64_t, long> injection_line;
  std::unordered_map<std::string, long> fault_line;
  for (ResultRow row; next(row);) {
    const auto& t = *state_->table;
    if (const auto [at, fresh] = injection_line.emplace(row.fault.injection, t.line()); !fresh)
      t.fail("Injection " + std::to_string(row.fault.injection) + " is already on line " +
             std::to_string(at->second) + "; a fault is counted once: keep one of the two rows");
    if (const auto [at, fresh] = fault_line.emplace(key(row.fault), t.line()); !fresh)
      t.fail("the fault " + key(row.fault) + " is already on line " + std::to_string(at->second) +
             "; a fault is counted once: keep one of the two rows");
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace dnnfi
