#include "dnnfi/engine.hpp"

#include <spdlog/spdlog.h>

#include "engines.hpp"
#include "text.hpp"

namespace dnnfi {
std::optional<EngineKind> parse_engine_kind(std::string_view text) {
  return value_named(kEngineKindNames, text);
}
std::string_view to_string(EngineKind kind) { return name_of(kEngineKindNames, kind); }
std::vector<std::string> engine_kind_names() { return names_of(kEngineKindNames); }

Counts evaluate_fault(Engine& engine, const Fault& fault) {
  Counts result;
  engine.run({fault}, [&](std::size_t, const Counts& counts) {
    result = counts;
    return true;
  });
  return result;
}

std::unique_ptr<Engine> make_engine(EngineKind kind, Model& model, const Dataset& data,
                                    const EngineOptions& options) {
  check_batch_size(options.batch_size);
  check_memory_limit(options.memory_limit);
  if (kind == EngineKind::kStaged || kind == EngineKind::kStacked) {
    // Planning and verifying run the model's children in ways its forward() may not (a traced
    // forward with functional ops between them cannot be cut there): whatever fails, the naive
    // engine, which runs forward() alone, still gives the campaign's exact counts.
    std::string why = "forward is not the plain sequence of its children";
    try {
      if (auto plan = StagePlan::build(model, data, options.batch_size))
        return make_staged_engine(model, data, options, std::move(*plan), kind == EngineKind::kStacked);
    } catch (const c10::Error& e) {
      why = e.what_without_backtrace();
    } catch (const std::exception& e) {
      why = e.what();
    }
    spdlog::warn("{}: the {} engine cannot run it ({}); using the naive engine (exact, slower)",
                 model.info().name, to_string(kind), text::error_line(why));
  }
  return make_naive_engine(model, data, options);
}

}  // namespace dnnfi
