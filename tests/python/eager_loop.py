"""What the CLI tests' eager PyTorch loops share with each other, written from the specification
and not from dnnfi's code: the CIFAR-10 test images as dnnfi feeds them, and the seed's outcome rule.
"""
import torch

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.201)


def cifar10_test_images(batch_file, images):
    """The first `images` images of CIFAR-10's test_batch.bin, normalized, NCHW float32."""
    with open(batch_file, "rb") as f:
        raw = f.read(images * 3073)
    pixels = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(images, 3073)[:, 1:]
    pixels = pixels.reshape(images, 3, 32, 32)
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return (pixels.float() / 255 - mean) / std


def outcome_counts(golden, faulty):
    """[masked, non_critical, critical, non_finite] images: masked when the logits are bit-identical
    and finite, critical when the argmax differs (the seed's rule for NaN/Inf logits too)."""
    images = golden.size(0)
    same = (faulty.view(torch.int32) == golden.view(torch.int32)).all(1)
    non_finite = ~torch.isfinite(faulty).all(1)
    masked = same & ~non_finite
    critical = (faulty.argmax(1) != golden.argmax(1)) & ~same
    return [int(masked.sum()), images - int(masked.sum()) - int(critical.sum()), int(critical.sum()),
            int(non_finite.sum())]
