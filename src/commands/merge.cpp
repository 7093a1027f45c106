// `dnnfi merge`: shards of one campaign into one results file, in the campaign's order.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <set>

#include "dnnfi/commands.hpp"
#include "dnnfi/errors.hpp"
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
      if (!slot) {
        slot = std::move(row);
        row_source[at->second] = input.string();
      }
    }
    if (reader.torn_bytes() > 0)
      spdlog::warn("{}: a torn last line ({} bytes) is left out; that fault is missing", input.string(),
                   reader.torn_bytes());
  }

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
  write_provenance(options.output, merged);
  replace_results(options.output, present);
  return summary;
}

}  // namespace dnnfi
