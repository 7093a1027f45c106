"""DenseNet-BC (Huang et al. 2017) adapted to CIFAR-sized inputs, in the two layouts of the
zoo's checkpoints. Both use bottleneck layers BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3(k) whose
output is concatenated after their input ([input, new features]) and transitions that halve
the channels and average-pool 2x2.

* CIFAR-10 (DenseNet121/161): torchvision's layout (features.conv0 ... features.norm5,
  classifier) with a 3x3 stride-1 first convolution, followed, as in the torchvision network
  kept by the common CIFAR-10 port, by the 3x3 stride-2 max pool; transitions are
  BN-ReLU-conv-pool; the head is ReLU, global average pool, linear.
* CIFAR-100 and GTSRB (DenseNet121): the layout of the common CIFAR-100 training code (conv1,
  features.dense_block_layer_N / transition_layer_N / dense_block3 / bn / relu, linear), where
  transitions are BN-conv-pool with no ReLU and no pooling precedes the first block.
"""
from collections import OrderedDict

import torch
from torch import nn


# ----------------------------------------------------------------- torchvision layout (CIFAR-10)
class DenseLayer(nn.Module):
    def __init__(self, in_channels, growth_rate, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)

    def forward(self, x):
        new = self.conv1(self.relu1(self.norm1(x)))
        new = self.conv2(self.relu2(self.norm2(new)))
        return torch.cat([x, new], 1)


def _dense_block(layers, in_channels, growth_rate, bn_size):
    return nn.Sequential(OrderedDict(
        (f"denselayer{i + 1}", DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size))
        for i in range(layers)))


def _transition(in_channels, out_channels):
    return nn.Sequential(OrderedDict([
        ("norm", nn.BatchNorm2d(in_channels)),
        ("relu", nn.ReLU()),
        ("conv", nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=False)),
        ("pool", nn.AvgPool2d(kernel_size=2, stride=2)),
    ]))


class DenseNetTV(nn.Module):
    def __init__(self, growth_rate, block_config, init_features, classes, bn_size=4):
        super().__init__()
        features = OrderedDict([
            ("conv0", nn.Conv2d(3, init_features, kernel_size=3, stride=1, padding=1, bias=False)),
            ("norm0", nn.BatchNorm2d(init_features)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ])
        channels = init_features
        for i, layers in enumerate(block_config):
            features[f"denseblock{i + 1}"] = _dense_block(layers, channels, growth_rate, bn_size)
            channels += layers * growth_rate
            if i != len(block_config) - 1:
                features[f"transition{i + 1}"] = _transition(channels, channels // 2)
                channels //= 2
        features["norm5"] = nn.BatchNorm2d(channels)
        self.features = nn.Sequential(features)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x):
        x = self.relu(self.features(x))
        x = self.flatten(self.avgpool(x))
        return self.classifier(x)


# ------------------------------------------------------- CIFAR-100 training-code layout
class Bottleneck(nn.Module):
    def __init__(self, in_channels, growth_rate):
        super().__init__()
        inner = 4 * growth_rate
        self.bottle_neck = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(),
            nn.Conv2d(in_channels, inner, kernel_size=1, bias=False),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.Conv2d(inner, growth_rate, kernel_size=3, padding=1, bias=False),
        )

    def forward(self, x):
        return torch.cat([x, self.bottle_neck(x)], 1)


class Transition(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.down_sample = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.AvgPool2d(2, stride=2),
        )

    def forward(self, x):
        return self.down_sample(x)


class DenseNetC100(nn.Module):
    def __init__(self, growth_rate, nblocks, classes, reduction=0.5):
        super().__init__()
        channels = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False)
        features = OrderedDict()
        for index, count in enumerate(nblocks):
            last = index == len(nblocks) - 1
            name = f"dense_block{index}" if last else f"dense_block_layer_{index}"
            features[name] = nn.Sequential(OrderedDict(
                (f"bottle_neck_layer_{i}", Bottleneck(channels + i * growth_rate, growth_rate))
                for i in range(count)))
            channels += growth_rate * count
            if not last:
                out_channels = int(reduction * channels)
                features[f"transition_layer_{index}"] = Transition(channels, out_channels)
                channels = out_channels
        features["bn"] = nn.BatchNorm2d(channels)
        features["relu"] = nn.ReLU()
        self.features = nn.Sequential(features)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(channels, classes)

    def forward(self, x):
        x = self.features(self.conv1(x))
        x = self.flatten(self.avgpool(x))
        return self.linear(x)


def _densenet121_cifar10(classes, input_hw):
    return DenseNetTV(32, (6, 12, 24, 16), 64, classes)


def _densenet161_cifar10(classes, input_hw):
    return DenseNetTV(48, (6, 12, 36, 24), 96, classes)


def _densenet121_c100(classes, input_hw):
    return DenseNetC100(32, (6, 12, 24, 16), classes)


BUILDERS = {
    ("densenet121", "cifar10"): _densenet121_cifar10,
    ("densenet161", "cifar10"): _densenet161_cifar10,
    ("densenet121", "cifar100"): _densenet121_c100,
    ("densenet121", "gtsrb"): _densenet121_c100,
}
