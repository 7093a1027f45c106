// Files as dnnfi writes them (files.hpp).
#include "files.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "dnnfi/errors.hpp"

namespace dnnfi {

// Enough of a file to recognise it: headers, markers and the first line all sit in it.
constexpr std::size_t kHeadBytes = 4096;

std::string head_of_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(kHeadBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

std::string first_line_of_head(const std::string& head) {
  auto line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::filesystem::path resolved_path(const std::filesystem::path& path) {
  std::error_code ec;
  auto resolved = std::filesystem::absolute(path, ec);
  if (ec) return path.lexically_normal();
  // weakly_canonical resolves the parts that exist and normalizes the rest lexically; once a
  // '..' after a missing folder is gone, an existing part behind it (a symbolic link) can be
  // resolved too, so repeat until nothing changes.
  for (int i = 0; i < 8; ++i) {
    auto next = std::filesystem::weakly_canonical(resolved, ec);
    if (ec) return resolved.lexically_normal();
    if (next == resolved) break;
    resolved = std::move(next);
  }
  return resolved;
}

std::string first_line_of(const std::filesystem::path& path, std::size_t limit) {
  const auto line = first_line_of_head(head_of_file(path));
  std::string shown;
  for (char c : line.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    shown += u < 0x20 || u >= 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  return line.size() > limit ? shown + "..." : shown;
}

std::filesystem::path temporary_beside(const std::filesystem::path& path) {
  auto temporary = path;
  temporary += fmt::format(".dnnfi-{}.tmp", ::getpid());
  return temporary;
}

void replace_file(const std::filesystem::path& path, std::string_view content) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  const auto temporary = temporary_beside(path);
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr)
    throw ResourceError(path.string() + ": cannot be written (" + std::strerror(errno) + ")");
  const bool written =
      std::fwrite(content.data(), 1, content.size(), file) == content.size() && std::fflush(file) == 0;
  const int error = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::filesystem::remove(temporary, ec);
    throw ResourceError(path.string() + ": cannot be written (" + std::strerror(written ? errno : error) +
                        ")");
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw ResourceError(path.string() + ": cannot be written (" + ec.message() + ")");
  }
}

}  // namespace dnnfi
