#include "file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dnnfi/errors.hpp"

namespace dnnfi {

FileLock::FileLock(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  created_ = !std::filesystem::exists(path, ec);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw ResourceError(path.string() + ": cannot be opened for writing (" + std::strerror(errno) + ")");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw Error(ExitCode::kUsage, path.string() +
                                        ": another dnnfi process is writing this results file; wait for it "
                                        "to end or choose another -o");
    throw ResourceError(path.string() + ": cannot be locked (" + std::strerror(error) + ")");
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

}  // namespace dnnfi
