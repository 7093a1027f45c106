#include "fault_executor.hpp"

#include <spdlog/spdlog.h>

#include "batches.hpp"
#include "dnnfi/numerics.hpp"
#include "model/activations.hpp"

namespace dnnfi {
namespace {
// k copies of a batch, one after the other, in its memory format: a stack's golden slices.
torch::Tensor stack_copies(const torch::Tensor& x, std::size_t k) {
  return torch::cat(std::vector<torch::Tensor>(k, x)).contiguous(x.suggest_memory_format());
}

ShortcutPerturbation perturbation;

// The last bit of every value flipped: what a kernel that sums in another order gives.
torch::Tensor perturbed(torch::Tensor x) {
  auto bits = x.contiguous(x.suggest_memory_format());
  return bits.view(torch::kInt32).bitwise_xor(1).view(torch::kFloat);
}
}  // namespace

void perturb_shortcuts_for_testing(const ShortcutPerturbation& p) { perturbation = p; }

bool FaultExecutor::differs(const std::string& layer, float original, float faulty) const {
  return float_bits(model_.computed_value(layer, faulty)) !=
         float_bits(model_.computed_value(layer, original));
}

bool FaultExecutor::changes_weight(const Fault& fault) const {
  // An activation fault's effect depends on the images: only running them tells.
  if (model_.space().target == FaultTarget::kActivations) return true;
  const float original = element(model_.weight(fault.layer), fault.index).to(torch::kCPU).item<float>();
  return differs(fault.layer, original, model_.faulty_value(fault, original));
}

void FaultExecutor::evaluate(const Fault* faults, std::size_t n, Counts* counts) {
  if (model_.space().target == FaultTarget::kActivations) {
    for (std::size_t r = 0; r < n; ++r) {
      const FaultSite site = plan_.site_of(faults[r].layer);
      if (site.splice)
        evaluate_activation(faults[r], site, &counts[r]);
      else
        evaluate_whole_stage(faults[r], site, &counts[r]);
    }
    return;
  }
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
      x = plan_.run_stage(s, x);
      executed_macs_ += plan_.stage_macs(s) * static_cast<double>(length);
    }
    const auto logits = propagate(x, site.stage + 1, c, length, 1).front();
    sums.add(golden_batch, logits.defined() ? logits : golden_batch, rule_);
  });
  counts[0] += sums.total();
}

// An activation fault restarts from the layer's cached golden output with its element faulted in
// every image: no conv of the faulty layer runs. A batch whose element the fault leaves as it
// was (a stuck-at bit already at its value) is masked there. At the first cached stage after the
// fault (the block's output; after a plain layer, the next cached stage input) each image is
// compared with golden on its own: many are equal there (a ReLU drops the change) and masked.
// The rest are gathered across batches into batches of the length they came from, as far as an
// image's activations do not depend on its place in the batch (checked: true of convolutions on
// the CPU, not of a BLAS matmul, which computes its last rows with another kernel); from there
// on each goes back to its place in its own batch, among golden activations.
void FaultExecutor::evaluate_activation(const Fault& fault, const FaultSite& site, Counts* counts) {
  const auto& golden = cache_.logits();
  const auto& stage = plan_[site.stage];
  std::size_t at = site.stage + 1;  // where images are compared one by one
  if (!stage.residual) do
      ++at;
    while (at < plan_.size() && !plan_[at].input_cached);
  at = std::min(at, plan_.size());
  CountSums sums;
  std::map<std::int64_t, Gathered> gathered;  // by the length of the batches they came from
  std::vector<GoneBack> back;                 // per batch
  std::size_t b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    const auto golden_batch = golden.narrow(0, offset, length);
    const auto& c = cache_.batches()[b++];
    back.emplace_back();
    const auto& golden_out = stage.residual ? c.conv_out[site.stage][site.child] : c.stage_in[site.stage + 1];
    const auto out = fault_activation(golden_out, fault.index, fault.bits, fault.model);
    if (bit_equal(out, golden_out)) {
      ++early_exits_;
      sums.add(golden_batch, golden_batch, rule_);
      return;
    }
    const std::size_t until = at < plan_.size() ? gathered_until(at, length, c) : at;
    if (until == at) {  // the batch goes on whole
      const auto logits = stage.residual ? finish_residual(site, out, c, length, 1)
                                         : propagate(out, site.stage + 1, c, length, 1);
      sums.add(golden_batch, logits.front().defined() ? logits.front() : golden_batch, rule_);
      return;
    }
    auto x = stage.residual ? finish_block(site, out, c, length, 1) : out;
    x = run_stages(site.stage + 1, at, x, false);
    const auto same = images_equal(x, c.stage_in[at]);
    const auto differ = same.logical_not().nonzero().flatten();
    const std::int64_t n = differ.size(0);
    if (n < length) {
      const auto masked = golden_batch.index_select(0, same.nonzero().flatten());
      sums.add(masked, masked, rule_);
      images_masked_early_ += length - n;
    }
    if (n == 0) {
      ++early_exits_;
      return;
    }
    back.back().rows = differ;
    back.back().stage = until;
    auto& g = gathered[length];
    g.until = until;
    g.input.push_back(select_images(x, differ));
    g.image.push_back(differ + offset);
    g.rows += n;
    if (g.rows >= length) run_gathered(g, at, length, false, back, sums);
  });
  for (auto& [length, g] : gathered) run_gathered(g, at, length, true, back, sums);
  b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    auto& gone = back[b++];
    if (!gone.input.defined()) return;
    const auto logits = run_stages(gone.stage, plan_.size(), gone.input, false);
    sums.add(golden.narrow(0, offset, length).index_select(0, gone.rows), logits.index_select(0, gone.rows),
             rule_);
  });
  *counts += sums.total();
}

