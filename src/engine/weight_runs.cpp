#include "weight_runs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "batches.hpp"
#include "dnnfi/numerics.hpp"

namespace dnnfi {

bool WeightRuns::differs(const std::string& layer, float original, float faulty) const {
  return float_bits(model_.computed_value(layer, faulty)) !=
         float_bits(model_.computed_value(layer, original));
}

bool WeightRuns::needs_inference(const Fault& fault) const {
  const float original = element(model_.weight(fault.layer), fault.index).to(torch::kCPU).item<float>();
  return differs(fault.layer, original, model_.faulty_value(fault, original));
}

void WeightRuns::evaluate(const Fault* faults, std::size_t n, Counts* counts) {
  // Faulty value of each fault's weight; a fault that leaves its bits unchanged, as the layer's
  // arithmetic sees them (TF32 emulated: rounded), is masked.
  const auto& layer = faults[0].layer;
  const auto weight = model_.weight(layer);
  std::vector<std::size_t> live;
  std::vector<float> faulty(n);
  for (std::size_t r = 0; r < n; ++r) {
    const float original = element(weight, faults[r].index).to(torch::kCPU).item<float>();
    faulty[r] = model_.faulty_value(faults[r], original);
    if (!differs(layer, original, faulty[r])) {
      auto sums = propagation_.chunk_sums();  // every image as golden: masked
      sums.add(cache_.logits(), cache_.logits(), rule_, 0);
      counts[r] += sums.total();
    } else {
      live.push_back(r);
    }
  }
  if (live.empty()) return;
  const FaultSite site = plan_.site_of(layer);
  if (site.splice) {
    evaluate_spliced(faults, live, faulty, site, counts);
  } else {
    propagation_.evaluate_whole_stage(faults[0], site, counts);
  }
}

torch::Tensor WeightRuns::splice_conv(const std::string& layer, const torch::Tensor& input,
                                      const torch::Tensor& rows_weight, const torch::Tensor& bias) {
  const auto& g = model_.info().convs.at(layer);
  auto channels = at::conv2d(input, rows_weight, bias, g.stride, g.padding, g.dilation, g.groups);
  return shortcut_perturbation().splice ? perturbed(channels) : channels;
}

// The splice of `rows` (golden weights) gives those channels of the golden conv output, bit for
// bit, on this batch's shapes. A layer that fails is spliced no more.
bool WeightRuns::splice_verified(const std::string& layer, const torch::Tensor& input,
                                 const torch::Tensor& golden_out, const std::vector<std::int64_t>& rows,
                                 const torch::Tensor& bias) {
  if (full_conv_layers_.count(layer)) return false;
  const auto check = [&] {
    const auto weight = model_.weight(layer);
    const auto row_index = torch::tensor(rows, torch::kLong).to(weight.device());
    auto rows_weight = weight.index_select(0, row_index).contiguous(weight.suggest_memory_format());
    if (model_.rounds_tf32(layer)) rows_weight = round_tf32(rows_weight);
    const auto channels = splice_conv(layer, input, rows_weight, bias);
    bool same = true;
    for (std::size_t j = 0; j < rows.size() && same; ++j)
      same = bit_equal(channels.narrow(1, static_cast<std::int64_t>(j), 1), golden_out.narrow(1, rows[j], 1));
    return same;
  };
  return splice_checks_(std::make_tuple(layer, rows.size(), input.size(0)), check, [&](bool same) {
    if (same) return;
    spdlog::info(
        "{}: a conv of {} of its output channels differs from those channels of the full conv on {} "
        "images; its faults run the full conv",
        layer, rows.size(), input.size(0));
    full_conv_layers_.insert(layer);
  });
}

// One weight row per live fault: its output channel's golden row with the fault applied,
// computed by one conv on the cached golden input and spliced into the golden output. Where
// that splice is not exact, each fault runs the layer's own conv in full, as golden did.
void WeightRuns::evaluate_spliced(const Fault* faults, const std::vector<std::size_t>& live,
                                  const std::vector<float>& faulty, const FaultSite& site, Counts* counts) {
  const auto& layer = faults[0].layer;
  const auto weight = model_.weight(layer);
  std::vector<std::int64_t> rows;
  for (auto r : live) rows.push_back(faults[r].index[0]);
  const auto row_index = torch::tensor(rows, torch::kLong).to(weight.device());
  auto rows_weight = weight.index_select(0, row_index).contiguous(weight.suggest_memory_format());
  for (std::size_t j = 0; j < live.size(); ++j) {
    auto index = faults[live[j]].index;
    index[0] = static_cast<std::int64_t>(j);  // row j holds that fault's output channel
    store_bits(element(rows_weight, index), faulty[live[j]]);
  }
  if (model_.rounds_tf32(layer)) rows_weight = round_tf32(rows_weight);  // as the module's conv does
  auto bias = model_.bias(layer);
  if (bias.defined()) bias = bias.index_select(0, row_index);
  const double channel_macs = plan_.layer_macs(layer) / static_cast<double>(weight.size(0));

  const auto& golden = cache_.logits();
  auto& stage = plan_[site.stage];
  // The layer's own conv module, for the full-conv fallback.
  Step& conv = stage.residual ? stage.residual->main[site.child] : stage.module;
  const std::size_t stack = propagation_.stack();
  std::vector<CountSums> sums(live.size(), propagation_.chunk_sums());  // on the device, one per live fault
  std::size_t b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    const auto golden_batch = golden.narrow(0, offset, length);
    const auto& c = cache_.batches()[b++];
    const auto module_input =
        stage.residual ? cache_.main_input(site.stage, site.child, c) : c.stage_in[site.stage];
    auto input = model_.rounds_tf32(layer) ? round_tf32(module_input) : module_input;
    const auto& golden_out = stage.residual ? c.conv_out[site.stage][site.child] : c.stage_in[site.stage + 1];
    // Fault j's output of the layer: the golden output with its channel spliced in, or the full
    // conv's output with the fault applied.
    std::vector<torch::Tensor> full(live.size());
    torch::Tensor channels;
    if (splice_verified(layer, input, golden_out, rows, bias)) {
      channels = splice_conv(layer, input, rows_weight, bias);
      propagation_.add_macs(channel_macs * static_cast<double>(rows.size()) * static_cast<double>(length));
    } else {
      for (std::size_t j = 0; j < live.size(); ++j) {
        ScopedFault patch(model_, faults[live[j]]);
        full[j] = conv(module_input);
        propagation_.add_macs(plan_.layer_macs(layer) * static_cast<double>(length));
      }
    }
    std::vector<std::size_t> differing;  // j of the faults whose output differs from golden
    for (std::size_t j = 0; j < live.size(); ++j) {
      const bool same = channels.defined() ? bit_equal(channels.narrow(1, static_cast<std::int64_t>(j), 1),
                                                       golden_out.narrow(1, rows[j], 1))
                                           : bit_equal(full[j], golden_out);
      if (same) {
        propagation_.masked_early(sums[j], golden_batch, offset);
      } else {
        differing.push_back(j);
      }
    }
    // Up to `stack` faulty outputs of the layer, one per slice of a stacked batch, go on together.
    for (std::size_t first = 0; first < differing.size(); first += stack) {
      const std::size_t k = std::min(stack, differing.size() - first);
      auto out = stack_copies(golden_out, k);
      for (std::size_t i = 0; i < k; ++i) {
        const auto j = differing[first + i];
        auto slice = out.narrow(0, static_cast<std::int64_t>(i) * length, length);
        if (channels.defined()) {
          slice.narrow(1, rows[j], 1).copy_(channels.narrow(1, static_cast<std::int64_t>(j), 1));
        } else {
          slice.copy_(full[j]);
        }
      }
      const auto logits = stage.residual ? propagation_.finish_residual(site, out, c, length, k)
                                         : propagation_.propagate(out, site.stage + 1, c, length, k);
      for (std::size_t i = 0; i < k; ++i)
        propagation_.count(sums[differing[first + i]], golden_batch, logits[i], offset);
    }
  });
  const auto totals = CountSums::totals(sums);  // one host copy for the run's faults
  for (std::size_t j = 0; j < live.size(); ++j) counts[live[j]] += totals[j];
}

}  // namespace dnnfi
