#include "activation_runs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "batches.hpp"
#include "model/activations.hpp"

namespace dnnfi {

void ActivationRuns::evaluate(const Fault* faults, std::size_t n, Counts* counts) {
  for (std::size_t r = 0; r < n; ++r) {
    const FaultSite site = plan_.site_of(faults[r].layer);
    if (site.splice)
      evaluate_activation(faults[r], site, &counts[r]);
    else
      propagation_.evaluate_whole_stage(faults[r], site, &counts[r]);
  }
}

void ActivationRuns::tally(ShortcutTally& tally) const {
  tally.images_masked_early = images_masked_early_;
  tally.windows_checked += rest_checks_.size();
  tally.windows_passed += rest_checks_.count(true);
}

// An activation fault restarts from the layer's cached golden output with its element faulted in
// every image: no conv of the faulty layer runs. A batch whose element the fault leaves as it
// was (a stuck-at bit already at its value) is masked there. At the first cached stage after the
// fault (the block's output; after a plain layer, the next cached stage input) each image is
// compared with golden on its own: many are equal there (a ReLU drops the change) and masked.
// The rest are gathered across batches into batches of the length they came from, as far as an
// image's activations do not depend on its place in the batch (checked: true of convolutions on
// the CPU, not of a BLAS matmul, which computes its last rows with another kernel); from there
// on each goes back to its place in its own batch, among golden activations. While the change
// covers part of the feature maps (a 3x3 conv widens it by a pixel a side), stages run on
// windows around it (rest_window, run_gathered).
void ActivationRuns::evaluate_activation(const Fault& fault, const FaultSite& site, Counts* counts) {
  const auto& golden = cache_.logits();
  const auto& stage = plan_[site.stage];
  std::size_t at = site.stage + 1;  // where images are compared one by one
  if (!stage.residual) do
      ++at;
    while (at < plan_.size() && !plan_[at].input_cached);
  at = std::min(at, plan_.size());
  auto sums = propagation_.chunk_sums();
  std::map<std::int64_t, Gathered> gathered;  // by the length of the batches they came from
  std::vector<GoneBack> back;                 // per batch
  std::size_t b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    const auto golden_batch = golden.narrow(0, offset, length);
    const auto& c = cache_.batches()[b++];
    back.emplace_back();
    // Gathered as feature maps only (a window of them, or whole maps).
    const std::size_t until =
        at < plan_.size() && c.stage_in[at].dim() == 4 ? gathered_until(at, length, c) : at;
    // The fault's activations at stage `at`: their window `window` (`cropped`), or whole.
    torch::Tensor x;
    std::optional<Rect> window;
    if (until > at && stage.residual) window = rest_window(site, fault, c, &x);
    const bool cropped = window.has_value();
    if (!cropped) {
      const auto& golden_out =
          stage.residual ? c.conv_out[site.stage][site.child] : c.stage_in[site.stage + 1];
      const auto out = fault_activation(golden_out, fault.index, fault.bits, fault.model);
      if (bit_equal(out, golden_out)) {
        propagation_.masked_early(sums, golden_batch, offset);
        return;
      }
      if (until == at) {  // the batch goes on whole
        const auto logits = stage.residual ? propagation_.finish_residual(site, out, c, length, 1)
                                           : propagation_.propagate(out, site.stage + 1, c, length, 1);
        propagation_.count(sums, golden_batch, logits.front(), offset);
        return;
      }
      x = stage.residual ? propagation_.finish_block(site, out, c, length, 1) : out;
      x = propagation_.run_stages(site.stage + 1, at, x);
    }
    const auto& golden_x = c.stage_in[at];
    const auto same = images_equal(x, cropped ? window->of(golden_x) : golden_x);
    const auto differ = same.logical_not().nonzero().flatten();
    const std::int64_t n = differ.size(0);
    if (n < length) {
      const auto rows = same.nonzero().flatten();
      const auto masked = golden_batch.index_select(0, rows);
      sums.add(masked, masked, rule_, rows + offset);
      images_masked_early_ += length - n;
    }
    if (n == 0) {
      propagation_.early_exit();
      return;
    }
    back.back().rows = differ;
    back.back().stage = until;
    auto& g = gathered[length];
    g.until = until;
    if (!g.sample) g.sample = &c;
    Part part;
    const auto where = (differ + offset).to(torch::kCPU);
    part.image.assign(where.data_ptr<std::int64_t>(), where.data_ptr<std::int64_t>() + n);
    if (!cropped) window = differing_pixels(x, golden_x);
    part.rect = *window;  // n > 0: some pixel differs
    part.patch = select_images(cropped ? x : part.rect.of(x), differ);
    g.parts.push_back(std::move(part));
    g.rows += n;
    if (g.rows >= length) run_gathered(g, at, length, false, back, sums);
  });
  for (auto& [length, g] : gathered) run_gathered(g, at, length, true, back, sums);
  b = 0;
  for_each_batch(cache_.chunk_length(cache_.loaded()), batch_, [&](std::int64_t offset, std::int64_t length) {
    auto& gone = back[b++];
    if (!gone.input.defined()) return;
    const auto logits = propagation_.run_stages(gone.stage, plan_.size(), gone.input);
    sums.add(golden.narrow(0, offset, length).index_select(0, gone.rows), logits.index_select(0, gone.rows),
             rule_, gone.rows + offset);
  });
  *counts += sums.total();
}