// Runs the gathered images from stage `from` to g.until in batches of `length`, the last one
// (`last`: every batch is done) padded with copies of its first image. Images that reach the
// logits are counted; the others go back to their batches. What does not fill a batch waits.
void FaultExecutor::run_gathered(Gathered& g, std::size_t from, std::int64_t length, bool last,
                                 std::vector<GoneBack>& back, CountSums& sums) {
  if (g.rows == 0) return;
  auto input = torch::cat(g.input);
  auto image = torch::cat(g.image);
  const auto format = g.input.front().suggest_memory_format();
  while (input.size(0) >= length || (last && input.size(0) > 0)) {
    const std::int64_t n = std::min(length, input.size(0));
    auto index = torch::zeros({length}, image.options());
    index.narrow(0, 0, n).copy_(torch::arange(n, image.options()));
    const auto out =
        run_stages(from, g.until, select_images(input, index).contiguous(format), true).narrow(0, 0, n);
    const auto images = image.narrow(0, 0, n);
    if (g.until == plan_.size()) {
      sums.add(cache_.logits().index_select(0, images), out, rule_);
    } else {
      // Back to their batches: batch i / batch_, row i % batch_ of image i of the chunk.
      const auto where = images.to(torch::kCPU);
      const auto* i = where.data_ptr<std::int64_t>();
      for (std::int64_t k = 0; k < n;) {
        const auto batch = i[k] / batch_;
        std::int64_t end = k;
        while (end < n && i[end] / batch_ == batch) ++end;
        auto& gone = back[static_cast<std::size_t>(batch)];
        if (!gone.input.defined())
          gone.input = cache_.batches()[static_cast<std::size_t>(batch)].stage_in[g.until].clone();
        gone.input.index_copy_(0, images.narrow(0, k, end - k) - batch * batch_, out.narrow(0, k, end - k));
        k = end;
      }
    }
    input = input.narrow(0, n, input.size(0) - n);
    image = image.narrow(0, n, image.size(0) - n);
  }
  g.input = {input};
  g.image = {image};
  g.rows = input.size(0);
}

// Stages [from, to) on x; `gathered`: x holds images of several batches (perturbed in tests).
torch::Tensor FaultExecutor::run_stages(std::size_t from, std::size_t to, torch::Tensor x, bool gathered) {
  for (std::size_t s = from; s < to; ++s) {
    x = plan_.run_stage(s, x);
    executed_macs_ += plan_.stage_macs(s) * static_cast<double>(x.size(0));
  }
  return gathered && perturbation.gather ? perturbed(x) : x;
}

