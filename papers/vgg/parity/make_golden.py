#!/usr/bin/env python3
"""Regenerates torchvision-keys.txt for the VGG import test (tests/tests/vgg.rs): the names and
shapes of torchvision's vgg11/13/16/19 (and _bn) state dicts, no weights. Needs torchvision."""
import torchvision

with open("torchvision-keys.txt", "w") as f:
    f.write("# torchvision %s: model, state-dict key, shape\n" % torchvision.__version__)
    for name in ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]:
        for k, v in getattr(torchvision.models, name)().state_dict().items():
            f.write("%s %s %s\n" % (name, k, "x".join(str(d) for d in v.shape) or "scalar"))
print("wrote torchvision-keys.txt")
