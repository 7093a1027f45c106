#pragma once
// Activation faults: each conv/linear module chosen gets, at the end of its TorchScript forward,
// a call of the registered op dnnfi::activation(output, self.weight), PyTorch's forward hook done
// in the graph. The op returns its input unless a fault is active on that module, identified by
// the address of its weight (so modules sharing a TorchScript class are told apart); then it
// returns a copy with one element of every image's output faulted. A probe run records each
// module's output shape instead.
#include <torch/script.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dnnfi/fault.hpp"

namespace dnnfi {

// Inserts the op into the forward of every module of `layers` (names of conv/linear modules of
// `module`, whose `weight` parameters identify them); a method keeps the graph of its first
// call, so this runs before any forward. Returns the layers it cannot reach, each with why: a
// parameter that is no module's weight (MultiheadAttention's in_proj_weight), or a traced module
// that never ran its own forward (a fused path computed it).
std::vector<std::pair<std::string, std::string>> insert_activation_points(
    torch::jit::Module& module, const std::vector<std::string>& layers);

// While alive, the fault `fault` (Layer: the module; TensorIndex: an element of one image's
// output) is applied to every image's output of that module. One at a time.
class ScopedActivationFault {
 public:
  ScopedActivationFault(const torch::Tensor& weight, const Fault& fault);
  ~ScopedActivationFault();
  ScopedActivationFault(const ScopedActivationFault&) = delete;
  ScopedActivationFault& operator=(const ScopedActivationFault&) = delete;
};

// The faulty output: `output` (N x ...) with element `index` of each image faulted as `fault`
// says, bit for bit (NaN payloads kept); a new tensor in the same memory format.
torch::Tensor fault_activation(const torch::Tensor& output, const std::vector<std::int64_t>& index,
                               BitMask bits, FaultModel model);

// While alive, the op records each module's output shape of one image, by weight address.
class ActivationProbe {
 public:
  ActivationProbe();
  ~ActivationProbe();
  ActivationProbe(const ActivationProbe&) = delete;
  ActivationProbe& operator=(const ActivationProbe&) = delete;
  // The shape recorded for the module whose weight this is; empty when it did not run.
  std::vector<std::int64_t> shape_of(const torch::Tensor& weight) const;
};

}  // namespace dnnfi
