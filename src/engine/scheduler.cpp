#include "scheduler.hpp"

#include <algorithm>

namespace dnnfi {
namespace {

// End of the run of faults starting at `first` (before `last`) that share one computation.
std::size_t run_end(const std::vector<Fault>& faults, std::size_t first, std::size_t last,
                    const ChunkedWork& work, std::size_t longest) {
  std::size_t end = first + 1;
  if (!work.shares_runs(faults[first])) return end;
  while (end < last && end - first < longest && faults[end].layer == faults[first].layer) ++end;
  return end;
}

}  // namespace

void run_schedule(const std::vector<Fault>& faults, ChunkedWork& work, const Engine::Done& done,
                  const std::atomic<bool>* stop, const ScheduleLimits& limits) {
  const bool single_chunk = work.chunk_count() == 1;
  auto stopping = [&] { return !single_chunk && stop != nullptr && stop->load(); };
  const std::size_t group = single_chunk ? faults.size() : std::max<std::size_t>(limits.group, 1);
  for (std::size_t first = 0, last = 0; first < faults.size(); first = last) {
    std::size_t inferred = 0;
    for (; last < faults.size(); ++last) {
      const bool needs = work.needs_inference(faults[last]);  // once per fault: it reads the weight
      if (needs && inferred == group) break;
      inferred += needs ? 1 : 0;
    }
    std::vector<Counts> counts(last - first);
    if (inferred == 0) {  // nothing to compute: reported at once
      const auto unchanged = work.unchanged_counts();
      for (std::size_t i = first; i < last; ++i)
        if (!done(i, unchanged)) return;
      continue;
    }
    for (std::size_t chunk = 0; chunk < work.chunk_count(); ++chunk) {
      if (stopping()) return;  // the group is abandoned, not reported
      work.load_chunk(chunk);
      for (std::size_t i = first; i < last;) {
        if (stopping()) return;
        const std::size_t end = run_end(faults, i, last, work, std::max<std::size_t>(limits.run, 1));
        work.evaluate(&faults[i], end - i, &counts[i - first]);
        for (; i < end; ++i)
          if (single_chunk && !done(i, counts[i - first])) return;
      }
    }
    if (!single_chunk)
      for (std::size_t i = first; i < last; ++i)
        if (!done(i, counts[i - first])) return;
  }
}

}  // namespace dnnfi
