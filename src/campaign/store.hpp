#pragma once
// A results file as a campaign sees it (as leveldb's DB over its log): claimed (the output rule,
// the one-writer lock), checked once against the campaign (its provenance, every row), then
// appended to and finished with its rows in the campaign's order. The rows it holds are kept in
// memory, so nothing reads the file back; and the merge of a campaign's parts.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "dnnfi/per_image.hpp"
#include "dnnfi/provenance.hpp"
#include "dnnfi/results.hpp"
#include "strata.hpp"

namespace dnnfi {

class FileLock;

// What a campaign's results file must be, and what may be done with one of another campaign.
struct StoreCheck {
  std::vector<Fault> allowed;  // the faults the file may hold, each once
  // Or, for a campaign drawn from a whole population, any fault of it (by its Injection number).
  std::optional<PopulationSpec> population;
  std::int64_t images = 0;  // per fault
  NonFiniteRule rule = kDefaultNonFiniteRule;
  bool adopt = false;      // --adopt: rows without provenance are taken (checked row by row)
  bool overwrite = false;  // --overwrite: another campaign's results are replaced
  // --per-image: each fault's critical images go to per_image_path(output) as well; a resumed
  // file's are checked against its rows.
  bool per_image = false;
};

class ResultsStore {
 public:
  // Claims `output` for writing: check_output (never one of `inputs`, a folder or a file dnnfi
  // did not write as results) and the one-writer lock, held until the store is gone. Reads only.
  ResultsStore(std::filesystem::path output, const std::vector<std::filesystem::path>& inputs);
  // An output the lock created and nothing was written to is removed (a refused or failed start
  // leaves nothing behind).
  ~ResultsStore();
  ResultsStore(const ResultsStore&) = delete;
  ResultsStore& operator=(const ResultsStore&) = delete;

  // Checks what the file holds against the campaign whose provenance is `ours`: its provenance
  // must be this campaign's (everything that can change a count agrees), its rows must be
  // `check.allowed`'s faults over `check.images` images with `check.rule`, each once; rows with
  // no provenance beside them are of unknown origin (refused unless `check.adopt`, which the
  // provenance then records). An InputError naming the file (and line) otherwise; the file is
  // left as it is. Returns the provenance to write (ours, with an adoption kept on record).
  Provenance check(Provenance ours, const StoreCheck& check);

  const std::filesystem::path& path() const { return path_; }
  // The row of a fault the file holds (found at check() or appended since), or nullptr.
  const ResultRow* find(std::int64_t injection) const;

  // With --per-image: every image's label and golden class, before begin(). A resumed per-image
  // file must have the same (an InputError otherwise).
  void set_per_image_head(PerImageHead head);
  // Writes `provenance` beside the file and opens the file for appending (a torn last line is
  // dropped, a new file gets its header); with --per-image, the per-image file too (rewritten
  // with the faults of the rows kept). Once, before the first append.
  void begin(const Provenance& provenance);
  // Appends a finished fault's row, flushed at once; with --per-image its critical images first.
  void append(const ResultRow& row);
  // Writes the provenance again (a stratified campaign's design grows with each round).
  void update(const Provenance& provenance) { write_provenance(path_, provenance); }
  // Puts the rows in the order of `faults` (every one of which the file holds) when they are
  // not: a campaign completed by a resume that was not a plain continuation ends as one run
  // straight through would, byte for byte. Atomically.
  void finish_in_order(const std::vector<Fault>& faults);

 private:
  std::filesystem::path path_;
  std::unique_ptr<FileLock> lock_;
  std::vector<ResultRow> rows_;  // in the file's order
  std::unordered_map<std::int64_t, std::size_t> by_injection_;
  std::uintmax_t complete_bytes_ = 0, torn_bytes_ = 0;
  bool has_header_ = false, begun_ = false;
  std::optional<ResultsWriter> writer_;
  // --per-image: the file, its head, the faults it held of the rows kept, and its writer.
  bool per_image_ = false, per_image_created_ = false;
  std::filesystem::path per_image_path_;
  std::optional<PerImageHead> per_image_head_, per_image_read_head_;
  std::vector<PerImageFault> per_image_kept_;
  std::unique_ptr<PerImageWriter> per_image_writer_;
  // Reads and checks the per-image file of a resumed campaign (check()).
  void check_per_image_file();
  // check() of the results file alone.
  Provenance check_rows(Provenance ours, const StoreCheck& check);
  bool replacing_ = false;          // --overwrite replaces another campaign's file
  bool started_per_image_ = false;  // its provenance says --per-image
};

}  // namespace dnnfi
