#include <fstream>
#include <sstream>

#include "csv/fault_table.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/results.hpp"
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
                      t.count(s.critical), non_finite};
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
  for (ResultRow row; next(row);) rows.push_back(std::move(row));
  return rows;
}

}  // namespace dnnfi
