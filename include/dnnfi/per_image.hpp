#pragma once
// Per-image outcomes (`run --per-image`): which images each fault made critical, and into which
// class, in a CSV beside the results file (RESULTS.images.csv). Every image a fault does not list
// kept its golden top-1 class, so the file is exact for every fault and image while holding the
// critical ones only. Format 1:
//
//   # dnnfi per-image outcomes, format 1
//   # results: NAME        the results file's name (the file beside it)
//   # images: N
//   # labels: l0 l1 ...    each image's label, space-separated
//   # golden: g0 g1 ...    each image's golden top-1 class
//   Injection,image,faulty
//   7,23,5                 fault 7 (the results' Injection) turned image 23 into class 5
//
// A fault's lines are written together, images ascending, before its results row; a fault with
// no critical image has none. pandas.read_csv(path, comment="#") reads the table.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dnnfi/outcome.hpp"
#include "dnnfi/results.hpp"

namespace dnnfi {

inline constexpr const char* kPerImageMarker = "# dnnfi per-image outcomes, format 1";
inline constexpr const char* kPerImageHeader = "Injection,image,faulty";

// Where the per-image outcomes of a results file live: R.csv -> R.images.csv (R.images.csv for
// a results file R without the .csv extension).
std::filesystem::path per_image_path(const std::filesystem::path& results);

// What a per-image file says once: its results file, and every image's label and golden class.
struct PerImageHead {
  std::string results;  // the results file's name
  std::vector<std::int64_t> labels, golden;
  std::int64_t images() const { return static_cast<std::int64_t>(golden.size()); }
};

// One fault's critical images.
struct PerImageFault {
  std::int64_t injection = 0;
  std::vector<CriticalImage> images;
  long line = 0;  // of its first line in the file read; 0: not read from a file
};

struct PerImageFile {
  PerImageHead head;
  std::vector<PerImageFault> faults;  // in the file's order, each Injection once
  // Bytes up to and including the last newline, and after it (a line a kill cut short: dropped).
  std::uintmax_t complete_bytes = 0, torn_bytes = 0;
};

// Reads and validates a per-image file. Every malformed line, an image out of range, a fault's
// images out of order and a fault twice is an InputError naming the file and line.
PerImageFile read_per_image(const std::filesystem::path& path);

// Whether `path`'s first line is the per-image marker (a file dnnfi wrote as per-image outcomes).
bool is_per_image_file(const std::filesystem::path& path);

// Checks `file` against the rows of its results file: every fault listed is a row there, and
// lists exactly as many images as that row's critical count; a row with critical images and no
// lines is missing. InputError naming both files and the fault otherwise.
void check_per_image(const PerImageFile& file, const std::vector<ResultRow>& rows,
                     const std::filesystem::path& per_image, const std::filesystem::path& results);

// The lines of one fault, each with its newline.
std::string format_per_image(std::int64_t injection, const std::vector<CriticalImage>& images);

// The whole file at once, atomically (temporary file, rename).
void replace_per_image(const std::filesystem::path& path, const PerImageHead& head,
                       const std::vector<PerImageFault>& faults);

// Appends faults' lines to a per-image file, flushed as each fault is written.
class PerImageWriter {
 public:
  // Opens `path` for appending; it must hold its head already (replace_per_image).
  explicit PerImageWriter(std::filesystem::path path);
  ~PerImageWriter();
  PerImageWriter(const PerImageWriter&) = delete;
  PerImageWriter& operator=(const PerImageWriter&) = delete;
  void append(std::int64_t injection, const std::vector<CriticalImage>& images);

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace dnnfi
