#include "fault_executor.hpp"

#include <spdlog/spdlog.h>

#include "batches.hpp"
#include "dnnfi/numerics.hpp"

namespace dnnfi {
namespace {
// k copies of a batch, one after the other, in its memory format: a stack's golden slices.
torch::Tensor stack_copies(const torch::Tensor& x, std::size_t k) {
  return torch::cat(std::vector<torch::Tensor>(k, x)).contiguous(x.suggest_memory_format());
}
}  // namespace

bool FaultExecutor::differs(const std::string& layer, float original, float faulty) const {
  return float_bits(model_.computed_value(layer, faulty)) !=
         float_bits(model_.computed_value(layer, original));
}

bool FaultExecutor::changes_weight(const Fault& fault) const {
  const float original = element(model_.weight(fault.layer), fault.index).to(torch::kCPU).item<float>();
  return differs(fault.layer, original, model_.faulty_value(fault, original));
}

void FaultExecutor::evaluate(const Fault* faults, std::size_t n, Counts* counts) {
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
      counts[r] += classify(cache_.logits(), cache_.logits(), rule_);  // every image as golden: masked
    } else {
      live.push_back(r);
    }
  }
  if (live.empty()) return;
  const FaultSite site = plan_.site_of(layer);
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
  CountSums sums;
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
    const auto logits = propagate(x, site.stage + 1, c, length, 1).front();
    sums.add(golden_batch, logits.defined() ? logits : golden_batch, rule_);
  });
  counts[0] += sums.total();
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
  if (model_.rounds_tf32(layer)) rows_weight = round_tf32(rows_weight);  // as the module's conv does
  auto bias = model_.bias(layer);
  if (bias.defined()) bias = bias.index_select(0, row_index);
  const auto& g = model_.info().convs.at(layer);
  const double channel_macs = plan_.layer_macs(layer) / static_cast<double>(weight.size(0));

  const auto& golden = cache_.logits();
  const auto& stage = plan_[site.stage];
  std::vector<CountSums> sums(live.size());  // on the device, one per live fault
  std::size_t b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    const auto golden_batch = golden.narrow(0, offset, length);
    const auto& c = cache_.batches()[b++];
    auto input = stage.residual ? cache_.main_input(site.stage, site.child, c) : c.stage_in[site.stage];
    if (model_.rounds_tf32(layer)) input = round_tf32(input);
    const auto& golden_out = stage.residual ? c.conv_out[site.stage][site.child] : c.stage_in[site.stage + 1];
    const auto channels = at::conv2d(input, rows_weight, bias, g.stride, g.padding, g.dilation, g.groups);
    executed_macs_ += channel_macs * static_cast<double>(rows.size()) * static_cast<double>(length);
    std::vector<std::size_t> differing;  // j of the faults whose channel differs from golden
    for (std::size_t j = 0; j < live.size(); ++j) {
      if (bit_equal(channels.narrow(1, static_cast<std::int64_t>(j), 1), golden_out.narrow(1, rows[j], 1))) {
        ++early_exits_;
        sums[j].add(golden_batch, golden_batch, rule_);
      } else {
        differing.push_back(j);
      }
    }
    // Up to stack_ faulty outputs of the layer, one per slice of a stacked batch, go on together.
    for (std::size_t first = 0; first < differing.size(); first += stack_) {
      const std::size_t k = std::min(stack_, differing.size() - first);
      auto out = stack_copies(golden_out, k);
      for (std::size_t i = 0; i < k; ++i) {
        const auto j = differing[first + i];
        out.narrow(0, static_cast<std::int64_t>(i) * length, length)
            .narrow(1, rows[j], 1)
            .copy_(channels.narrow(1, static_cast<std::int64_t>(j), 1));
      }
      const auto logits = stage.residual ? finish_residual(site, out, c, length, k)
                                         : propagate(out, site.stage + 1, c, length, k);
      for (std::size_t i = 0; i < k; ++i)
        sums[differing[first + i]].add(golden_batch, logits[i].defined() ? logits[i] : golden_batch, rule_);
    }
  });
  for (std::size_t j = 0; j < live.size(); ++j) counts[live[j]] += sums[j].total();  // one host copy each
}

