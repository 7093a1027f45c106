#pragma once
// Files as dnnfi writes them: the file a path lands on, and one atomic replace.
#include <filesystem>
#include <string>
#include <string_view>

namespace dnnfi {

// The file a writer of `path` lands on: absolute, every part that exists resolved (symbolic
// links, '..'), the rest normalized as the folders a writer creates will make it
// ("x/../R.csv" is R.csv, whether x exists or not). An output's identity, for every check.
std::filesystem::path resolved_path(const std::filesystem::path& path);

// The first bytes of a file (4 KiB: headers, markers and the first line sit in them); empty when
// it cannot be read.
std::string head_of_file(const std::filesystem::path& path);
// The first line of such a head, without its line ending.
std::string first_line_of_head(const std::string& head);

// The file's first line (without its line ending), at most `limit` characters, with anything
// unprintable shown as \xNN: for messages that say what a file holds.
std::string first_line_of(const std::filesystem::path& path, std::size_t limit = 60);

// Replaces `path` with `content` at once: written to a temporary file beside it (same folder,
// so the rename is atomic), flushed, then renamed over it; its folder is created when missing.
// A ResourceError naming the file when it cannot be written (exit 4); the temporary file is
// removed on failure.
void replace_file(const std::filesystem::path& path, std::string_view content);
// The temporary name replace_file writes through, for writers that need a path (a subprocess).
std::filesystem::path temporary_beside(const std::filesystem::path& path);

}  // namespace dnnfi
