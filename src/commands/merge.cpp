// `dnnfi merge`: shards of one campaign into one results file, in the campaign's order.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <set>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
#include "dnnfi/per_image.hpp"
#include "dnnfi/provenance.hpp"
#include "dnnfi/results.hpp"
#include "platform/file_lock.hpp"
#include "results/outputs.hpp"

namespace dnnfi {
namespace {

std::string list_some(const std::vector<std::int64_t>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size() && i < 20; ++i)
    out += (i ? ", " : "") + std::to_string(values[i]);
  if (values.size() > 20) out += fmt::format(", ... ({} in all)", values.size());
  return out;
}

bool same_counts(const Counts& a, const Counts& b) {
  return a.injections == b.injections && a.masked == b.masked && a.non_critical == b.non_critical &&
         a.critical == b.critical && a.non_finite == b.non_finite;
}

// The parts' per-image outcomes (run --per-image), each checked against its part's rows and all
// of one test set and golden pass; nullopt when the parts have none. By Injection.
struct PartsPerImage {
  PerImageHead head;
  std::map<std::int64_t, std::vector<CriticalImage>> images;
};

std::optional<PartsPerImage> read_parts_per_image(const MergeOptions& options,
                                                  const std::vector<Provenance>& parts,
                                                  const std::vector<std::vector<ResultRow>>& part_rows) {
  std::size_t with = 0;
  for (const auto& p : parts) with += p.per_image.empty() ? 0 : 1;
  if (with == 0) return std::nullopt;
  if (with < parts.size())
    throw InputError(
        fmt::format("{} of the {} parts were run with --per-image; merge them all with per-image "
                    "outcomes, or none (the parts' provenance says which)",
                    with, parts.size()));
  std::optional<PartsPerImage> merged;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto path = per_image_path(options.inputs[i]);
    if (!std::filesystem::exists(path))
      throw InputError(path.string() + ": missing; " + options.inputs[i].string() +
                       " was run with --per-image");
    auto file = read_per_image(path);
    check_per_image(file, part_rows[i], path, options.inputs[i]);
    if (!merged) {
      merged.emplace();
      merged->head = file.head;
    } else if (file.head.labels != merged->head.labels || file.head.golden != merged->head.golden) {
      throw InputError(path.string() + ": its labels or golden classes are not those of " +
                       per_image_path(options.inputs[0]).string() + " (another test set, or other numerics)");
    }
    for (auto& fault : file.faults) {
      const auto [at, fresh] = merged->images.emplace(fault.injection, fault.images);
      if (!fresh && !(at->second == fault.images))
        throw InputError(
            path.string(), fault.line,
            fmt::format("Injection {}: other critical images than in another part", fault.injection));
    }
  }
  return merged;
}

}  // namespace

