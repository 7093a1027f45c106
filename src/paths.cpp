#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "dnnfi/errors.hpp"
#include "dnnfi/model.hpp"

extern char** environ;

namespace dnnfi {
namespace {
std::optional<std::filesystem::path> env_path(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::filesystem::path(value);
}
}  // namespace

Locations resolve_locations(const std::optional<std::filesystem::path>& weights_dir,
                            const std::optional<std::filesystem::path>& data_dir) {
  Locations where;
  if (auto home = env_path("DNNFI_HOME")) {
    where.home = *home;
  } else if (auto user = env_path("HOME")) {
    where.home = *user / ".cache" / "dnnfi";
  } else {
    throw ResourceError("neither DNNFI_HOME nor HOME is set; set DNNFI_HOME to a writable directory");
  }
  where.weights_dir = weights_dir ? weights_dir : env_path("DNNFI_WEIGHTS_DIR");
  where.data_dir = data_dir ? data_dir : env_path("DNNFI_DATA_DIR");
  return where;
}

std::string python_interpreter() {
  if (auto python = env_path("DNNFI_PYTHON")) return python->string();
  // Debian's python3-torch is installed for the system interpreter, which may not be first on PATH.
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

std::filesystem::path scripts_dir() {
  if (auto dir = env_path("DNNFI_SCRIPTS_DIR")) return *dir;
  return DNNFI_SOURCE_SCRIPTS_DIR;
}

int run_process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) throw ResourceError("cannot start " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(ExitCode::kFailure, "waiting for " + argv[0] + ": " + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace dnnfi
