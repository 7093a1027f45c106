#pragma once
// Errors the library reports to its callers, and the exit codes the CLI maps them to.
#include <stdexcept>
#include <string>

namespace dnnfi {

// The small, fixed set of process exit codes (documented in the README).
enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,          // unexpected internal or LibTorch error
  kUsage = 2,            // bad command-line options
  kBadInput = 3,         // a malformed input file (fault list, results file, data set)
  kMissingResource = 4,  // a model, checkpoint or data set that cannot be found or verified
  kInterrupted = 130,    // stopped by SIGINT/SIGTERM; finished rows are kept
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Bad user input; the message starts with "file:line: " when a line is known.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ExitCode::kBadInput, message) {}
  InputError(const std::string& file, long line, const std::string& message)
      : Error(ExitCode::kBadInput, file + ":" + std::to_string(line) + ": " + message) {}
};

class ResourceError : public Error {
 public:
  explicit ResourceError(const std::string& message) : Error(ExitCode::kMissingResource, message) {}
};

}  // namespace dnnfi
