#pragma once
// The engine implementations; make_engine (engine.cpp) chooses among them.
#include <memory>

#include "dnnfi/engine.hpp"
#include "stage_plan.hpp"

namespace dnnfi {

std::unique_ptr<Engine> make_naive_engine(Model& model, const Dataset& data, const EngineOptions& options);
// With `stacked`, faults of one layer go through the network after their stage in one batch.
std::unique_ptr<Engine> make_staged_engine(Model& model, const Dataset& data, const EngineOptions& options,
                                           StagePlan plan, bool stacked);

}  // namespace dnnfi
