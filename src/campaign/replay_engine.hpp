#pragma once
// An engine that runs nothing: each fault's counts come from an existing results file, to
// re-analyse a finished campaign (the order and stopping of an iterative one) in seconds.
#include <memory>
#include <string>
#include <vector>

#include "dnnfi/engine.hpp"
#include "dnnfi/results.hpp"

namespace dnnfi {

// Each fault's counts are those of its row in `rows` (matched by layer, index, bits and fault
// model); a fault without a row is an InputError naming `source`.
std::unique_ptr<Engine> make_replay_engine(const std::vector<ResultRow>& rows, const std::string& source);

}  // namespace dnnfi
