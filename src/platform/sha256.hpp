#pragma once
// SHA-256 (FIPS 180-4) of bytes, files and folders, for the provenance of results files.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace dnnfi {

class Sha256 {
 public:
  Sha256();
  Sha256& update(const void* data, std::size_t size);
  Sha256& update(std::string_view text) { return update(text.data(), text.size()); }
  // The digest as 64 lower-case hex digits; the object is spent afterwards.
  std::string hex();

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t bytes_ = 0;
};

std::string sha256_hex(std::string_view text);
// A file's bytes; a folder's files, recursively, in sorted order of their relative paths, each
// hashed with its path (so renaming a class folder changes it). InputError when unreadable.
std::string sha256_of_path(const std::filesystem::path& path);

}  // namespace dnnfi