// The stage up to which an image's activations from stage `from` on do not depend on its place
// in a batch of `length` (at a cached stage input, or the end): this batch's golden input at
// `from` in reverse order gives the golden activations in reverse order, stage by stage.
// Checked once per stage and batch length; `from` itself: gathering does not pay.
std::size_t FaultExecutor::gathered_until(std::size_t from, std::int64_t length, const BatchCache& c) {
  const auto key = std::make_pair(from, length);
  if (auto it = gathered_until_.find(key); it != gathered_until_.end()) return it->second;
  const auto x = c.stage_in[from];
  const auto reverse =
      torch::arange(length - 1, -1, -1, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  auto alone = x;
  auto reversed = select_images(x, reverse);
  std::size_t until = from;
  for (std::size_t s = from; s < plan_.size(); ++s) {
    alone = plan_.run_stage(s, alone);
    reversed = plan_.run_stage(s, reversed);
    if (perturbation.gather) reversed = perturbed(reversed);
    if (!bit_equal(select_images(reversed, reverse), alone)) break;
    if (s + 1 == plan_.size() || plan_[s + 1].input_cached) until = s + 1;
  }
  if (until < plan_.size() && length > 1)
    spdlog::debug(
        "staged engine: images of a batch of {} compute differently in another place from stage {} on{}",
        length, until < plan_.size() ? plan_[until].prefix : "", until == from ? "; not gathered" : "");
  gathered_until_.emplace(key, until);
  return until;
}

torch::Tensor FaultExecutor::splice_conv(const std::string& layer, const torch::Tensor& input,
                                         const torch::Tensor& rows_weight, const torch::Tensor& bias) {
  const auto& g = model_.info().convs.at(layer);
  auto channels = at::conv2d(input, rows_weight, bias, g.stride, g.padding, g.dilation, g.groups);
  return perturbation.splice ? perturbed(channels) : channels;
}

// The splice of `rows` (golden weights) gives those channels of the golden conv output, bit for
// bit, on this batch's shapes; checked once per layer, channel count and batch length. A layer
// that fails is spliced no more.
bool FaultExecutor::splice_verified(const std::string& layer, const torch::Tensor& input,
                                    const torch::Tensor& golden_out, const std::vector<std::int64_t>& rows,
                                    const torch::Tensor& bias) {
  if (full_conv_layers_.count(layer)) return false;
  const auto key = std::make_tuple(layer, rows.size(), input.size(0));
  if (splice_verified_.count(key)) return true;
  const auto weight = model_.weight(layer);
  const auto row_index = torch::tensor(rows, torch::kLong).to(weight.device());
  auto rows_weight = weight.index_select(0, row_index).contiguous(weight.suggest_memory_format());
  if (model_.rounds_tf32(layer)) rows_weight = round_tf32(rows_weight);
  const auto channels = splice_conv(layer, input, rows_weight, bias);
  bool same = true;
  for (std::size_t j = 0; j < rows.size() && same; ++j)
    same = bit_equal(channels.narrow(1, static_cast<std::int64_t>(j), 1), golden_out.narrow(1, rows[j], 1));
  if (!same) {
    spdlog::info(
        "{}: a conv of {} of its output channels differs from those channels of the full conv on {} "
        "images; its faults run the full conv",
        layer, rows.size(), input.size(0));
    full_conv_layers_.insert(layer);
    return false;
  }
  splice_verified_.insert(key);
  return true;
}

// One weight row per live fault: its output channel's golden row with the fault applied,
// computed by one conv on the cached golden input and spliced into the golden output. Where
// that splice is not exact, each fault runs the layer's own conv in full, as golden did.
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
  const double channel_macs = plan_.layer_macs(layer) / static_cast<double>(weight.size(0));

  const auto& golden = cache_.logits();
  auto& stage = plan_[site.stage];
  // The layer's own conv module, for the full-conv fallback.
  Step& conv = stage.residual ? stage.residual->main[site.child] : stage.module;
  std::vector<CountSums> sums(live.size());  // on the device, one per live fault
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
      executed_macs_ += channel_macs * static_cast<double>(rows.size()) * static_cast<double>(length);
    } else {
      for (std::size_t j = 0; j < live.size(); ++j) {
        ScopedFault patch(model_, faults[live[j]]);
        full[j] = conv(module_input);
        executed_macs_ += plan_.layer_macs(layer) * static_cast<double>(length);
      }
    }
    std::vector<std::size_t> differing;  // j of the faults whose output differs from golden
    for (std::size_t j = 0; j < live.size(); ++j) {
      const bool same = channels.defined() ? bit_equal(channels.narrow(1, static_cast<std::int64_t>(j), 1),
                                                       golden_out.narrow(1, rows[j], 1))
                                           : bit_equal(full[j], golden_out);
      if (same) {
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
        auto slice = out.narrow(0, static_cast<std::int64_t>(i) * length, length);
        if (channels.defined()) {
          slice.narrow(1, rows[j], 1).copy_(channels.narrow(1, static_cast<std::int64_t>(j), 1));
        } else {
          slice.copy_(full[j]);
        }
      }
      const auto logits = stage.residual ? finish_residual(site, out, c, length, k)
                                         : propagate(out, site.stage + 1, c, length, k);
      for (std::size_t i = 0; i < k; ++i)
        sums[differing[first + i]].add(golden_batch, logits[i].defined() ? logits[i] : golden_batch, rule_);
    }
  });
  const auto totals = CountSums::totals(sums);  // one host copy for the run's faults
  for (std::size_t j = 0; j < live.size(); ++j) counts[live[j]] += totals[j];
}

