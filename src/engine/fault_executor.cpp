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

// y, a stage run on input window w (stride sy, sx), holds outputs `out` of the full stage, and
// they equal those of `full` (the full stage's golden output) bit for bit.
bool window_gives(const torch::Tensor& y, const Rect& w, const Rect& out, std::int64_t sy, std::int64_t sx,
                  const torch::Tensor& full) {
  const auto in_y = out.within(w, sy, sx);
  return y.defined() && y.dim() == 4 && in_y.y0 >= 0 && in_y.x0 >= 0 && in_y.y1 <= y.size(2) &&
         in_y.x1 <= y.size(3) && bit_equal(in_y.of(y), out.of(full));
}
}  // namespace

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
// on each goes back to its place in its own batch, among golden activations. While the change
// covers part of the feature maps (a 3x3 conv widens it by a pixel a side), stages run on
// windows around it (rest_window, run_gathered).
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
        ++early_exits_;
        sums.add(golden_batch, golden_batch, rule_);
        return;
      }
      if (until == at) {  // the batch goes on whole
        const auto logits = stage.residual ? finish_residual(site, out, c, length, 1)
                                           : propagate(out, site.stage + 1, c, length, 1);
        sums.add(golden_batch, logits.front().defined() ? logits.front() : golden_batch, rule_);
        return;
      }
      x = stage.residual ? finish_block(site, out, c, length, 1) : out;
      x = run_stages(site.stage + 1, at, x);
    }
    const auto& golden_x = c.stage_in[at];
    const auto same = images_equal(x, cropped ? window->of(golden_x) : golden_x);
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
    const auto logits = run_stages(gone.stage, plan_.size(), gone.input);
    sums.add(golden.narrow(0, offset, length).index_select(0, gone.rows), logits.index_select(0, gone.rows),
             rule_);
  });
  *counts += sums.total();
}

// Runs the gathered images from stage `from` to g.until in batches of `length`, the last one
// (`last`: every batch is done) padded with copies of its first image. Images that reach the
// logits are counted; the others go back to their batches. What does not fill a batch waits.
// Each stage runs on the window of its input that the changed outputs read, golden around the
// changed part, as long as that window is smaller than the map and checked; then on whole maps.
void FaultExecutor::run_gathered(Gathered& g, std::size_t from, std::int64_t length, bool last,
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
        const Rect map = Rect::whole(g.sample->stage_in[s]);
        if (const auto* f = footprint(s)) {
          const auto out = f->affected(rect);
          const auto w = f->needed(out);
          if (out.area() > 0 && w.area() > 0 && w != map && window_verified(s, w, out, *g.sample)) {
            const auto y = plan_.run_stage(s, assemble(s, w));
            const auto in_y = out.within(w, f->stride_y(), f->stride_x());
            x = shortcut_perturbation().window ? perturbed(in_y.of(y))
                                               : in_y.of(y).contiguous(y.suggest_memory_format());
            rect = out;
            const auto out_map = Rect::whole(g.sample->stage_in[s + 1]);
            executed_macs_ += plan_.stage_macs(s) * static_cast<double>(length) *
                              static_cast<double>(y.size(2) * y.size(3)) /
                              static_cast<double>(out_map.area());
            continue;
          }
        }
        x = assemble(s, map);
        whole = true;
      }
      x = plan_.run_stage(s, x);
      executed_macs_ += plan_.stage_macs(s) * static_cast<double>(length);
    }
    if (shortcut_perturbation().gather) x = perturbed(x);
    if (g.until == plan_.size()) {
      const auto index =
          torch::tensor(std::vector<std::int64_t>(images.begin(), images.begin() + n), torch::kLong);
      sums.add(cache_.logits().index_select(0, index.to(x.device())), x.narrow(0, 0, n), rule_);
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

// Stages [from, to) on x.
torch::Tensor FaultExecutor::run_stages(std::size_t from, std::size_t to, torch::Tensor x) {
  for (std::size_t s = from; s < to; ++s) {
    x = plan_.run_stage(s, x);
    executed_macs_ += plan_.stage_macs(s) * static_cast<double>(x.size(0));
  }
  return x;
}

torch::Tensor FaultExecutor::golden_window(std::size_t s, const std::vector<std::int64_t>& images,
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

const Footprint* FaultExecutor::footprint(std::size_t s) {
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

bool FaultExecutor::window_verified(std::size_t s, const Rect& w, const Rect& out, const BatchCache& c) {
  const auto& golden = c.stage_in[s];
  const auto key = std::make_tuple(s, std::size_t{0}, w.height(), w.width(), golden.size(0));
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

// The rest of residual stage site.stage after its main child site.child, on y (that child's
// output, or a window of it) with the stage's golden shortcut output (whole maps), taken from
// (oy, ox) on; undefined when the window's output does not fit the maps.
torch::Tensor FaultExecutor::rest_of_block(const FaultSite& site, torch::Tensor y,
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
std::optional<Rect> FaultExecutor::rest_window(const FaultSite& site, const Fault& fault, const BatchCache& c,
                                               torch::Tensor* x) {
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
  const auto key = std::make_tuple(site.stage, site.child + 1, w.height(), w.width(), golden_out.size(0));
  if (!window_checks_(key, check, [&](bool same) {
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
  executed_macs_ += macs * static_cast<double>(golden_out.size(0)) *
                    static_cast<double>(z.size(2) * z.size(3)) /
                    static_cast<double>(Rect::whole(c.stage_in[site.stage + 1]).area());
  return out;
}

// The stage up to which an image's activations from stage `from` on do not depend on its place
// in a batch of `length` (at a cached stage input, or the end): this batch's golden input at
// `from` in reverse order gives the golden activations in reverse order, stage by stage.
// Checked once per stage and batch length; `from` itself: gathering does not pay.
std::size_t FaultExecutor::gathered_until(std::size_t from, std::int64_t length, const BatchCache& c) {
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

torch::Tensor FaultExecutor::splice_conv(const std::string& layer, const torch::Tensor& input,
                                         const torch::Tensor& rows_weight, const torch::Tensor& bias) {
  const auto& g = model_.info().convs.at(layer);
  auto channels = at::conv2d(input, rows_weight, bias, g.stride, g.padding, g.dilation, g.groups);
  return shortcut_perturbation().splice ? perturbed(channels) : channels;
}

// The splice of `rows` (golden weights) gives those channels of the golden conv output, bit for
// bit, on this batch's shapes; checked once per layer, channel count and batch length. A layer
// that fails is spliced no more.
bool FaultExecutor::splice_verified(const std::string& layer, const torch::Tensor& input,
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
bool FaultExecutor::stack_verified(std::size_t k, std::int64_t length, const BatchCache& c) {
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

}  // namespace dnnfi
