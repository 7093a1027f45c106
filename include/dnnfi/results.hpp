#pragma once
// Results files: the seed's eight columns, then dnnfi's non_finite, fault_model and
// non_finite_rule (how images with NaN/Inf logits were classified). One reader
// (read-only, validating) for resume and every command that reads results, and one writer
// that appends and flushes each finished fault, so an interrupted campaign loses nothing.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/outcome.hpp"

namespace dnnfi {

inline constexpr const char* kResultsHeader =
    "Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical,non_finite,fault_model,"
    "non_finite_rule";
// What published lists with results carry: the first eight of them.
inline constexpr const char* kSeedResultsHeader =
    "Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical";

struct ResultRow {
  Fault fault;  // with its fault model
  Counts counts;
  NonFiniteRule rule = kDefaultNonFiniteRule;  // how its NaN/Inf images were classified
};

// One results line, without its newline, as the writer appends it.
std::string format_row(const ResultRow& row);

// Reads a dnnfi results file, or a published list with results (the seed's eight columns;
// non_finite is then unknown, as it is for an empty non_finite cell, fault_model bit-flip and the rule
// argmax, the seed's). A file of an older dnnfi, without non_finite_rule, used the rule critical. Only
// complete lines are rows: a last line without its newline (a write cut short by a kill) is reported by
// torn_bytes(), not parsed, when it could be the start of a row; any other text there (a note
// appended without a line end) is an InputError, never dropped. Every malformed row is an InputError naming
// the file and line. Nothing is ever written.
class ResultsReader {
 public:
  explicit ResultsReader(const std::filesystem::path& path);
  ResultsReader(std::istream& in, const std::string& source);
  ~ResultsReader();
  ResultsReader(const ResultsReader&) = delete;
  ResultsReader& operator=(const ResultsReader&) = delete;

  // False for a file with no complete line at all (empty, or only a torn header).
  bool has_header() const;
  // The header is exactly kResultsHeader: a file dnnfi wrote and can resume.
  bool dnnfi_format() const;
  // The next row, validated; false after the last one.
  bool next(ResultRow& row);
  // The line number of the row `next` returned last.
  long line() const;
  // Every remaining row; a fault twice (its Injection number, or its site and fault model) is
  // an InputError naming both lines, as a resume and a merge refuse it.
  std::vector<ResultRow> read_all();
  // Bytes up to and including the last newline, and after it.
  std::uintmax_t complete_bytes() const;
  std::uintmax_t torn_bytes() const;

 private:
  void load(std::string content, const std::string& source);
  struct State;
  std::unique_ptr<State> state_;
};

// Appends rows to a results file, each flushed as soon as it is written.
class ResultsWriter {
 public:
  // Creates `path` (and its folder) with the header.
  static ResultsWriter create(const std::filesystem::path& path);
  // Continues a file a ResultsReader read: cuts it to its `complete_bytes` (a torn last line
  // is dropped so that fault runs again), writes the header when it had none, then appends.
  static ResultsWriter resume(const std::filesystem::path& path, std::uintmax_t complete_bytes,
                              bool has_header);
  ~ResultsWriter();
  ResultsWriter(ResultsWriter&& other) noexcept;
  ResultsWriter& operator=(ResultsWriter&&) = delete;
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  void append(const ResultRow& row);
  const std::filesystem::path& path() const { return path_; }

 private:
  ResultsWriter(std::filesystem::path path, std::FILE* file, bool write_header);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Replaces `path` with the header and `rows` at once: they are written to a temporary file
// beside it, which is renamed over it, so a reader sees the old file or the new one, never a
// part. A ResourceError naming the file when it cannot be written.
void replace_results(const std::filesystem::path& path, const std::vector<ResultRow>& rows);

}  // namespace dnnfi