// The rest of a residual stage after its main child `site.child` produced `y` (k slices of
// `length` images), then the stages after it.
std::vector<torch::Tensor> FaultExecutor::finish_residual(const FaultSite& site, torch::Tensor y,
                                                          const BatchCache& c, std::int64_t length,
                                                          std::size_t k) {
  auto& body = *plan_[site.stage].residual;
  for (std::size_t j = site.child + 1; j < body.main.size(); ++j) {
    y = run_stacked(body.main[j], y, k, length, c);
    executed_macs_ += plan_.layer_macs(body.main_names[j]) * static_cast<double>(k * length);
  }
  auto shortcut = body.shortcut(c.stage_in[site.stage]);  // golden: the same for every slice
  if (k > 1) shortcut = stack_copies(shortcut, k);
  return propagate(body.post(y + shortcut), site.stage + 1, c, length, k);
}

// Faulty logits of each of the k slices of `x` (`length` images each), the input of stage
// `next`; a slice's are undefined when a later cached stage input is bit-identical to golden
// (its batch is masked as a whole), and it leaves the stack there.
std::vector<torch::Tensor> FaultExecutor::propagate(torch::Tensor x, std::size_t next, const BatchCache& c,
                                                    std::int64_t length, std::size_t k) {
  std::vector<torch::Tensor> logits(k);
  std::vector<std::size_t> alive(k);
  for (std::size_t i = 0; i < k; ++i) alive[i] = i;
  const auto slice = [&](const torch::Tensor& t, std::size_t i) {
    return t.narrow(0, static_cast<std::int64_t>(i) * length, length);
  };
  for (;; ++next) {
    if (next < plan_.size() && plan_[next].input_cached) {
      std::vector<std::size_t> kept;
      std::vector<torch::Tensor> parts;
      for (std::size_t i = 0; i < alive.size(); ++i) {
        if (bit_equal(slice(x, i), c.stage_in[next])) {
          ++early_exits_;
        } else {
          kept.push_back(alive[i]);
          parts.push_back(slice(x, i));
        }
      }
      if (kept.empty()) return logits;
      if (kept.size() < alive.size()) {
        x = torch::cat(parts).contiguous(x.suggest_memory_format());
        alive = std::move(kept);
      }
    }
    if (next >= plan_.size()) {
      for (std::size_t i = 0; i < alive.size(); ++i) logits[alive[i]] = slice(x, i);
      return logits;
    }
    x = run_stacked(plan_[next].module, x, alive.size(), length, c);
    executed_macs_ += plan_.stage_macs(next) * static_cast<double>(alive.size() * length);
  }
}

// step(x) for k slices of `length` images: one call when a stack of that many images is verified
// to give every slice the bits it gets alone, else slice by slice.
torch::Tensor FaultExecutor::run_stacked(Step& step, const torch::Tensor& x, std::size_t k,
                                         std::int64_t length, const BatchCache& c) {
  if (k == 1 || stack_verified(k, length, c)) return step(x);
  std::vector<torch::Tensor> parts;
  for (std::size_t i = 0; i < k; ++i)
    parts.push_back(step(x.narrow(0, static_cast<std::int64_t>(i) * length, length)));
  return torch::cat(parts).contiguous(parts.front().suggest_memory_format());
}

// Kernels are chosen by batch size (oneDNN switches around 121-124 images): a stack of k
// batches may take another than one batch alone. Checked once per stack size, on this batch's
// golden activations, from the first cached stage to the logits, stage by stage.
bool FaultExecutor::stack_verified(std::size_t k, std::int64_t length, const BatchCache& c) {
  const std::int64_t images = static_cast<std::int64_t>(k) * length;
  if (auto it = stack_verified_.find(images); it != stack_verified_.end()) return it->second;
  std::size_t s = 0;
  while (s < plan_.size() && !plan_[s].input_cached) ++s;
  bool same = s < plan_.size();
  if (same) {
    auto alone = c.stage_in[s].clone();
    auto stacked = stack_copies(alone, k);
    for (; s < plan_.size() && same; ++s) {
      alone = plan_[s].module(alone);
      stacked = plan_[s].module(stacked);
      for (std::size_t i = 0; i < k && same; ++i)
        same = bit_equal(stacked.narrow(0, static_cast<std::int64_t>(i) * length, length), alone);
    }
  }
  if (!same)
    spdlog::debug(
        "stacked engine: a stack of {} images computes differently from {} alone; those run one by one",
        images, length);
  stack_verified_.emplace(images, same);
  return same;
}

}  // namespace dnnfi
