// The one rule for every output path, on real files in a temporary folder.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "dnnfi/errors.hpp"
#include "dnnfi/results.hpp"
#include "platform/files.hpp"
#include "results/outputs.hpp"
#include "temp_dir.hpp"

using namespace dnnfi;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The exit status an output check ends with (0: allowed).
int refusal(const std::filesystem::path& path, OutputKind kind,
            const std::vector<std::filesystem::path>& inputs, std::string* message = nullptr) {
  try {
    check_output(path, kind, inputs, "-o");
    return 0;
  } catch (const Error& e) {
    if (message) *message = e.what();
    return static_cast<int>(e.code());
  }
}

}  // namespace

TEST_CASE("an output that is an input of the same command is refused, under any name", "[outputs]") {
  test::TempDir dir;
  const auto results = dir.path / "R.csv";
  write(results, std::string(kResultsHeader) + "\n");
  std::string message;
  CHECK(refusal(dir.path / "." / "R.csv", OutputKind::kReportJson, {results}, &message) == 2);
  CHECK_THAT(message, Contains("is an input of this command and its -o"));
  std::filesystem::create_symlink(results, dir.path / "link.csv");
  CHECK(refusal(dir.path / "link.csv", OutputKind::kResults, {results}) == 2);
  CHECK(refusal(dir.path / "other.json", OutputKind::kReportJson, {results}) == 0);
}

TEST_CASE("an existing file dnnfi did not write as that output is refused, naming what it holds",
          "[outputs]") {
  test::TempDir dir;
  const auto notes = dir.path / "notes.txt";
  write(notes, "my notes\twith a tab");  // one line, no final newline: not a torn results header
  std::string message;
  CHECK(refusal(notes, OutputKind::kResults, {}, &message) == 3);
  CHECK_THAT(message, StartsWith(notes.string() + ":1: exists and is not a dnnfi results file"));
  CHECK_THAT(message, Contains("it begins 'my notes\\x09with a tab'"));
  for (auto kind :
       {OutputKind::kReportJson, OutputKind::kReportHtml, OutputKind::kSlurmScript, OutputKind::kFaultList})
    CHECK(refusal(notes, kind, {}) == 3);
  // An empty file holds nothing to lose; a missing one nothing at all.
  write(dir.path / "empty.json", "");
  CHECK(refusal(dir.path / "empty.json", OutputKind::kReportJson, {}) == 0);
  CHECK(refusal(dir.path / "absent.html", OutputKind::kReportHtml, {}) == 0);
}

TEST_CASE("dnnfi's own outputs are recognised by their header, marker or sidecar", "[outputs]") {
  test::TempDir dir;
  write(dir.path / "r.csv",
        std::string(kResultsHeader) + "\n0,conv1,\"(0, 0, 0, 0)\",3,1,1,0,0,0,bit-flip,argmax\n");
  CHECK(refusal(dir.path / "r.csv", OutputKind::kResults, {}) == 0);
  write(dir.path / "torn.csv", "Injection,Layer,Tens");  // a kill while the header was written
  CHECK(refusal(dir.path / "torn.csv", OutputKind::kResults, {}) == 0);
  write(dir.path / "seed.csv", "Injection,Layer,TensorIndex,Bit,n_injections,masked,non_critical,critical\n");
  CHECK(refusal(dir.path / "seed.csv", OutputKind::kResults, {}) == 3);  // a published list is not dnnfi's
  write(dir.path / "r.json", "{\"kind\":\"dnnfi report\",\"source\":\"r.csv\"}\n");
  CHECK(refusal(dir.path / "r.json", OutputKind::kReportJson, {}) == 0);
  write(dir.path / "r.html", "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>\n" +
                                 std::string(output_marker(OutputKind::kReportHtml)) + "\n");
  CHECK(refusal(dir.path / "r.html", OutputKind::kReportHtml, {}) == 0);
  write(dir.path / "a.sbatch", "#!/bin/bash\n# written by dnnfi slurm: campaign r.csv\n");
  CHECK(refusal(dir.path / "a.sbatch", OutputKind::kSlurmScript, {}) == 0);

  // A fault list is dnnfi's only with the sidecar faultlist writes beside it.
  const auto list = dir.path / "fl.csv";
  write(list, "Injection,Layer,TensorIndex,Bit\n0,conv1,\"(0, 0, 0, 0)\",3\n");
  std::string message;
  CHECK(refusal(list, OutputKind::kFaultList, {}, &message) == 3);
  CHECK_THAT(message, Contains("without the " + list.string() + ".json"));
  write(dir.path / "fl.csv.json", "{\"kind\":\"dnnfi fault list\",\"seed\":38}\n");
  CHECK(refusal(list, OutputKind::kFaultList, {}) == 0);
  // ... and a sidecar of the user's own is not overwritten either, with or without the list.
  write(dir.path / "fl.csv.json", "{\"mine\": 1}\n");
  CHECK(refusal(list, OutputKind::kFaultList, {}, &message) == 3);
  CHECK_THAT(message, Contains("fl.csv.json:1: exists and is not the sidecar dnnfi writes"));
  write(dir.path / "new.csv.json", "{\"mine\": 1}\n");
  CHECK(refusal(dir.path / "new.csv", OutputKind::kResults, {}) == 3);  // a provenance would overwrite it
}

