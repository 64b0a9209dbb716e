#!/usr/bin/env python3
"""Regenerates the PyTorch golden files of the VGG tests. Needs torch, torchvision and safetensors;
the Rust build and tests never do. Run from this folder: `python3 make_golden.py`
(`--trajectories`: only the trajectory files).

  torchvision-keys.txt    for the import test (tests/tests/vgg.rs): the names and shapes of
                          torchvision's vgg11/13/16/19 (and _bn) state dicts, no weights

and the optimiser trajectory of tests/tests/trajectory_parity_imagenet.rs (common/parity/trajectory.py):
  vgg-d-narrow-trajectory-*.safetensors  configuration D (16 weight layers) at width 1/32
                          (2-4-8-16-16 kernels per block, FC 128-128-10; at 1/16 FC6 alone would
                          be 1.6 MB a file), Glorot-uniform weights and zero biases, no dropout
                          (the replay switches ours off), a pool of 16 random 3×32×32 images (conv5's
                          maps are 1×1 and the adaptive 7×7 average pool replicates them), 20 steps
                          of batch 8: SGD momentum 0.9, weight decay 5e-4, the vgg-d-s256 schedule
                          compressed to 2 epochs of 10 steps, 0.01 then 0.001
"""
import os
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F

D = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


class NarrowVgg(nn.Module):
    """Table 1's configuration D at `width` of its channels, named as our burn fields (`convs.N`,
    `fc6`, `fc7`, `fc8`); widths rounded as `repro_common::paper::narrowed` rounds them."""

    def __init__(self, width, classes=10, blocks=D):
        super().__init__()
        narrow = lambda c: max(1, round(c * width))
        convs, inputs, self.block_sizes = [], 3, [len(b) for b in blocks]
        for block in blocks:
            for c in block:
                convs.append(nn.Conv2d(inputs, narrow(c), 3, padding=1))
                inputs = narrow(c)
        self.convs = nn.ModuleList(convs)
        hidden = narrow(4096)
        self.fc6 = nn.Linear(inputs * 49, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        i = 0
        for size in self.block_sizes:
            for _ in range(size):
                x = F.relu(self.convs[i](x))
                i += 1
            x = F.max_pool2d(x, 2, 2)
        x = F.adaptive_avg_pool2d(x, (7, 7)).flatten(1)
        return self.fc8(F.relu(self.fc7(F.relu(self.fc6(x)))))


def keys():
    import torchvision

    with open("torchvision-keys.txt", "w") as f:
        f.write("# torchvision %s: model, state-dict key, shape\n" % torchvision.__version__)
        for name in ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]:
            for k, v in getattr(torchvision.models, name)().state_dict().items():
                f.write("%s %s %s\n" % (name, k, "x".join(str(d) for d in v.shape) or "scalar"))
    print("wrote torchvision-keys.txt")


def trajectories():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../common/parity"))
    import trajectory

    torch.manual_seed(1409)
    g = torch.Generator().manual_seed(1409)
    net = NarrowVgg(1 / 32)
    pool, batch, steps = 16, 8, 20
    images, labels = torch.randn(pool, 3, 32, 32, generator=g), torch.randint(0, 10, (pool,), generator=g)
    epochs = [1 + i // 10 for i in range(steps)]
    lr = lambda epoch, it: 0.01 if epoch == 1 else 0.001
    trajectory.record("vgg-d-narrow-trajectory", net, images, labels, trajectory.batches(pool, batch, steps, g), epochs, lr, 0.9, 5e-4)


if __name__ == "__main__":
    if sys.argv[1:] != ["--trajectories"]:
        keys()
    trajectories()
