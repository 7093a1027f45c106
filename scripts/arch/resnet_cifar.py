"""CIFAR-style ResNet (He et al. 2016, section 4.2): 3 stages of 16/32/64 channels,
6n+2 layers, option-A (parameter-free) shortcut that subsamples and zero-pads."""
import torch
from torch import nn


class PadShortcut(nn.Module):
    """Option A: take every other pixel and pad the new channels with zeros."""

    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    # post(main(x) + shortcut(x)), main being the plain sequence of these children: the
    # campaign engine restarts a fault from the faulty conv inside the block.
    dnnfi_residual = (("conv1", "bn1", "relu1", "conv2", "bn2"), "shortcut", "relu2")

    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = PadShortcut(planes)
        else:
            self.shortcut = nn.Identity()
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return nn.functional.avg_pool2d(x, x.shape[2:]).flatten(1)


class CifarResNet(nn.Module):
    def __init__(self, depth, classes):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = self._stage(16, 16, n, 1)
        self.layer2 = self._stage(16, 32, n, 2)
        self.layer3 = self._stage(32, 64, n, 2)
        self.pool = GlobalAvgPool()
        self.linear = nn.Linear(64, classes)

    @staticmethod
    def _stage(in_planes, planes, blocks, stride):
        layers = [BasicBlock(in_planes, planes, stride)]
        layers += [BasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(self.pool(x))


def _builder(depth):
    return lambda classes, input_hw: CifarResNet(depth, classes)


BUILDERS = {(f"resnet{d}", "cifar10"): _builder(d) for d in (20, 32, 44, 56, 110)}
BUILDERS[("resnet20", "gtsrb")] = _builder(20)
