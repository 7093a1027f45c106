#!/usr/bin/env python3
"""Makes a model of one's own for dnnfi's tests, with its data and the answers an eager PyTorch
loop gives, to hold dnnfi's --model / --data campaigns against.

    /usr/bin/python3 tests/python/make_own_model.py OUT_DIR

Writes OUT_DIR/own.pt (a small CNN, not in the zoo, random weights, traced), 60 test images as
OUT_DIR/images/<class>/*.png and as OUT_DIR/test.pt (the same pixels, the same order),
OUT_DIR/faults.csv (bit-flip, stuck-at and 2-bit burst faults) and OUT_DIR/expected.json: the
top-1 accuracy and, per fault, masked / non-critical / critical / non-finite counts of an eager
per-fault loop (batches of 32, channels-last as dnnfi runs, the seed's argmax rule). Also a
few broken data sets for the error tests.
"""
import json
import os
import sys

import torch
from PIL import Image
from torch import nn

BATCH = 32
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
CLASSES = ["cat", "dog", "emu"]
PER_CLASS = 20
SIDE = 24


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(16, len(CLASSES))

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


# (layer, index, bits, fault model): conv, BN-followed conv, linear; exponent, mantissa, sign.
FAULTS = [
    ("features.0", (3, 1, 2, 0), [30], "bit-flip"),
    ("features.0", (5, 0, 1, 1), [22], "bit-flip"),
    ("features.4", (7, 2, 0, 2), [31], "bit-flip"),
    ("features.4", (0, 5, 1, 1), [26], "stuck-at-1"),
    ("features.4", (11, 7, 2, 2), [29, 30], "bit-flip"),
    ("classifier", (1, 4), [23, 24], "bit-flip"),
    ("classifier", (2, 9), [30], "stuck-at-0"),
    ("classifier", (0, 3), [2], "bit-flip"),
]


def apply(weight, index, bits, model):
    word = weight.view(torch.int32)
    mask = 0
    for b in bits:
        mask |= 1 << b
    mask = torch.tensor(mask, dtype=torch.int64).to(torch.int32)  # bit 31 wraps to the sign
    old = word[index].clone()
    if model == "bit-flip":
        word[index] = old ^ mask
    elif model == "stuck-at-1":
        word[index] = old | mask
    else:
        word[index] = old & ~mask
    return old


def logits_of(model, images):
    parts = []
    for start in range(0, len(images), BATCH):
        x = images[start:start + BATCH].contiguous(memory_format=torch.channels_last)
        parts.append(model(x))
    return torch.cat(parts)


def classify(golden, faulty):
    same = (golden.view(torch.int32) == faulty.view(torch.int32)).all(1)
    non_finite = ~torch.isfinite(faulty).all(1)
    masked = same & ~non_finite
    critical = (golden.argmax(1) != faulty.argmax(1)) & ~same
    n = len(golden)
    return [int(masked.sum()), n - int(masked.sum()) - int(critical.sum()), int(critical.sum()), int(non_finite.sum())]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = SmallNet()
    with torch.no_grad():
        bn = model.features[1]
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.1, 0.1)
        model.classifier.weight.mul_(40)  # logits far enough apart that the inputs decide the class
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    traced = torch.jit.trace(model, torch.zeros(1, 3, SIDE, SIDE))
    traced.save(os.path.join(out, "own.pt"))

    generator = torch.Generator().manual_seed(1)
    # Noise over a random colour per image, so that a random network's outputs vary from image to image.
    noise = torch.randint(0, 96, (len(CLASSES) * PER_CLASS, 3, SIDE, SIDE), generator=generator)
    colour = torch.randint(0, 160, (len(CLASSES) * PER_CLASS, 3, 1, 1), generator=generator)
    pixels = (noise + colour).to(torch.uint8)
    labels = torch.arange(len(CLASSES)).repeat_interleave(PER_CLASS)
    for c, name in enumerate(CLASSES):
        os.makedirs(os.path.join(out, "images", name), exist_ok=True)
        for i in range(PER_CLASS):
            image = pixels[c * PER_CLASS + i].permute(1, 2, 0).numpy()
            Image.fromarray(image).save(os.path.join(out, "images", name, f"{i:03d}.png"))
    torch.save({"images": pixels, "labels": labels}, os.path.join(out, "test.pt"))

    # The reference: eager PyTorch, channels-last weights and inputs as dnnfi runs them.
    model = model.to(memory_format=torch.channels_last)
    x = (pixels.float() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    expected = {"total": len(labels), "faults": {}}
    with torch.no_grad():
        golden = logits_of(model, x)
        expected["correct"] = int((golden.argmax(1) == labels).sum())
        params = dict(model.named_parameters())
        with open(os.path.join(out, "faults.csv"), "w") as f:
            f.write("Injection,Layer,TensorIndex,Bit,fault_model\n")
            for i, (layer, index, bits, fault_model) in enumerate(FAULTS):
                weight = params[layer + ".weight"]
                old = apply(weight, index, bits, fault_model)
                expected["faults"][str(i)] = classify(golden, logits_of(model, x))
                weight.view(torch.int32)[index] = old
                text_index = "(" + ", ".join(map(str, index)) + ")"
                f.write(f'{i},{layer},"{text_index}",{"|".join(map(str, bits))},{fault_model}\n')
        assert torch.equal(logits_of(model, x).view(torch.int32), golden.view(torch.int32)), "weights not restored"
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)

    # Broken data: a label the model does not have, an image that is not one, a wrong shape.
    bad_labels = labels.clone()
    bad_labels[7] = len(CLASSES)
    torch.save({"images": pixels, "labels": bad_labels}, os.path.join(out, "bad_labels.pt"))
    os.makedirs(os.path.join(out, "bad_images", "cat"), exist_ok=True)
    Image.fromarray(pixels[0].permute(1, 2, 0).numpy()).save(os.path.join(out, "bad_images", "cat", "000.png"))
    with open(os.path.join(out, "bad_images", "cat", "001.png"), "wb") as f:
        f.write(b"not a png")
    torch.save({"images": pixels[:, :1], "labels": labels}, os.path.join(out, "one_channel.pt"))
    print(f"own model: {expected['correct']}/{expected['total']} correct; faults {expected['faults']}")


if __name__ == "__main__":
    main()
