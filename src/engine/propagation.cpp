#include "propagation.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "batches.hpp"

namespace dnnfi {

torch::Tensor stack_copies(const torch::Tensor& x, std::size_t k) {
  return torch::cat(std::vector<torch::Tensor>(k, x)).contiguous(x.suggest_memory_format());
}

torch::Tensor Propagation::run_stages(std::size_t from, std::size_t to, torch::Tensor x) {
  for (std::size_t s = from; s < to; ++s) {
    x = plan_.run_stage(s, x);
    executed_macs_ += plan_.stage_macs(s) * static_cast<double>(x.size(0));
  }
  return x;
}

torch::Tensor Propagation::finish_block(const FaultSite& site, torch::Tensor y, const BatchCache& c,
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

std::vector<torch::Tensor> Propagation::finish_residual(const FaultSite& site, torch::Tensor y,
                                                        const BatchCache& c, std::int64_t length,
                                                        std::size_t k) {
  return propagate(finish_block(site, std::move(y), c, length, k), site.stage + 1, c, length, k);
}

std::vector<torch::Tensor> Propagation::propagate(torch::Tensor x, std::size_t next, const BatchCache& c,
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

void Propagation::evaluate_whole_stage(const Fault& fault, const FaultSite& site, Counts* counts) {
  const auto& golden = cache_.logits();
  ScopedFault patch(model_, fault);
  auto sums = chunk_sums();
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
    count(sums, golden_batch, propagate(x, site.stage + 1, c, length, 1).front(), offset);
  });
  counts[0] += sums.total();
}

// step(x) for k slices of `length` images: one call when a stack of that many faults is verified
// to give every slice the bits it gets alone, else slice by slice.
torch::Tensor Propagation::run_stacked(const StepFn& step, const torch::Tensor& x, std::size_t k,
                                       std::int64_t length, const BatchCache& c) {
  if (k == 1) return step(x);
  if (stack_verified(k, length, c)) {
    const auto y = step(x);
    return shortcut_perturbation().stack ? perturbed(y) : y;
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
bool Propagation::stack_verified(std::size_t k, std::int64_t length, const BatchCache& c) {
  const auto check = [&] {
    // step on the stacked input must give every slice `alone`; its output goes on in `stacked`.
    const auto same_slices = [&](const StepFn& step, torch::Tensor& stacked, const torch::Tensor& alone) {
      stacked = step(stacked);
      if (shortcut_perturbation().stack) stacked = perturbed(stacked);
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
    return same;
  };
  return stack_checks_(std::make_pair(k, length), check, [&](bool same) {
    if (!same)
      spdlog::info(
          "stacked engine: a stack of {} batches of {} images computes differently from one batch alone; "
          "those run one by one",
          k, length);
  });
}

const Footprint* Propagation::footprint(std::size_t s) {
  const auto& known = footprints_(s, [&] {
    std::optional<Footprint> f;
    const auto& first = cache_.batches().front();
    if (s + 1 < plan_.size() && plan_[s].input_cached && plan_[s + 1].input_cached &&
        first.stage_in[s].dim() == 4) {
      const auto image =
          first.stage_in[s].narrow(0, 0, 1).contiguous(first.stage_in[s].suggest_memory_format());
      f = Footprint::measure([this, s](const torch::Tensor& x) { return plan_.run_stage(s, x); }, image);
    }
    return f;
  });
  return known ? &*known : nullptr;
}

bool Propagation::window_verified(std::size_t s, const Rect& w, const Rect& out, const BatchCache& c) {
  const auto& golden = c.stage_in[s];
  const auto key = std::make_tuple(s, w.height(), w.width(), golden.size(0));
  const auto check = [&] {
    const auto* f = footprint(s);
    auto y = plan_.run_stage(s, w.of(golden).contiguous(golden.suggest_memory_format()));
    if (shortcut_perturbation().window) y = perturbed(y);
    return window_gives(y, w, out, f->stride_y(), f->stride_x(), c.stage_in[s + 1]);
  };
  return window_checks_(key, check, [&](bool same) {
    if (!same)
      spdlog::debug(
          "staged engine: stage {} on a {}x{} window of {} images differs from the full stage; whole maps",
          plan_[s].prefix, w.height(), w.width(), golden.size(0));
  });
}

std::optional<Propagation::StageWindow> Propagation::window(std::size_t s, const Rect& changed,
                                                            const BatchCache& sample) {
  const Rect map = Rect::whole(sample.stage_in[s]);
  const auto* f = footprint(s);
  if (!f) return std::nullopt;
  const auto out = f->affected(changed);
  const auto w = f->needed(out);
  if (out.area() > 0 && w.area() > 0 && w != map && window_verified(s, w, out, sample))
    return StageWindow{w, out, f->stride_y(), f->stride_x()};
  return std::nullopt;
}

torch::Tensor Propagation::run_window(std::size_t s, const StageWindow& w, const torch::Tensor& input,
                                      const BatchCache& sample, std::int64_t length) {
  const auto y = plan_.run_stage(s, input);
  const auto in_y = w.out.within(w.in, w.stride_y, w.stride_x);
  auto x = shortcut_perturbation().window ? perturbed(in_y.of(y))
                                          : in_y.of(y).contiguous(y.suggest_memory_format());
  const auto out_map = Rect::whole(sample.stage_in[s + 1]);
  executed_macs_ += plan_.stage_macs(s) * static_cast<double>(length) *
                    static_cast<double>(y.size(2) * y.size(3)) / static_cast<double>(out_map.area());
  return x;
}

}  // namespace dnnfi
