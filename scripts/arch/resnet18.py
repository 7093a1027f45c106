"""ResNet18 for CIFAR-100 (He et al. 2016, basic blocks [2, 2, 2, 2], 64-512 channels) in the
layout of the common CIFAR-100 training code: a 3x3 stride-1 stem with no max pool, stages
conv2_x (stride 1) to conv5_x (stride 2), projection shortcuts (1x1 conv + BN) where the
shape changes, global average pooling and a linear classifier."""
import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.residual_function = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x):
        return torch.relu(self.residual_function(x) + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, classes, blocks=(2, 2, 2, 2)):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        )
        self.conv2_x = self._stage(64, 64, blocks[0], 1)
        self.conv3_x = self._stage(64, 128, blocks[1], 2)
        self.conv4_x = self._stage(128, 256, blocks[2], 2)
        self.conv5_x = self._stage(256, 512, blocks[3], 2)
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, classes)

    @staticmethod
    def _stage(in_channels, out_channels, count, stride):
        layers = [BasicBlock(in_channels, out_channels, stride)]
        layers += [BasicBlock(out_channels, out_channels, 1) for _ in range(count - 1)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv2_x(self.conv1(x))
        x = self.conv5_x(self.conv4_x(self.conv3_x(x)))
        return self.fc(self.flatten(self.avg_pool(x)))


def _resnet18(classes, input_hw):
    return ResNet18(classes)


BUILDERS = {("resnet18", "cifar100"): _resnet18}
