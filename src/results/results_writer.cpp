#include <cerrno>
#include <cstring>
#include <utility>

#include "csv/fault_table.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/results.hpp"
#include "platform/files.hpp"

namespace dnnfi {

std::string format_row(const ResultRow& r) {
  const auto& c = r.counts;
  return csv::format_fault_columns(r.fault) + ',' + std::to_string(c.injections) + ',' +
         std::to_string(c.masked) + ',' + std::to_string(c.non_critical) + ',' + std::to_string(c.critical) +
         ',' + (c.non_finite ? std::to_string(*c.non_finite) : std::string()) + ',' +
         std::string(to_string(r.fault.model)) + ',' + std::string(to_string(r.rule));
}

namespace {
std::FILE* open_for_append(const std::filesystem::path& path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr)
    throw ResourceError(path.string() + ": cannot open for writing: " + std::strerror(errno));
  return file;
}
}  // namespace

ResultsWriter::ResultsWriter(std::filesystem::path path, std::FILE* file, bool write_header)
    : path_(std::move(path)), file_(file) {
  if (write_header && (std::fprintf(file_, "%s\n", kResultsHeader) < 0 || std::fflush(file_) != 0))
    throw ResourceError(path_.string() + ": write failed: " + std::strerror(errno));
}

ResultsWriter ResultsWriter::create(const std::filesystem::path& path) {
  if (std::filesystem::exists(path) && std::filesystem::file_size(path) > 0)
    throw Error(ExitCode::kFailure, path.string() + ": exists already; not overwriting it");
  return ResultsWriter(path, open_for_append(path), /*write_header=*/true);
}

ResultsWriter ResultsWriter::resume(const std::filesystem::path& path, std::uintmax_t complete_bytes,
                                    bool has_header) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path) > complete_bytes)
    std::filesystem::resize_file(path, complete_bytes);
  return ResultsWriter(path, open_for_append(path), /*write_header=*/!has_header);
}

ResultsWriter::ResultsWriter(ResultsWriter&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

ResultsWriter::~ResultsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void ResultsWriter::append(const ResultRow& row) {
  const std::string line = format_row(row) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw ResourceError(path_.string() + ": write failed: " + std::strerror(errno));
}

void replace_results(const std::filesystem::path& path, const std::vector<ResultRow>& rows) {
  std::string content = std::string(kResultsHeader) + "\n";
  for (const auto& row : rows) content += format_row(row) + "\n";
  replace_file(path, content);
}

}  // namespace dnnfi