// Runs the gathered images from stage `from` to g.until in batches of `length`, the last one
// (`last`: every batch is done) padded with copies of its first image. Images that reach the
// logits are counted; the others go back to their batches. What does not fill a batch waits.
// Each stage runs on the window of its input that the changed outputs read, golden around the
// changed part, as long as that window is smaller than the map and checked; then on whole maps.
void ActivationRuns::run_gathered(Gathered& g, std::size_t from, std::int64_t length, bool last,
                                  std::vector<GoneBack>& back, CountSums& sums) {
  while (g.rows >= length || (last && g.rows > 0)) {
    std::vector<Part> parts;  // this batch's, in row order
    std::vector<std::int64_t> images;
    while (static_cast<std::int64_t>(images.size()) < length && !g.parts.empty()) {
      auto& p = g.parts.front();
      const auto want = static_cast<std::size_t>(length) - images.size();
      if (p.image.size() <= want) {
        parts.push_back(std::move(p));
        g.parts.pop_front();
      } else {
        const auto k = static_cast<std::int64_t>(want);
        Part head{{p.image.begin(), p.image.begin() + k}, p.patch.narrow(0, 0, k), p.rect};
        p.image.erase(p.image.begin(), p.image.begin() + k);
        p.patch = p.patch.narrow(0, k, p.patch.size(0) - k);
        parts.push_back(std::move(head));
      }
      images.insert(images.end(), parts.back().image.begin(), parts.back().image.end());
    }
    const auto n = static_cast<std::int64_t>(images.size());
    g.rows -= n;
    images.resize(static_cast<std::size_t>(length), images.front());  // padding: copies of the first

    bool whole = false;
    Rect rect = parts.front().rect;
    for (const auto& p : parts) rect = rect.united(p.rect);
    torch::Tensor x;  // after the first stage: whole activations, or `rect` of them (golden outside)
    // Golden window w of stage s with the changed activations laid on it.
    const auto assemble = [&](std::size_t s, const Rect& w) {
      auto in = golden_window(s, images, w);
      const auto lay = [&](torch::Tensor rows, const Rect& r, const torch::Tensor& patch) {
        rows.narrow(2, r.y0 - w.y0, r.height()).narrow(3, r.x0 - w.x0, r.width()).copy_(patch);
      };
      if (x.defined()) {
        lay(in, rect, x);
      } else {
        std::int64_t row = 0;
        for (const auto& p : parts) {
          const auto k = static_cast<std::int64_t>(p.image.size());
          lay(in.narrow(0, row, k), p.rect, p.patch);
          row += k;
        }
      }
      return in;
    };
    for (std::size_t s = from; s < g.until; ++s) {
      if (!whole) {
        if (const auto w = propagation_.window(s, rect, *g.sample)) {
          x = propagation_.run_window(s, *w, assemble(s, w->in), *g.sample, length);
          rect = w->out;
          continue;
        }
        x = assemble(s, Rect::whole(g.sample->stage_in[s]));
        whole = true;
      }
      x = plan_.run_stage(s, x);
      propagation_.add_macs(plan_.stage_macs(s) * static_cast<double>(length));
    }
    if (shortcut_perturbation().gather) x = perturbed(x);
    if (g.until == plan_.size()) {
      const auto index =
          torch::tensor(std::vector<std::int64_t>(images.begin(), images.begin() + n), torch::kLong);
      sums.add(cache_.logits().index_select(0, index.to(x.device())), x.narrow(0, 0, n), rule_, index);
    } else {
      // Back to their batches: batch i / batch_, row i % batch_ of image i of the chunk.
      for (std::int64_t k = 0; k < n;) {
        const auto batch = images[static_cast<std::size_t>(k)] / batch_;
        std::int64_t end = k;
        std::vector<std::int64_t> rows;
        while (end < n && images[static_cast<std::size_t>(end)] / batch_ == batch)
          rows.push_back(images[static_cast<std::size_t>(end++)] - batch * batch_);
        auto& gone = back[static_cast<std::size_t>(batch)];
        if (!gone.input.defined())
          gone.input = cache_.batches()[static_cast<std::size_t>(batch)].stage_in[g.until].clone();
        const auto index = torch::tensor(rows, torch::kLong).to(x.device());
        auto target = whole ? gone.input : rect.of(gone.input);
        target.index_copy_(0, index, x.narrow(0, k, end - k));
        k = end;
      }
    }
  }
}

