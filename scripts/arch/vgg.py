"""VGG with batch normalization (configurations A, B, D, E) for small inputs: the
convolutional part of the ImageNet network (3x3 convolutions with bias, BN, ReLU, 2x2 max
pooling), which leaves a 1x1 map at 32x32 and at 50x50 inputs (50 -> 25 -> 12 -> 6 -> 3 -> 1),
then a 1x1 adaptive average pool and the 512 -> 4096 -> 4096 -> classes classifier."""
from torch import nn

CFGS = {
    "vgg11_bn": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13_bn": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16_bn": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                 512, 512, 512, "M"],
    "vgg19_bn": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                 512, 512, 512, 512, "M"],
}


def make_features(cfg):
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, cfg, classes):
        super().__init__()
        self.features = make_features(cfg)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(512, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(self.flatten(x))


class _Builder:
    """Builds one configuration; a class rather than a closure so BUILDERS holds no lambdas."""

    def __init__(self, name):
        self.name = name

    def __call__(self, classes, input_hw):
        return VGG(CFGS[self.name], classes)


BUILDERS = {(name, "cifar10"): _Builder(name) for name in CFGS}
BUILDERS[("vgg11_bn", "gtsrb")] = _Builder("vgg11_bn")
