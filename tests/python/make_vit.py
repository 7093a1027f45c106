#!/usr/bin/env python3
"""Makes a tiny vision transformer for dnnfi's tests, with its data and the answers an eager
PyTorch loop gives, to hold dnnfi's weight and activation faults on attention layers against.

    /usr/bin/python3 tests/python/make_vit.py OUT_DIR

The model: a patch convolution (4x4 patches of 16x16 images, 16 tokens of width 32), one
nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), the mean over tokens, a linear head of
its own class.
Writes OUT_DIR/vit.pt, traced with gradients enabled (PyTorch then runs the encoder layer's
modules one by one), OUT_DIR/vit_fused.pt, traced in eval mode without gradients (the fused
fast path: one op computes the whole encoder layer), OUT_DIR/test.pt (48 uint8 images),
weights.csv and activations.csv (fault lists); inputs that are not images: text.pt (token ids
through an embedding) with tokens.pt, features_model.pt with features.pt (float tokens), and
sequence.csv; and expected.json: per fault, masked /
non-critical / critical / non-finite counts of an eager loop (batches of 16, channels-last as
dnnfi runs, the seed's argmax rule) on the path each export takes.
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eager_loop import outcome_counts  # noqa: E402
from make_own_model import apply  # noqa: E402

BATCH = 16
IMAGES = 48
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


class Head(nn.Module):
    """A linear layer of one's own class (not nn.Linear): dnnfi finds it by its forward."""

    def __init__(self, features, classes):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, features) / features ** 0.5)
        self.bias = nn.Parameter(torch.zeros(classes))

    def forward(self, x):
        return nn.functional.linear(x, self.weight, self.bias)


class TinyViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 32, 4, stride=4)
        self.encoder = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.head = Head(32, 10)

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        return self.head(self.encoder(tokens).mean(1))


# Weight faults: the patch conv, attention's stacked q/k/v projection (a bare parameter) and its
# output projection (an nn.Linear subclass), the feed-forward layers and the head.
WEIGHT_FAULTS = [
    ("patch", (5, 1, 2, 3), [30], "bit-flip"),
    ("encoder.self_attn.in_proj_weight", (3, 7), [30], "bit-flip"),
    ("encoder.self_attn.in_proj_weight", (40, 2), [29, 30], "bit-flip"),
    ("encoder.self_attn.in_proj_weight", (70, 31), [22], "bit-flip"),
    ("encoder.self_attn.out_proj", (9, 4), [30], "stuck-at-1"),
    ("encoder.self_attn.out_proj", (1, 1), [31], "bit-flip"),
    ("encoder.linear1", (12, 30), [30], "bit-flip"),
    ("encoder.linear2", (20, 50), [27], "bit-flip"),
    ("head", (3, 8), [30], "bit-flip"),
    ("head", (7, 2), [1], "stuck-at-0"),
    ("encoder.self_attn.in_proj_weight", (90, 3), [12], "bit-flip"),
    ("encoder.linear1", (5, 5), [10], "bit-flip"),
]
# Activation faults: an element of one image's output (tokens x features after the patch conv's
# channels x rows x columns), in every image.
ACTIVATION_FAULTS = [
    ("patch", (7, 1, 2), [30], "bit-flip"),
    ("encoder.linear1", (3, 40), [30], "bit-flip"),
    ("encoder.linear1", (9, 2), [23], "stuck-at-1"),
    ("encoder.linear2", (15, 31), [29], "bit-flip"),
    ("head", (4,), [30], "bit-flip"),
]


class TinySequence(nn.Module):
    """Tokens in, the same kind of encoder layer, 5 classes: int64 token ids (N x 12) through an
    embedding, or (embed=False) float features (N x 12 x 32, tokens of width 32) as they are."""

    def __init__(self, embed):
        super().__init__()
        self.embed = nn.Embedding(50, 32) if embed else nn.Identity()
        self.encoder = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(1))


SEQUENCE_FAULTS = [
    ("encoder.self_attn.in_proj_weight", (33, 5), [30], "bit-flip"),
    ("encoder.self_attn.in_proj_weight", (80, 17), [24], "bit-flip"),
    ("encoder.self_attn.out_proj", (4, 9), [29], "bit-flip"),
    ("encoder.linear1", (60, 2), [30], "stuck-at-1"),
    ("encoder.linear2", (7, 33), [20], "bit-flip"),
    ("head", (2, 11), [30], "bit-flip"),
]


def save_traced(model, example, path):
    """Traced with gradients enabled: the encoder layer's modules run one by one."""
    for p in model.parameters():
        p.requires_grad_(True)
    with torch.enable_grad():
        torch.jit.trace(model, example, check_trace=False).save(path)


def run(model, x):
    return torch.cat([model(x[s:s + BATCH]) for s in range(0, len(x), BATCH)]).detach()