torch::Tensor ActivationRuns::golden_window(std::size_t s, const std::vector<std::int64_t>& images,
                                            const Rect& w) {
  std::vector<torch::Tensor> pieces;
  for (std::size_t k = 0; k < images.size();) {
    const auto batch = images[k] / batch_;
    std::vector<std::int64_t> rows;
    while (k < images.size() && images[k] / batch_ == batch) rows.push_back(images[k++] - batch * batch_);
    const auto& golden = cache_.batches()[static_cast<std::size_t>(batch)].stage_in[s];
    pieces.push_back(select_images(w.of(golden), torch::tensor(rows, torch::kLong).to(golden.device())));
  }
  const auto format = cache_.batches().front().stage_in[s].suggest_memory_format();
  return (pieces.size() == 1 ? pieces.front() : torch::cat(pieces)).contiguous(format);
}

// At a cached stage input, or the end: this batch's golden input at `from` in reverse order
// gives the golden activations in reverse order, stage by stage. Checked once per stage and
// batch length; `from` itself: gathering does not pay.
std::size_t ActivationRuns::gathered_until(std::size_t from, std::int64_t length, const BatchCache& c) {
  const auto check = [&] {
    const auto x = c.stage_in[from];
    const auto reverse =
        torch::arange(length - 1, -1, -1, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    auto alone = x;
    auto reversed = select_images(x, reverse);
    std::size_t until = from;
    for (std::size_t s = from; s < plan_.size(); ++s) {
      alone = plan_.run_stage(s, alone);
      reversed = plan_.run_stage(s, reversed);
      if (shortcut_perturbation().gather) reversed = perturbed(reversed);
      if (!bit_equal(select_images(reversed, reverse), alone)) break;
      if (s + 1 == plan_.size() || plan_[s + 1].input_cached) until = s + 1;
    }
    return until;
  };
  return gathered_until_(std::make_pair(from, length), check, [&](std::size_t until) {
    if (until < plan_.size() && length > 1)
      spdlog::debug(
          "staged engine: images of a batch of {} compute differently in another place from stage {} on{}",
          length, until < plan_.size() ? plan_[until].prefix : "", until == from ? "; not gathered" : "");
  });
}

// The rest of residual stage site.stage after its main child site.child, on y (that child's
// output, or a window of it) with the stage's golden shortcut output (whole maps), taken from
// (oy, ox) on; undefined when the window's output does not fit the maps.
torch::Tensor ActivationRuns::rest_of_block(const FaultSite& site, torch::Tensor y,
                                            const torch::Tensor& shortcut, std::int64_t oy, std::int64_t ox) {
  auto& body = *plan_[site.stage].residual;
  for (std::size_t j = site.child + 1; j < body.main.size(); ++j) y = body.main[j](y);
  if (y.dim() != 4 || shortcut.dim() != 4 || oy + y.size(2) > shortcut.size(2) ||
      ox + y.size(3) > shortcut.size(3))
    return {};
  return body.post(y + shortcut.narrow(2, oy, y.size(2)).narrow(3, ox, y.size(3)));
}

// An activation fault of a residual stage's main child on a window: the rest of the stage runs
// on the window of the child's golden output around the faulted element that the changed
// outputs read, golden around it. Gives the stage's output in the returned window (in *x, every
// image of this batch); nullopt where no window is smaller than the map or the check fails.
std::optional<Rect> ActivationRuns::rest_window(const FaultSite& site, const Fault& fault,
                                                const BatchCache& c, torch::Tensor* x) {
  const auto& golden_out = c.conv_out[site.stage][site.child];
  if (golden_out.dim() != 4 || fault.index.size() != 3) return std::nullopt;
  auto& body = *plan_[site.stage].residual;
  const auto& known = rest_footprints_(std::make_pair(site.stage, site.child), [&] {
    const auto& first = cache_.batches().front();
    const auto shortcut = body.shortcut(first.stage_in[site.stage].narrow(0, 0, 1));
    const auto& child_out = first.conv_out[site.stage][site.child];
    const auto image = child_out.narrow(0, 0, 1).contiguous(child_out.suggest_memory_format());
    return Footprint::measure([&](const torch::Tensor& y) { return rest_of_block(site, y, shortcut, 0, 0); },
                              image);
  });
  if (!known) return std::nullopt;
  const auto& f = *known;
  const Rect element{fault.index[1], fault.index[1] + 1, fault.index[2], fault.index[2] + 1};
  const auto out = f.affected(element);
  const auto w = f.needed(out);
  if (out.area() == 0 || w.area() == 0 || w == Rect::whole(golden_out)) return std::nullopt;
  const auto shortcut = body.shortcut(c.stage_in[site.stage]);
  const auto in_z = out.within(w, f.stride_y(), f.stride_x());
  const auto run = [&](const torch::Tensor& y) {
    auto z = rest_of_block(site, y, shortcut, w.y0 / f.stride_y(), w.x0 / f.stride_x());
    if (z.defined() && shortcut_perturbation().window) z = perturbed(z);
    return z;
  };
  const auto golden_in = w.of(golden_out).contiguous(golden_out.suggest_memory_format());
  const auto check = [&] {
    return window_gives(run(golden_in), w, out, f.stride_y(), f.stride_x(), c.stage_in[site.stage + 1]);
  };
  const auto key = std::make_tuple(site.stage, site.child, w.height(), w.width(), golden_out.size(0));
  if (!rest_checks_(key, check, [&](bool same) {
        if (!same)
          spdlog::debug("staged engine: the rest of {} on a {}x{} window of {} images differs; whole maps",
                        plan_[site.stage].prefix, w.height(), w.width(), golden_out.size(0));
      }))
    return std::nullopt;
  auto index = fault.index;
  index[1] -= w.y0;
  index[2] -= w.x0;
  const auto z = run(fault_activation(golden_in, index, fault.bits, fault.model));
  if (!z.defined()) return std::nullopt;
  *x = in_z.of(z).contiguous(z.suggest_memory_format());
  double macs = 0;
  for (std::size_t j = site.child + 1; j < body.main.size(); ++j)
    macs += plan_.layer_macs(body.main_names[j]);
  propagation_.add_macs(macs * static_cast<double>(golden_out.size(0)) *
                        static_cast<double>(z.size(2) * z.size(3)) /
                        static_cast<double>(Rect::whole(c.stage_in[site.stage + 1]).area()));
  return out;
}

}  // namespace dnnfi
