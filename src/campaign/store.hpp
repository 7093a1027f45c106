#pragma once
// A results file as a campaign sees it (as leveldb's DB over its log): claimed (the output rule,
// the one-writer lock), checked once against the campaign (its provenance, every row), then
// appended to and finished with its rows in the campaign's order. The rows it holds are kept in
// memory, so nothing reads the file back; and the merge of a campaign's parts.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

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

  // Writes `provenance` beside the file and opens the file for appending (a torn last line is
  // dropped, a new file gets its header). Once, before the first append.
  void begin(const Provenance& provenance);
  // Appends a finished fault's row, flushed at once.
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
};

}  // namespace dnnfi
