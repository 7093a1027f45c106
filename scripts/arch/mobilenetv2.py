"""MobileNetV2 for CIFAR-10, in the widely used CIFAR adaptation (first convolution and the
second stage with stride 1, ReLU rather than ReLU6, 4x4 average pooling before the
classifier). Blocks are expand 1x1 -> depthwise 3x3 -> project 1x1 (linear); a stride-1
block adds its input back, through a 1x1 convolution + BN when the width changes."""
import torch
from torch import nn


class InvertedResidual(nn.Module):
    def __init__(self, in_planes, out_planes, expansion, stride):
        super().__init__()
        planes = expansion * in_planes
        self.residual = stride == 1
        self.conv1 = nn.Conv2d(in_planes, planes, 1, stride=1, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, groups=planes, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, stride=1, padding=0, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        if stride == 1 and in_planes != out_planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, 1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(out_planes),
            )
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + self.shortcut(x)
        return out


class MobileNetV2(nn.Module):
    # (expansion, out_planes, blocks, stride of the first block)
    CFG = [(1, 16, 1, 1),
           (6, 24, 2, 1),  # stride 2 in the ImageNet network
           (6, 32, 3, 2),
           (6, 64, 4, 2),
           (6, 96, 3, 1),
           (6, 160, 3, 2),
           (6, 320, 1, 1)]

    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, stride=1, padding=1, bias=False)  # stride 2 on ImageNet
        self.bn1 = nn.BatchNorm2d(32)
        self.relu1 = nn.ReLU()
        blocks, in_planes = [], 32
        for expansion, out_planes, count, stride in self.CFG:
            for s in [stride] + [1] * (count - 1):
                blocks.append(InvertedResidual(in_planes, out_planes, expansion, s))
                in_planes = out_planes
        self.layers = nn.Sequential(*blocks)
        self.conv2 = nn.Conv2d(320, 1280, 1, stride=1, padding=0, bias=False)
        self.bn2 = nn.BatchNorm2d(1280)
        self.relu2 = nn.ReLU()
        self.pool = nn.AvgPool2d(4)  # 4x4 feature map at 32x32 input
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(1280, classes)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.flatten(self.pool(x))
        return self.linear(x)


def _mobilenetv2(classes, input_hw):
    return MobileNetV2(classes)


BUILDERS = {("mobilenetv2", "cifar10"): _mobilenetv2}
