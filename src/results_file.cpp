#include "dnnfi/results_file.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "csv.hpp"
#include "dnnfi/errors.hpp"

namespace dnnfi {
namespace {

constexpr std::size_t kResultFields = 10;

bool to_int(const std::string& text, std::int64_t* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *value = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end == text.c_str() + text.size();
}

ResultRow parse_row(const std::string& line, const std::string& file, long line_no) {
  std::string why;
  auto f = csv::split(line, &why);
  if (!f) throw InputError(file, line_no, why);
  if (f->size() != kResultFields)
    throw InputError(file, line_no, "expected " + std::to_string(kResultFields) + " fields, got " +
                                        std::to_string(f->size()));
  ResultRow row;
  std::int64_t values[7];
  const int numeric[] = {0, 3, 4, 5, 6, 7, 8};
  for (int k = 0; k < 7; ++k)
    if (!to_int((*f)[numeric[k]], &values[k]) || values[k] < 0)
      throw InputError(file, line_no, "field " + std::to_string(numeric[k] + 1) + " '" + (*f)[numeric[k]] +
                                          "' is not a non-negative integer");
  row.fault.injection = values[0];
  row.fault.layer = (*f)[1];
  std::string index = (*f)[2];
  for (char& c : index)
    if (c == '(' || c == ')' || c == ',') c = ' ';
  std::stringstream parts(index);
  for (std::int64_t v; parts >> v;) row.fault.index.push_back(v);
  row.fault.bit = static_cast<int>(values[1]);
  row.counts = Counts{values[2], values[3], values[4], values[5], values[6]};
  auto model = parse_fault_model((*f)[9]);
  if (!model) throw InputError(file, line_no, "unknown fault_model '" + (*f)[9] + "'");
  row.model = *model;
  if (row.counts.masked + row.counts.non_critical + row.counts.critical != row.counts.injections)
    throw InputError(file, line_no, "masked + non_critical + critical differs from n_injections");
  return row;
}

}  // namespace

std::string format_row(const ResultRow& r) {
  std::ostringstream out;
  out << r.fault.injection << ',' << csv::quote(r.fault.layer) << ',' << csv::quote(format_index(r.fault.index))
      << ',' << r.fault.bit << ',' << r.counts.injections << ',' << r.counts.masked << ','
      << r.counts.non_critical << ',' << r.counts.critical << ',' << r.counts.non_finite << ','
      << to_string(r.model);
  return out.str();
}

ResultsFile::ResultsFile(const std::filesystem::path& path, std::vector<ResultRow>* existing) : path_(path) {
  existing->clear();
  std::string content;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path.string() + ": cannot read the existing results file");
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto last_newline = content.rfind('\n');
  const std::size_t complete = last_newline == std::string::npos ? 0 : last_newline + 1;
  if (complete < content.size()) {
    spdlog::warn("{}: dropping a torn last line ({} bytes); that fault runs again", path.string(),
                 content.size() - complete);
    std::filesystem::resize_file(path, complete);
    content.resize(complete);
  }
  bool need_header = content.empty();
  if (!need_header) {
    std::stringstream in(content);
    std::string line;
    long line_no = 1;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line != kResultsHeader)
      throw InputError(path.string(), 1, "not a dnnfi results file (header '" + line + "'); choose another -o");
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty()) existing->push_back(parse_row(line, path.string(), line_no));
    }
  }
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr)
    throw ResourceError(path.string() + ": cannot open for writing: " + std::strerror(errno));
  if (need_header) {
    std::fprintf(file_, "%s\n", kResultsHeader);
    std::fflush(file_);
  }
}

ResultsFile::~ResultsFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void ResultsFile::append(const ResultRow& row) {
  const std::string line = format_row(row) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw ResourceError(path_.string() + ": write failed: " + std::strerror(errno));
}

}  // namespace dnnfi
