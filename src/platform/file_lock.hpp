#pragma once
// An advisory lock (flock) that one process holds on a results file for as long as it writes
// it, so that a second writer is refused instead of interleaving its rows.
#include <filesystem>

namespace dnnfi {

class FileLock {
 public:
  // Opens (creating it empty when missing) and locks `path`; an Error (exit 2) naming the file
  // when another process holds the lock, a ResourceError when it cannot be created.
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // True when the lock created the file (it did not exist before).
  bool created() const { return created_; }

 private:
  int fd_ = -1;
  bool created_ = false;
};

}  // namespace dnnfi
