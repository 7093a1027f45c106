#include "process.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "dnnfi/errors.hpp"

extern char** environ;

namespace dnnfi {

std::string python_interpreter() {
  if (const char* python = std::getenv("DNNFI_PYTHON"); python != nullptr && *python != '\0') return python;
  // Debian's python3-torch is installed for the system interpreter, which may not be first on PATH.
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

std::filesystem::path scripts_dir() {
  if (const char* dir = std::getenv("DNNFI_SCRIPTS_DIR"); dir != nullptr && *dir != '\0') return dir;
  std::error_code error;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  std::vector<std::filesystem::path> tried;
  if (!error) {
    for (const auto& candidate : {exe.parent_path() / ".." / "share" / "dnnfi" / "scripts",
                                  exe.parent_path() / "share" / "dnnfi" / "scripts"}) {
      if (std::filesystem::exists(candidate / "export_model.py")) return candidate.lexically_normal();
      tried.push_back(candidate.lexically_normal());
    }
  }
  std::string where;
  for (const auto& t : tried) where += (where.empty() ? "" : " or ") + t.string();
  throw ResourceError("cannot find dnnfi's scripts (export_model.py)" +
                      (where.empty() ? "" : " in " + where) +
                      "; reinstall dnnfi (cmake --install) or set DNNFI_SCRIPTS_DIR to the scripts/ folder");
}

int run_process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int rc = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) throw ResourceError("cannot start " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw Error(ExitCode::kFailure, "waiting for " + argv[0] + ": " + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace dnnfi
