// The output rule (outputs.hpp).
#include "outputs.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "dnnfi/errors.hpp"
#include "dnnfi/results.hpp"
#include "platform/files.hpp"

namespace dnnfi {
namespace {

std::string sidecar_of(const std::filesystem::path& path) {
  auto sidecar = path;
  sidecar += ".json";
  return sidecar.string();
}

bool is_results(const std::string& head) {
  const std::string header = kResultsHeader;
  if (head.find('\n') == std::string::npos)  // a torn header: a kill while it was written
    return header.compare(0, head.size(), head) == 0;
  return first_line_of_head(head) == header;
}

bool is_seed_table(const std::string& head) {
  return first_line_of_head(head).rfind("Injection,Layer,TensorIndex,Bit", 0) == 0;
}

// What marks the sidecar dnnfi writes beside a results file (its provenance) or a fault list.
std::string_view sidecar_marker(OutputKind kind) {
  return kind == OutputKind::kResults ? "\"provenance_version\"" : output_marker(OutputKind::kFaultList);
}

bool has_sidecar(OutputKind kind) { return kind == OutputKind::kResults || kind == OutputKind::kFaultList; }

const char* kind_of_file(const std::filesystem::file_status& status) {
  switch (status.type()) {
    case std::filesystem::file_type::directory:
      return "a folder";
    case std::filesystem::file_type::character:
      return "a character device";
    case std::filesystem::file_type::block:
      return "a block device";
    case std::filesystem::file_type::fifo:
      return "a pipe";
    case std::filesystem::file_type::socket:
      return "a socket";
    default:
      return "not a regular file";
  }
}

[[noreturn]] void refuse(const std::filesystem::path& path, std::string_view option, OutputKind kind,
                         const std::string& what) {
  throw InputError(path.string() + ":1: exists and is not " + describe(kind) + " (" + what +
                   "); dnnfi replaces only what it wrote: choose another " + std::string(option) +
                   " or move the file away");
}

// How the path was given, and the file it is when a '..' in it makes that less than plain
// ("./x/../R.csv (that is /home/u/R.csv)"), for messages.
std::string shown(const std::filesystem::path& given, const std::filesystem::path& file) {
  for (const auto& part : given)
    if (part == "..") return given.string() + " (that is " + file.string() + ")";
  return given.string();
}

}  // namespace

std::string describe(OutputKind kind) {
  switch (kind) {
    case OutputKind::kResults:
      return "a dnnfi results file";
    case OutputKind::kFaultList:
      return "a fault list dnnfi wrote";
    case OutputKind::kReportJson:
      return "a dnnfi JSON report";
    case OutputKind::kReportHtml:
      return "a dnnfi HTML report";
    case OutputKind::kSlurmScript:
      return "a job script dnnfi wrote";
  }
  return "a dnnfi output";
}

std::string_view output_marker(OutputKind kind) {
  switch (kind) {
    case OutputKind::kResults:
      return kResultsHeader;
    case OutputKind::kFaultList:
      return "\"kind\":\"dnnfi fault list\"";
    case OutputKind::kReportJson:
      return "{\"kind\":\"dnnfi ";
    case OutputKind::kReportHtml:
      return "<meta name='generator' content='dnnfi report'>";
    case OutputKind::kSlurmScript:
      return "\n# written by dnnfi slurm";
  }
  return {};
}

void check_output(const std::filesystem::path& given, OutputKind kind,
                  const std::vector<std::filesystem::path>& inputs, std::string_view option) {
  // Every check is made on the file the writer will land on: a path through a folder that does
  // not exist yet ("x/../R.csv") names R.csv once the writer has created x.
  const auto path = resolved_path(given);
  std::error_code ec;
  for (const auto& input : inputs)
    if (!input.empty() && (resolved_path(input) == path || std::filesystem::equivalent(input, path, ec)))
      throw Error(ExitCode::kUsage, shown(given, path) + " is an input of this command and its " +
                                        std::string(option) + "; choose another " + std::string(option));
  // The sidecar dnnfi writes beside the output must not be someone else's file either.
  const auto sidecar = sidecar_of(path);
  if (has_sidecar(kind) && std::filesystem::exists(sidecar, ec) &&
      head_of_file(sidecar).find(sidecar_marker(kind)) == std::string::npos)
    throw InputError(sidecar + ":1: exists and is not the sidecar dnnfi writes beside " + describe(kind) +
                     " (it begins '" + first_line_of(sidecar) + "'); choose another " + std::string(option) +
                     " or move the file away");
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) return;
  if (!std::filesystem::is_regular_file(status))
    throw ResourceError(shown(given, path) + " is " + kind_of_file(status) + ", not a file dnnfi can write " +
                        std::string(option) + " to; give a file path");
  if (std::filesystem::file_size(path, ec) == 0 || ec) return;
  const auto head = head_of_file(path);
  const auto begins = "it begins '" + first_line_of(path) + "'";
  const auto named = std::filesystem::path(shown(given, path));
  switch (kind) {
    case OutputKind::kResults:
      if (!is_results(head)) refuse(named, option, kind, begins);
      return;
    case OutputKind::kFaultList:
      if (!is_seed_table(head)) refuse(named, option, kind, begins);
      if (!std::filesystem::exists(sidecar, ec))
        refuse(named, option, kind, "a fault list without the " + sidecar + " dnnfi writes beside its own");
      return;
    case OutputKind::kReportJson:
    case OutputKind::kReportHtml:
    case OutputKind::kSlurmScript:
      if (head.find(output_marker(kind)) == std::string::npos) refuse(named, option, kind, begins);
      return;
  }
}

}  // namespace dnnfi
