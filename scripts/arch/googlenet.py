"""GoogLeNet (Inception v1, Szegedy et al. 2015) for 32x32 inputs, in the two layouts of the
zoo's checkpoints. Every Inception module concatenates, in this order, its 1x1 branch, its
1x1 -> 3x3 branch, its "5x5" branch and its 3x3-max-pool -> 1x1 branch.

* CIFAR-10: torchvision's layout (conv1, inception3a ... inception5b, fc) as ported to
  CIFAR-10: the stem is a single 3x3 stride-1 BasicConv2d to 192 channels (no stem pooling),
  the "5x5" branch is a single 3x3 conv (as in torchvision), max pools after 3b and 4e are
  3x3 stride 2 padding 1, no auxiliary heads. BasicConv2d is conv (no bias) + BN with
  eps=0.001 + ReLU, as in torchvision.
* CIFAR-100: the layout of the common CIFAR-100 training code (prelayer, a3 ... b5, linear):
  a stem of three 3x3 conv-BN-ReLU, convs with bias inside the modules, a "5x5" branch of two
  stacked 3x3 convs, and a 3x3 stride-2 padding-1 max pool after the stem, after b3 and
  after e4. That code builds the BN after the first 3x3 of the "5x5" branch as
  BatchNorm2d(n5x5, n5x5), i.e. with eps = n5x5; its checkpoints were trained that way, so it
  is kept.
"""
import torch
from torch import nn


# ----------------------------------------------------------------- torchvision layout (CIFAR-10)
class BasicConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class InceptionTV(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNetTV(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = BasicConv2d(3, 192, kernel_size=3, stride=1, padding=1)
        self.inception3a = InceptionTV(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = InceptionTV(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=False)
        self.inception4a = InceptionTV(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = InceptionTV(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = InceptionTV(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = InceptionTV(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = InceptionTV(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=False)
        self.inception5a = InceptionTV(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = InceptionTV(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, classes)

    def forward(self, x):
        x = self.inception3b(self.inception3a(self.conv1(x)))
        x = self.maxpool3(x)
        x = self.inception4a(x)
        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)
        x = self.inception4e(x)
        x = self.maxpool4(x)
        x = self.inception5b(self.inception5a(x))
        x = self.dropout(self.flatten(self.avgpool(x)))
        return self.fc(x)


# ------------------------------------------------------- CIFAR-100 training-code layout
def _conv_bn_relu(in_channels, out_channels, kernel_size, padding=0, eps=1e-5):
    return [nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, padding=padding),
            nn.BatchNorm2d(out_channels, eps=eps), nn.ReLU()]


class InceptionC100(nn.Module):
    def __init__(self, in_channels, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
        super().__init__()
        self.b1 = nn.Sequential(*_conv_bn_relu(in_channels, n1x1, 1))
        self.b2 = nn.Sequential(*_conv_bn_relu(in_channels, n3x3_reduce, 1),
                                *_conv_bn_relu(n3x3_reduce, n3x3, 3, padding=1))
        # eps=n5x5 on the middle BN reproduces the original code's BatchNorm2d(n5x5, n5x5)
        self.b3 = nn.Sequential(*_conv_bn_relu(in_channels, n5x5_reduce, 1),
                                *_conv_bn_relu(n5x5_reduce, n5x5, 3, padding=1, eps=float(n5x5)),
                                *_conv_bn_relu(n5x5, n5x5, 3, padding=1))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                *_conv_bn_relu(in_channels, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class GoogLeNetC100(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.prelayer = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 192, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(192), nn.ReLU(),
        )
        self.maxpool1 = nn.MaxPool2d(3, stride=2, padding=1)
        self.a3 = InceptionC100(192, 64, 96, 128, 16, 32, 32)
        self.b3 = InceptionC100(256, 128, 128, 192, 32, 96, 64)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, padding=1)
        self.a4 = InceptionC100(480, 192, 96, 208, 16, 48, 64)
        self.b4 = InceptionC100(512, 160, 112, 224, 24, 64, 64)
        self.c4 = InceptionC100(512, 128, 128, 256, 24, 64, 64)
        self.d4 = InceptionC100(512, 112, 144, 288, 32, 64, 64)
        self.e4 = InceptionC100(528, 256, 160, 320, 32, 128, 128)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, padding=1)
        self.a5 = InceptionC100(832, 256, 160, 320, 32, 128, 128)
        self.b5 = InceptionC100(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout2d(p=0.4)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(1024, classes)

    def forward(self, x):
        x = self.maxpool1(self.prelayer(x))
        x = self.maxpool2(self.b3(self.a3(x)))
        x = self.e4(self.d4(self.c4(self.b4(self.a4(x)))))
        x = self.maxpool3(x)
        x = self.b5(self.a5(x))
        x = self.flatten(self.dropout(self.avgpool(x)))
        return self.linear(x)


def _googlenet_cifar10(classes, input_hw):
    return GoogLeNetTV(classes)


def _googlenet_cifar100(classes, input_hw):
    return GoogLeNetC100(classes)


BUILDERS = {
    ("googlenet", "cifar10"): _googlenet_cifar10,
    ("googlenet", "cifar100"): _googlenet_cifar100,
}