MergeSummary merge_results(const MergeOptions& options) {
  if (options.inputs.empty()) throw Error(ExitCode::kUsage, "merge: no results files given");
  std::vector<Provenance> parts;
  for (const auto& input : options.inputs) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(input, ec))
      throw InputError(input.string() +
                       (std::filesystem::exists(input, ec) ? ": not a file" : ": no such file") +
                       "; merge takes the results files of a campaign's parts");
  }
  check_output(options.output, OutputKind::kResults, options.inputs, "-o");
  for (const auto& input : options.inputs) {
    auto p = read_provenance(input);
    if (!p)
      throw InputError(input.string() + ": no provenance (" + provenance_path(input).string() +
                       "); merge takes results files written by dnnfi run");
    if (!p->iterative.empty())
      throw InputError(input.string() + ": an iterative (--margin) campaign is not made of shards");
    parts.push_back(std::move(*p));
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto differences = provenance_differences(parts[0], parts[i], false);
    if (!differences.empty()) {
      std::string why;
      for (const auto& d : differences) why += (why.empty() ? " " : "; ") + d;
      throw InputError(options.inputs[i].string() + " is not part of the campaign of " +
                       options.inputs[0].string() + ":" + why);
    }
  }

  // The campaign's faults in order; shard K of N holds positions K, K+N, ...
  const auto& first = parts[0];
  const auto sequence = parse_injection_ranges(first.injections, provenance_path(options.inputs[0]).string());
  const auto shards = first.shard.count;
  std::map<std::int64_t, std::size_t> position;
  for (std::size_t i = 0; i < sequence.size(); ++i) position.emplace(sequence[i], i);
  std::vector<std::optional<ResultRow>> rows(sequence.size());
  std::vector<std::string> row_source(sequence.size());
  std::set<std::size_t> shards_seen;
  std::vector<std::vector<ResultRow>> part_rows(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& input = options.inputs[i];
    shards_seen.insert(parts[i].shard.index);
    ResultsReader reader(input);
    if (reader.has_header() && !reader.dnnfi_format())
      throw InputError(input.string(), 1, "not a dnnfi results file");
    for (ResultRow row; reader.next(row);) {
      const auto at = position.find(row.fault.injection);
      if (at == position.end() || at->second % shards != parts[i].shard.index)
        throw InputError(input.string(), reader.line(),
                         fmt::format("Injection {} is not a fault of shard {}/{} of this campaign",
                                     row.fault.injection, parts[i].shard.index, shards));
      auto& slot = rows[at->second];
      if (slot && !(slot->fault.same_site(row.fault) && same_counts(slot->counts, row.counts)))
        throw InputError(input.string(), reader.line(),
                         fmt::format("Injection {} is also in {} with other counts or another site",
                                     row.fault.injection, row_source[at->second]));
      if (row.counts.injections != first.images)
        throw InputError(
            input.string(), reader.line(),
            fmt::format("row over {} images; the campaign runs {}", row.counts.injections, first.images));
      part_rows[i].push_back(row);
      if (!slot) {
        slot = std::move(row);
        row_source[at->second] = input.string();
      }
    }
    if (reader.torn_bytes() > 0)
      spdlog::warn("{}: a torn last line ({} bytes) is left out; that fault is missing", input.string(),
                   reader.torn_bytes());
  }

  const auto per_image = read_parts_per_image(options, parts, part_rows);
  part_rows.clear();

  MergeSummary summary;
  summary.faults = sequence.size();
  for (std::size_t k = 0; k < shards; ++k)
    if (!shards_seen.count(k)) summary.missing_shards.push_back(k);
  for (std::size_t i = 0; i < sequence.size(); ++i)
    if (!rows[i]) summary.missing.push_back(sequence[i]);
  if (!summary.missing.empty() && !options.allow_partial) {
    std::string shard_note;
    for (auto k : summary.missing_shards) shard_note += fmt::format(" {}/{}", k, shards);
    throw InputError(fmt::format(
        "{} of the campaign's {} faults are in no input (Injection {}){}; run them, or --allow-partial "
        "writes what is there",
        summary.missing.size(), sequence.size(), list_some(summary.missing),
        shard_note.empty() ? "" : "; no file of shard" + shard_note));
  }

  auto merged = first;
  merged.shard = Shard{};
  merged.engine = "merged";
  merged.dnnfi_version = dnnfi_version();
  // Rows adopted into any part stay on record in the whole.
  merged.adopted.clear();
  for (const auto& part : parts)
    if (!part.adopted.empty()) merged.adopted += (merged.adopted.empty() ? "" : "; ") + part.adopted;
  // -o is replaced only when it holds this campaign (an earlier merge): nothing else is lost.
  std::error_code ec;
  if (std::filesystem::exists(options.output, ec) && std::filesystem::file_size(options.output, ec) > 0) {
    const auto existing = read_provenance(options.output);
    const bool another = !existing || !provenance_differences(merged, *existing, true).empty();
    // --overwrite (run --workers) replaces the results of another campaign, never a file without
    // dnnfi's provenance.
    if (another && !(options.overwrite && existing))
      throw InputError(options.output.string() +
                       " exists and is not an earlier merge of this campaign; choose another -o");
    if (!another) {
      ResultsReader reader(options.output);
      for (ResultRow row; reader.next(row);) {
        const auto at = position.find(row.fault.injection);
        if (at == position.end() || !rows[at->second])
          throw InputError(
              fmt::format("{}:{}: Injection {} is in no input: merging would lose it; "
                          "choose another -o",
                          options.output.string(), reader.line(), row.fault.injection));
      }
    }
  }
  std::optional<FileLock> lock;
  if (!options.output_locked) lock.emplace(options.output);
  std::vector<ResultRow> present;
  for (const auto& row : rows)
    if (row) {
      present.push_back(*row);
      summary.totals += row->counts;
    }
  summary.rows = present.size();
  if (per_image) {
    // Replaced only as the results are: an earlier merge's, never a file dnnfi did not write as such.
    const auto path = per_image_path(options.output);
    if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0 &&
        !(is_per_image_file(path) && read_per_image(path).head.results == options.output.filename().string()))
      throw InputError(path.string() + " exists and is not the per-image outcomes of " +
                       options.output.string() + "; choose another -o");
    auto head = per_image->head;
    head.results = options.output.filename().string();
    std::vector<PerImageFault> faults;
    for (const auto& row : present)
      if (const auto it = per_image->images.find(row.fault.injection); it != per_image->images.end())
        faults.push_back({row.fault.injection, it->second, 0});
    merged.per_image = path.filename().string();
    replace_per_image(path, head, faults);
  }
  write_provenance(options.output, merged);
  replace_results(options.output, present);
  return summary;
}

}  // namespace dnnfi
