#include "fault_executor.hpp"

#include "batches.hpp"

namespace dnnfi {

void FaultExecutor::evaluate(const Fault* faults, std::size_t n, Counts* counts) {
  // Faulty value of each fault's weight; a fault that leaves its bits unchanged is masked.
  const auto weight = model_.weight(faults[0].layer);
  std::vector<std::size_t> live;
  std::vector<float> faulty(n);
  for (std::size_t r = 0; r < n; ++r) {
    const float original = element(weight, faults[r].index).to(torch::kCPU).item<float>();
    faulty[r] = apply_fault(original, faults[r].bits, faults[r].model);
    if (float_bits(faulty[r]) == float_bits(original)) {
      counts[r] += classify(cache_.logits(), cache_.logits(), rule_);  // every image as golden: masked
    } else {
      live.push_back(r);
    }
  }
  if (live.empty()) return;
  const FaultSite site = plan_.site_of(faults[0].layer);
  if (site.splice) {
    evaluate_spliced(faults, live, faulty, site, counts);
  } else {
    evaluate_whole_stage(faults[0], site, counts);
  }
}

// The fault's whole stage reruns, with the fault applied to the weight, from its cached input
// (or the nearest cached one before it, for a parameter outside the layer table).
void FaultExecutor::evaluate_whole_stage(const Fault& fault, const FaultSite& site, Counts* counts) {
  const auto& golden = cache_.logits();
  ScopedFault patch(model_, fault);
  std::size_t from = site.stage;
  while (from > 0 && !plan_[from].input_cached) --from;
  std::size_t b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    const auto golden_batch = golden.narrow(0, offset, length);
    const auto& c = cache_.batches()[b++];
    auto x = c.stage_in[from];
    for (std::size_t s = from; s <= site.stage; ++s) {
      x = plan_[s].module(x);
      executed_macs_ += plan_.stage_macs(s) * static_cast<double>(length);
    }
    const auto logits = propagate(x, site.stage + 1, c, length);
    counts[0] += classify(golden_batch, logits.defined() ? logits : golden_batch, rule_);
  });
}

// One weight row per live fault: its output channel's golden row with the fault applied,
// computed by one conv on the cached golden input and spliced into the golden output.
void FaultExecutor::evaluate_spliced(const Fault* faults, const std::vector<std::size_t>& live,
                                     const std::vector<float>& faulty, const FaultSite& site,
                                     Counts* counts) {
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
  auto bias = model_.bias(layer);
  if (bias.defined()) bias = bias.index_select(0, row_index);
  const auto& g = model_.info().convs.at(layer);
  const double channel_macs = plan_.layer_macs(layer) / static_cast<double>(weight.size(0));

  const auto& golden = cache_.logits();
  const auto& stage = plan_[site.stage];
  std::size_t b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    const auto golden_batch = golden.narrow(0, offset, length);
    const auto& c = cache_.batches()[b++];
    const auto input = stage.residual ? cache_.main_input(site.stage, site.child, c) : c.stage_in[site.stage];
    const auto& golden_out = stage.residual ? c.conv_out[site.stage][site.child] : c.stage_in[site.stage + 1];
    const auto channels = at::conv2d(input, rows_weight, bias, g.stride, g.padding, g.dilation, g.groups);
    executed_macs_ += channel_macs * static_cast<double>(rows.size()) * static_cast<double>(length);
    for (std::size_t j = 0; j < live.size(); ++j) {
      const auto channel = channels.narrow(1, static_cast<std::int64_t>(j), 1);
      const std::int64_t o = rows[j];
      torch::Tensor logits;
      if (bit_equal(channel, golden_out.narrow(1, o, 1))) {
        ++early_exits_;
      } else {
        auto out = golden_out.clone();
        out.narrow(1, o, 1).copy_(channel);
        logits = stage.residual ? finish_residual(site, out, c, length)
                                : propagate(out, site.stage + 1, c, length);
      }
      counts[live[j]] += classify(golden_batch, logits.defined() ? logits : golden_batch, rule_);
    }
  });
}

// The rest of a residual stage after its main child `site.child` produced `y`, then the stages
// after it.
torch::Tensor FaultExecutor::finish_residual(const FaultSite& site, torch::Tensor y, const BatchCache& c,
                                             std::int64_t length) {
  auto& body = *plan_[site.stage].residual;
  for (std::size_t j = site.child + 1; j < body.main.size(); ++j) {
    y = body.main[j](y);
    executed_macs_ += plan_.layer_macs(body.main_names[j]) * static_cast<double>(length);
  }
  const auto x = body.post(y + body.shortcut(c.stage_in[site.stage]));
  return propagate(x, site.stage + 1, c, length);
}

// Faulty logits from `x`, the input of stage `next`; undefined when a later cached stage input
// is bit-identical to golden (the batch is masked as a whole).
torch::Tensor FaultExecutor::propagate(torch::Tensor x, std::size_t next, const BatchCache& c,
                                       std::int64_t length) {
  for (;; ++next) {
    if (next < plan_.size() && plan_[next].input_cached && bit_equal(x, c.stage_in[next])) {
      ++early_exits_;
      return {};
    }
    if (next >= plan_.size()) return x;
    x = plan_[next].module(x);
    executed_macs_ += plan_.stage_macs(next) * static_cast<double>(length);
  }
}

}  // namespace dnnfi
