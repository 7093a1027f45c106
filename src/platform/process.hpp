#pragma once
// Running dnnfi's Python helpers (the model exporter, the test-set downloader).
#include <filesystem>
#include <string>
#include <vector>

namespace dnnfi {

// Runs a command (argv[0] is looked up on PATH), inheriting stdio; returns its exit status.
int run_process(const std::vector<std::string>& argv);
// The Python interpreter that has torch: DNNFI_PYTHON, else Debian's /usr/bin/python3.
std::string python_interpreter();
// dnnfi's scripts: DNNFI_SCRIPTS_DIR, else share/dnnfi/scripts installed beside the binary
// (../share/dnnfi/scripts from bin/, or share/dnnfi/scripts in a build tree), found from the
// running executable's own path so an installed or moved dnnfi keeps working.
std::filesystem::path scripts_dir();

}  // namespace dnnfi
