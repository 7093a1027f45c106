#pragma once
// Private helpers shared by the engine implementations.
#include <cstdint>
#include <memory>

#include "dnnfi/engine.hpp"

namespace dnnfi {

template <typename F>
void for_each_batch(std::int64_t count, std::int64_t batch, F&& body) {
  for (std::int64_t start = 0; start < count; start += batch) body(start, std::min(batch, count - start));
}

torch::Tensor device_batch(const Dataset& data, const Model& model, std::int64_t start, std::int64_t length);

std::unique_ptr<Engine> make_naive_engine(Model& model, const Dataset& data, const EngineOptions& options);
std::unique_ptr<Engine> make_staged_engine(Model& model, const Dataset& data, const EngineOptions& options);

}  // namespace dnnfi
