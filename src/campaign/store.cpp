// A campaign's results file (store.hpp).
#include "store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "dnnfi/errors.hpp"
#include "platform/file_lock.hpp"
#include "platform/files.hpp"
#include "results/outputs.hpp"

namespace dnnfi {

ResultsStore::ResultsStore(std::filesystem::path output, const std::vector<std::filesystem::path>& inputs)
    : path_(std::move(output)) {
  check_output(path_, OutputKind::kResults, inputs, "-o");
  per_image_path_ = per_image_path(path_);
  lock_ = std::make_unique<FileLock>(path_);
}

ResultsStore::~ResultsStore() {
  writer_.reset();
  std::error_code ec;
  if (lock_ && lock_->created() && std::filesystem::file_size(path_, ec) == 0 && !ec) {
    std::filesystem::remove(path_, ec);
    std::filesystem::remove(provenance_path(path_), ec);
    if (per_image_created_) std::filesystem::remove(per_image_path_, ec);
  }
}

Provenance ResultsStore::check(Provenance ours, const StoreCheck& check) {
  ours = check_rows(std::move(ours), check);
  if (check.per_image) {
    per_image_ = true;
    ours.per_image = per_image_path_.filename().string();
    check_per_image_file();
  }
  return ours;
}

Provenance ResultsStore::check_rows(Provenance ours, const StoreCheck& check) {
  const auto where = path_.string();
  // An empty results file holds nothing to protect: a provenance left beside it is stale.
  if (std::filesystem::file_size(path_) == 0) return ours;
  const auto theirs = read_provenance(path_);
  if (theirs) {
    // Another campaign is said before any row is looked at.
    const auto differences = provenance_differences(ours, *theirs, true);
    if (!differences.empty()) {
      std::string why;
      for (const auto& d : differences) why += (why.empty() ? "" : "; ") + d;
      if (check.overwrite) {
        // The user asked for it, and the file is dnnfi's (its header and its provenance say so).
        spdlog::warn("{}: replacing the results of another campaign ({}; --overwrite)", where, why);
        std::filesystem::resize_file(path_, 0);
        replacing_ = true;  // and its per-image outcomes
        return ours;
      }
      throw InputError(provenance_path(path_).string() + ": " + where +
                       " holds another campaign's results (" + why +
                       "); use another -o, the same options, or --overwrite to replace them");
    }
    ours.adopted = theirs->adopted;  // an adoption stays on record
    started_per_image_ = !theirs->per_image.empty();
    if (started_per_image_ && !check.per_image && std::filesystem::file_size(path_) > 0)
      throw InputError(provenance_path(path_).string() + ": " + where +
                       " was started with --per-image; continue it with --per-image (or use another -o)");
    if (check.adopt) spdlog::info("{}: its provenance is this campaign's; --adopt has nothing to do", where);
  }

  ResultsReader reader(path_);
  has_header_ = reader.has_header();
  complete_bytes_ = reader.complete_bytes();
  torn_bytes_ = reader.torn_bytes();
  if (reader.has_header() && !reader.dnnfi_format())
    throw InputError(where, 1,
                     "not a dnnfi results file (it lacks dnnfi's columns " + std::string(kResultsHeader) +
                         "); choose another -o");
  std::map<std::int64_t, const Fault*> allowed;
  for (const auto& f : check.allowed) allowed[f.injection] = &f;
  std::map<std::int64_t, long> line_of;
  for (ResultRow row; reader.next(row);) {
    if (const auto [at, fresh] = line_of.emplace(row.fault.injection, reader.line()); !fresh)
      throw InputError(where, reader.line(),
                       "Injection " + std::to_string(row.fault.injection) + " is already on line " +
                           std::to_string(at->second) +
                           "; keep one of the two rows (the file is left as it is)");
    const auto planned = allowed.find(row.fault.injection);
    const auto of_population =
        check.population ? population_fault(*check.population, row.fault.injection) : std::nullopt;
    const bool fits = check.population ? of_population && of_population->same_site(row.fault)
                                       : planned != allowed.end() && planned->second->same_site(row.fault);
    if (!fits)
      throw InputError(
          where, reader.line(),
          "Injection " + std::to_string(row.fault.injection) +
              " does not match this campaign's fault list (another list, shard or fault model?); "
              "use another -o to start a new campaign");
    if (row.counts.injections != check.images)
      throw InputError(where, reader.line(),
                       "row was computed over " + std::to_string(row.counts.injections) +
                           " images, this campaign runs " + std::to_string(check.images) +
                           "; use another -o or the same --images");
    if (row.rule != check.rule)
      throw InputError(where, reader.line(),
                       "row was classified with --non-finite " + std::string(to_string(row.rule)) +
                           ", this campaign uses " + std::string(to_string(check.rule)) +
                           "; use another -o or the same --non-finite");
    by_injection_.emplace(row.fault.injection, rows_.size());
    rows_.push_back(std::move(row));
  }
  if (theirs || rows_.empty()) return ours;  // a header alone: nothing of unknown origin
  if (!check.adopt)
    throw InputError(where + " holds " + std::to_string(rows_.size()) + " rows of unknown origin (no " +
                     provenance_path(path_).filename().string() +
                     " beside it says which campaign made them); use another -o, or --adopt to take them as "
                     "this campaign's (checked row by row, recorded in the provenance)");
  ours.adopted =
      fmt::format("{} rows of a file without provenance, adopted by dnnfi {}", rows_.size(), dnnfi_version());
  spdlog::warn("{}: adopting {} rows of unknown origin (--adopt); the provenance records it", where,
               rows_.size());
  return ours;
}

void ResultsStore::check_per_image_file() {
  const auto where = per_image_path_.string();
  const auto with_critical =
      std::count_if(rows_.begin(), rows_.end(), [](const ResultRow& r) { return r.counts.critical > 0; });
  std::error_code ec;
  const bool present =
      std::filesystem::exists(per_image_path_, ec) && std::filesystem::file_size(per_image_path_, ec) > 0;
  if (with_critical > 0 && !started_per_image_)
    throw InputError(
        path_.string() + ": its " + std::to_string(rows_.size()) +
        " rows were run without --per-image, so which images they made critical is not on record; "
        "use another -o for per-image outcomes, or continue without --per-image");
  if (!present) {
    if (with_critical > 0)
      throw InputError(where + ": missing; it holds the per-image outcomes of " + path_.string() +
                       "'s rows (restore it, or use another -o)");
    return;
  }
  if (!is_per_image_file(per_image_path_))
    throw InputError(where + ": exists and is not dnnfi's per-image outcomes (" +
                     first_line_of(per_image_path_) + "); not overwriting it, use another -o");
  auto file = read_per_image(per_image_path_);
  if (file.head.results != path_.filename().string())
    throw InputError(where, 2,
                     "holds the per-image outcomes of " + file.head.results + ", not of " +
                         path_.filename().string() + "; not overwriting it, use another -o");
  if (replacing_) return;  // --overwrite: replaced with the results
  if (rows_.empty() && !file.faults.empty())
    throw InputError(where + ": holds the per-image outcomes of " + std::to_string(file.faults.size()) +
                     " faults, and " + path_.string() +
                     " holds no row; not overwriting them (move the file away, or use another -o)");
  // Lines of a fault whose row a kill cut short are dropped: that fault runs again.
  std::unordered_set<std::int64_t> have;
  for (const auto& row : rows_) have.insert(row.fault.injection);
  std::vector<PerImageFault> kept;
  for (auto& fault : file.faults)
    if (have.count(fault.injection)) kept.push_back(std::move(fault));
  if (kept.size() < file.faults.size() || file.torn_bytes > 0)
    spdlog::warn("{}: dropping the lines of {} fault(s) without a results row; they run again", where,
                 file.faults.size() - kept.size() + (file.torn_bytes > 0 ? 1 : 0));
  file.faults = std::move(kept);
  check_per_image(file, rows_, per_image_path_, path_);
  per_image_read_head_ = std::move(file.head);
  per_image_kept_ = std::move(file.faults);
}

void ResultsStore::set_per_image_head(PerImageHead head) {
  head.results = path_.filename().string();
  per_image_head_ = std::move(head);
}

const ResultRow* ResultsStore::find(std::int64_t injection) const {
  const auto it = by_injection_.find(injection);
  return it == by_injection_.end() ? nullptr : &rows_[it->second];
}

void ResultsStore::begin(const Provenance& provenance) {
  if (begun_) return;
  begun_ = true;
  write_provenance(path_, provenance);
  if (torn_bytes_ > 0)
    spdlog::warn("{}: dropping a torn last line ({} bytes); that fault runs again", path_.string(),
                 torn_bytes_);
  writer_.emplace(ResultsWriter::resume(path_, complete_bytes_, has_header_));
  if (!per_image_) return;
  if (!per_image_head_) throw std::logic_error("per-image outcomes without their head");
  if (per_image_read_head_ && (per_image_read_head_->labels != per_image_head_->labels ||
                               per_image_read_head_->golden != per_image_head_->golden))
    throw InputError(
        per_image_path_.string() +
        ": its labels or golden classes are not this run's (another test set, or other numerics); "
        "use another -o");
  std::error_code ec;
  per_image_created_ = !std::filesystem::exists(per_image_path_, ec);
  replace_per_image(per_image_path_, *per_image_head_, per_image_kept_);
  per_image_kept_.clear();
  per_image_writer_ = std::make_unique<PerImageWriter>(per_image_path_);
}

void ResultsStore::append(const ResultRow& row) {
  // The critical images first: a row on file always has its lines beside it.
  if (per_image_writer_) per_image_writer_->append(row.fault.injection, row.counts.critical_images);
  writer_->append(row);
  by_injection_.emplace(row.fault.injection, rows_.size());
  rows_.push_back(row);
  rows_.back().counts.critical_images.clear();  // on file; not kept in memory
}

void ResultsStore::finish_in_order(const std::vector<Fault>& faults) {
  std::map<std::int64_t, std::size_t> position;
  for (std::size_t i = 0; i < faults.size(); ++i) position.emplace(faults[i].injection, i);
  const auto at = [&](const ResultRow& row) { return position.at(row.fault.injection); };
  const auto before = [&](const ResultRow& a, const ResultRow& b) { return at(a) < at(b); };
  if (std::is_sorted(rows_.begin(), rows_.end(), before)) return;
  writer_.reset();
  auto rows = rows_;
  std::stable_sort(rows.begin(), rows.end(), before);
  if (per_image_writer_) {
    per_image_writer_.reset();
    auto file = read_per_image(per_image_path_);
    const auto fault_at = [&](const PerImageFault& f) { return position.at(f.injection); };
    std::stable_sort(
        file.faults.begin(), file.faults.end(),
        [&](const PerImageFault& a, const PerImageFault& b) { return fault_at(a) < fault_at(b); });
    replace_per_image(per_image_path_, file.head, file.faults);
  }
  replace_results(path_, rows);
  rows_ = std::move(rows);
  by_injection_.clear();
  for (std::size_t i = 0; i < rows_.size(); ++i) by_injection_.emplace(rows_[i].fault.injection, i);
  spdlog::info("{}: rows put in the campaign's order", path_.string());
}

}  // namespace dnnfi
