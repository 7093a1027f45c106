#pragma once
// The campaign's summary CSV: the seed's eight columns, then non_finite and fault_model.
// Each finished fault is appended and flushed at once, so an interrupted campaign resumes
// from the file and loses nothing.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "dnnfi/fault.hpp"
#include "dnnfi/outcome.hpp"

namespace dnnfi {

inline constexpr const char* kResultsHeader =
    "Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical,non_finite,fault_model";

struct ResultRow {
  Fault fault;
  FaultModel model = FaultModel::kBitFlip;
  Counts counts;
};

std::string format_row(const ResultRow& row);

class ResultsFile {
 public:
  // Opens `path` for appending, creating it with the header when absent or empty. The
  // complete rows already there are returned in `existing`; a torn last line (no newline)
  // is cut off so it is redone. A wrong header or malformed row is an InputError naming
  // the file and line.
  ResultsFile(const std::filesystem::path& path, std::vector<ResultRow>* existing);
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  void append(const ResultRow& row);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace dnnfi
