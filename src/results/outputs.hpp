#pragma once
// The one rule for every file a command writes: never an input of the same command, never a
// folder or a device, and an existing file only when dnnfi wrote it as that kind of output
// (recognised by its header and, where it has one, its sidecar). Files are written through one
// atomic replace (platform/files.hpp), so a reader sees the old file or the new one, never a part.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dnnfi {

enum class OutputKind {
  kResults,     // a results CSV (dnnfi's header; its RESULTS.csv.json provenance is the run's business)
  kFaultList,   // a fault list `dnnfi faultlist` wrote (its FILE.csv.json sidecar says so)
  kReportJson,  // report --json / compare --json ("kind" is their first key)
  kReportHtml,  // report --html (its generator meta tag)
  kSlurmScript  // the job scripts of `dnnfi slurm` (their second line)
};

// What the files of a kind are called in messages ("a dnnfi results file").
std::string describe(OutputKind kind);
// The marker that makes an existing file of `kind` recognisable as dnnfi's: the JSON kind, the
// HTML generator, the script's second line.
std::string_view output_marker(OutputKind kind);

// Checks that `path`, given by `option` ("-o", "--json"), may be written as `kind`, all on its
// resolved_path():
//  - an Error (exit 2) when it is one of `inputs` (the same file under any name);
//  - a ResourceError (exit 4) when it is a folder, a device or anything but a regular file;
//  - an InputError (exit 3) when it exists, is not empty, and dnnfi did not write it as `kind`;
//    the message names the file and quotes what it begins with.
// Absent inputs (empty paths) are skipped.
void check_output(const std::filesystem::path& path, OutputKind kind,
                  const std::vector<std::filesystem::path>& inputs, std::string_view option);

}  // namespace dnnfi
