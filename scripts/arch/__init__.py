"""Architectures of the dnnfi model zoo, written so that each state_dict matches the
seed checkpoints' layout exactly and every model traces to TorchScript.

Convention kept by every architecture here: the top-level forward is the plain
sequence of the model's direct children (parameterless steps such as ReLU, pooling
and flattening are modules too), so the campaign engine can restart a faulty run
from any top-level child, or from any block of a top-level nn.Sequential.
"""
from . import densenet, googlenet, mobilenetv2, resnet18, resnet_cifar, vgg

# (name, dataset) -> builder(classes, input_hw); name as in models/zoo.tsv
BUILDERS = {}
BUILDERS.update(resnet_cifar.BUILDERS)
BUILDERS.update(mobilenetv2.BUILDERS)
BUILDERS.update(vgg.BUILDERS)
BUILDERS.update(densenet.BUILDERS)
BUILDERS.update(googlenet.BUILDERS)
BUILDERS.update(resnet18.BUILDERS)


def build(name, dataset, classes, input_hw):
    key = (name.lower(), dataset.lower())
    if key not in BUILDERS:
        known = ", ".join(f"{n}/{d}" for n, d in sorted(BUILDERS))
        raise KeyError(f"no architecture for {name}/{dataset}; known: {known}")
    return BUILDERS[key](classes, input_hw)