// The rest of a residual stage after its main child `site.child` produced `y` (k slices of
// `length` images): the stage's output.
torch::Tensor FaultExecutor::finish_block(const FaultSite& site, torch::Tensor y, const BatchCache& c,
                                          std::int64_t length, std::size_t k) {
  auto& body = *plan_[site.stage].residual;
  for (std::size_t j = site.child + 1; j < body.main.size(); ++j) {
    y = run_stacked(body.main[j], y, k, length, c);
    executed_macs_ += plan_.layer_macs(body.main_names[j]) * static_cast<double>(k * length);
  }
  auto shortcut = body.shortcut(c.stage_in[site.stage]);  // golden: the same for every slice
  if (k > 1) shortcut = stack_copies(shortcut, k);
  return run_stacked(body.post, y + shortcut, k, length, c);
}

// finish_block, then the stages after it.
std::vector<torch::Tensor> FaultExecutor::finish_residual(const FaultSite& site, torch::Tensor y,
                                                          const BatchCache& c, std::int64_t length,
                                                          std::size_t k) {
  return propagate(finish_block(site, std::move(y), c, length, k), site.stage + 1, c, length, k);
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
    x = run_stacked([this, next](const torch::Tensor& t) { return plan_.run_stage(next, t); }, x,
                    alive.size(), length, c);
    executed_macs_ += plan_.stage_macs(next) * static_cast<double>(alive.size() * length);
  }
}

// step(x) for k slices of `length` images: one call when a stack of that many faults is verified
// to give every slice the bits it gets alone, else slice by slice.
torch::Tensor FaultExecutor::run_stacked(const StepFn& step, const torch::Tensor& x, std::size_t k,
                                         std::int64_t length, const BatchCache& c) {
  if (k == 1) return step(x);
  if (stack_verified(k, length, c)) {
    const auto y = step(x);
    return perturbation.stack ? perturbed(y) : y;
  }
  std::vector<torch::Tensor> parts;
  for (std::size_t i = 0; i < k; ++i)
    parts.push_back(step(x.narrow(0, static_cast<std::int64_t>(i) * length, length)));
  return torch::cat(parts).contiguous(parts.front().suggest_memory_format());
}

// Kernels are chosen by batch size (oneDNN switches around 121-124 images; a matmul's blocking
// follows its rows): a stack of k batches may take other kernels than one batch alone. Checked
// once per stack size and batch length, on this batch's golden activations, for every step a
// stack runs: the last stage first (the likeliest to differ, and cheap), then one stacked pass
// from the first cached stage to the logits beside the golden one, step by step (inside residual
// blocks each main child, the shortcut and the block's last step on the sum).
bool FaultExecutor::stack_verified(std::size_t k, std::int64_t length, const BatchCache& c) {
  const auto key = std::make_pair(k, length);
  if (auto it = stack_verified_.find(key); it != stack_verified_.end()) return it->second;
  // step on the stacked input must give every slice `alone`; its output goes on in `stacked`.
  const auto same_slices = [&](const StepFn& step, torch::Tensor& stacked, const torch::Tensor& alone) {
    stacked = step(stacked);
    if (perturbation.stack) stacked = perturbed(stacked);
    for (std::size_t i = 0; i < k; ++i)
      if (!bit_equal(stacked.narrow(0, static_cast<std::int64_t>(i) * length, length), alone)) return false;
    return true;
  };
  const auto stage_step = [this](std::size_t s) {
    return [this, s](const torch::Tensor& t) { return plan_.run_stage(s, t); };
  };
  bool same = plan_.size() > 0;
  const std::size_t last = plan_.size() - 1;
  if (same && c.stage_in[last].defined()) {
    auto stacked = stack_copies(c.stage_in[last], k);
    same = same_slices(stage_step(last), stacked, plan_.run_stage(last, c.stage_in[last]));
  }
  std::size_t s = 0;
  while (s < plan_.size() && !plan_[s].input_cached) ++s;
  same = same && s < plan_.size();
  torch::Tensor x, stacked;
  if (same) {
    x = c.stage_in[s];
    stacked = stack_copies(x, k);
  }
  for (; same && s < plan_.size(); ++s) {
    if (auto& body = plan_[s].residual) {
      auto y = x;
      auto shortcut = stacked;  // the stage's stacked input
      for (std::size_t j = 0; j < body->main.size() && same; ++j) {
        y = body->main[j](y);
        same = same_slices(body->main[j], stacked, y);
      }
      const auto alone_shortcut = body->shortcut(x);
      same = same && same_slices(body->shortcut, shortcut, alone_shortcut);
      if (!same) break;
      const auto sum = y + alone_shortcut;
      stacked = stacked + shortcut;
      x = body->post(sum);
      same = same_slices(body->post, stacked, x);
    } else {
      x = plan_.run_stage(s, x);
      same = same_slices(stage_step(s), stacked, x);
    }
  }
  if (!same)
    spdlog::info(
        "stacked engine: a stack of {} batches of {} images computes differently from one batch alone; "
        "those run one by one",
        k, length);
  stack_verified_.emplace(key, same);
  return same;
}

}  // namespace dnnfi