TEST_CASE("a folder or a device is not an output", "[outputs]") {
  test::TempDir dir;
  std::string message;
  CHECK(refusal(dir.path, OutputKind::kResults, {}, &message) == 4);
  CHECK_THAT(message, Contains("is a folder, not a file dnnfi can write -o to"));
  CHECK(refusal("/dev/null", OutputKind::kReportJson, {}, &message) == 4);
  CHECK_THAT(message, Contains("/dev/null is a character device"));
}

TEST_CASE("replace_file replaces a file at once and leaves no temporary file", "[outputs]") {
  test::TempDir dir;
  const auto file = dir.path / "sub" / "out.json";  // its folder is made
  replace_file(file, "first\n");
  CHECK(test::read_text(file) == "first\n");
  replace_file(file, "second\n");
  CHECK(test::read_text(file) == "second\n");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path / "sub"))
    CHECK(entry.path().filename() == "out.json");
  CHECK(temporary_beside(file).parent_path() == file.parent_path());  // the rename stays on one file system
}

TEST_CASE("replace_file that cannot write says which file, and keeps the old one", "[outputs]") {
  test::TempDir dir;
  const auto file = dir.path / "kept.json";
  replace_file(file, "old\n");
  if (::geteuid() != 0) {  // root writes to read-only folders anyway
    ::chmod(dir.path.c_str(), 0555);
    CHECK_THROWS_AS(replace_file(file, "new\n"), ResourceError);
    ::chmod(dir.path.c_str(), 0755);
  }
  // A path whose folder is a device cannot be written.
  try {
    replace_file("/dev/full/x", "new\n");
    FAIL("a file under a device was written");
  } catch (const ResourceError& e) {
    CHECK_THAT(e.what(), StartsWith("/dev/full/x: cannot be written"));
  }
  CHECK(test::read_text(file) == "old\n");
}

TEST_CASE("the first line of a file is shown printable and short", "[outputs]") {
  test::TempDir dir;
  write(dir.path / "bom.csv", "\xEF\xBB\xBFInjection,Layer\r\nrest");
  CHECK(first_line_of(dir.path / "bom.csv") == "\\xef\\xbb\\xbfInjection,Layer");
  write(dir.path / "long.txt", std::string(100, 'a') + "\n");
  CHECK(first_line_of(dir.path / "long.txt", 10) == "aaaaaaaaaa...");
}

TEST_CASE("an output through a folder that does not exist yet is judged as the file it lands on",
          "[outputs]") {
  test::TempDir dir;
  const auto results = dir.path / "R.csv";
  write(results, std::string(kResultsHeader) + "\n");
  const auto notes = dir.path / "notes.txt";
  write(notes, "my notes");
  std::string message;
  // x/ is missing: x/../R.csv is R.csv once a writer has made x.
  CHECK(resolved_path(dir.path / "x" / ".." / "R.csv") == results);
  CHECK(refusal(dir.path / "x" / ".." / "R.csv", OutputKind::kReportJson, {results}, &message) == 2);
  CHECK_THAT(message, Contains("(that is " + results.string() + ") is an input of this command"));
  CHECK(refusal(dir.path / "x" / "y" / ".." / ".." / "notes.txt", OutputKind::kResults, {}) == 3);
  CHECK(refusal(dir.path / "x" / ".." / "notes.txt", OutputKind::kReportHtml, {}) == 3);
  // A link behind the '..' is followed too.
  std::filesystem::create_directory(dir.path / "real");
  write(dir.path / "real" / "mine.json", "{\"mine\": true}\n");
  std::filesystem::create_directory_symlink(dir.path / "real", dir.path / "link");
  CHECK(refusal(dir.path / "x" / ".." / "link" / "mine.json", OutputKind::kReportJson, {}) == 3);
  CHECK_FALSE(std::filesystem::exists(dir.path / "x"));  // a check creates nothing
  CHECK(refusal(dir.path / "x" / ".." / "new.csv", OutputKind::kResults, {}) == 0);
}