def write_list(path, faults):
    with open(path, "w") as f:
        f.write("Injection,Layer,TensorIndex,Bit,fault_model\n")
        for i, (layer, index, bits, fault_model) in enumerate(faults):
            text = "(" + ", ".join(map(str, index)) + ("," if len(index) == 1 else "") + ")"
            f.write(f'{i},{layer},"{text}",{"|".join(map(str, bits))},{fault_model}\n')


def weight_counts(model, x, fused, faults=WEIGHT_FAULTS):
    """Weight faults in place, as dnnfi applies them; `fused`: eval without gradients, PyTorch's
    fast path, else with gradients, the modules one by one."""
    params = dict(model.named_parameters())
    for p in params.values():
        p.requires_grad_(not fused)
    with torch.set_grad_enabled(not fused):
        golden = run(model, x)
        counts = []
        for layer, index, bits, fault_model in faults:
            weight = params[layer] if layer in params else params[layer + ".weight"]
            with torch.no_grad():
                old = apply(weight.data, index, bits, fault_model)
            counts.append(outcome_counts(golden, run(model, x)))
            with torch.no_grad():
                weight.data.view(torch.int32)[index] = old
        assert torch.equal(run(model, x).view(torch.int32), golden.view(torch.int32)), "weights not restored"
    return counts


def activation_counts(model, x):
    for p in model.parameters():
        p.requires_grad_(True)
    modules = dict(model.named_modules())
    with torch.enable_grad():
        golden = run(model, x)
        counts = []
        for layer, index, bits, fault_model in ACTIVATION_FAULTS:
            def hook(_module, _inputs, output, index=index, bits=bits, fault_model=fault_model):
                faulty = output.detach().clone()
                for image in range(len(faulty)):
                    apply(faulty[image], index, bits, fault_model)
                return faulty
            handle = modules[layer].register_forward_hook(hook)
            counts.append(outcome_counts(golden, run(model, x)))
            handle.remove()
    return counts


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = TinyViT().eval()
    with torch.no_grad():
        model.head.weight.mul_(8)  # logits far enough apart that the inputs decide the class
    example = torch.zeros(2, 3, 16, 16)
    save_traced(model, example, os.path.join(out, "vit.pt"))
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        fused = torch.jit.trace(model, example, check_trace=False)
    kinds = {n.kind() for n in fused.encoder.graph.nodes()}
    assert "aten::_transformer_encoder_layer_fwd" in kinds, f"no fused encoder op in the no-grad trace: {kinds}"
    fused.save(os.path.join(out, "vit_fused.pt"))

    generator = torch.Generator().manual_seed(1)
    pixels = torch.randint(0, 256, (IMAGES, 3, 16, 16), generator=generator).to(torch.uint8)
    labels = torch.randint(0, 10, (IMAGES,), generator=generator)
    torch.save({"images": pixels, "labels": labels}, os.path.join(out, "test.pt"))
    write_list(os.path.join(out, "weights.csv"), WEIGHT_FAULTS)
    write_list(os.path.join(out, "activations.csv"), ACTIVATION_FAULTS)

    # dnnfi's default layout: channels-last 4-D weights and inputs.
    model = model.to(memory_format=torch.channels_last)
    x = (pixels.float() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    x = x.contiguous(memory_format=torch.channels_last)
    expected = {
        "weights": weight_counts(model, x, fused=False),
        "weights_fused": weight_counts(model, x, fused=True),
        "activations": activation_counts(model, x),
    }

    # Inputs that are not images: token ids, and float features.
    text, features = TinySequence(embed=True).eval(), TinySequence(embed=False).eval()
    with torch.no_grad():
        text.head.weight.mul_(8)
        features.head.weight.mul_(8)
    ids = torch.randint(0, 50, (IMAGES, 12), generator=generator)
    feats = torch.randn(IMAGES, 12, 32, generator=generator)
    sequence_labels = torch.randint(0, 5, (IMAGES,), generator=generator)
    save_traced(text, ids[:2], os.path.join(out, "text.pt"))
    save_traced(features, feats[:2], os.path.join(out, "features_model.pt"))
    torch.save({"images": ids, "labels": sequence_labels}, os.path.join(out, "tokens.pt"))
    torch.save({"images": feats, "labels": sequence_labels}, os.path.join(out, "features.pt"))
    write_list(os.path.join(out, "sequence.csv"), SEQUENCE_FAULTS)
    expected["text"] = weight_counts(text, ids, fused=False, faults=SEQUENCE_FAULTS)
    expected["features"] = weight_counts(features, feats, fused=False, faults=SEQUENCE_FAULTS)
    for key, model, inputs in (("text_correct", text, ids), ("features_correct", features, feats)):
        with torch.enable_grad():
            expected[key] = int((run(model, inputs).argmax(1) == sequence_labels).sum())
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(f"tiny ViT: {len(WEIGHT_FAULTS)} weight and {len(ACTIVATION_FAULTS)} activation faults: {expected}")


if __name__ == "__main__":
    main()
