#!/usr/bin/env python3
"""The CIFAR ResNet-20 recipe (§4.2) in PyTorch on Fashion-MNIST at 32×32, beside the harness's
run of `fashion32-resnet20`: "same recipe, same data, two frameworks" in results/resnet/README.md.

  python3 papers/resnet/parity/proxy_fashion32.py --seed 1 [--threads 2] [--data-dir /usr/share/datasets/fashion-mnist]

Writes results/resnet/pytorch/fashion32-resnet20/seed-<seed>/{metrics.csv,run.yaml}. The recipe
mirrors papers/resnet/experiments/fashion32-resnet20.yaml (keep them in step): the first
TRAIN_LIMIT training images, pixels in [0, 1] with the per-pixel mean subtracted, padded 2 to
32×32, grey repeated into 3 channels; pad-4 random crops and flips; SGD 0.1, momentum 0.9,
weight decay 1e-4, batch 128, ÷10 at 50% and 75% of MAX_ITERATIONS. He-normal convolutions
(fan in), PyTorch's default for the FC layer, as papers/resnet/src/blocks.rs.
"""
import os
import sys

import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "../../..")
sys.path.insert(0, os.path.join(ROOT, "common/parity"))
sys.path.insert(0, HERE)
import proxy  # noqa: E402
from make_golden import CifarResnet  # noqa: E402

TRAIN_LIMIT = 8000
MAX_ITERATIONS = 1260  # 20 epochs of 63 batches


def resnet20():
    net = CifarResnet(n=3)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
    return net


RECIPE = {
    "batch": 128,
    "epochs": 20,
    "max_iterations": MAX_ITERATIONS,
    "lr_at": lambda epoch, it: 0.1 if it < MAX_ITERATIONS // 2 else (0.01 if it < 3 * MAX_ITERATIONS // 4 else 0.001),
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "train_limit": TRAIN_LIMIT,
    "preprocess": {"pad": 2, "pixel_range": [0.0, 1.0], "subtract_mean": True, "crop_padding": 4, "flip": True, "grey_to_rgb": True},
}

if __name__ == "__main__":
    proxy.main("fashion32-resnet20", resnet20, RECIPE, "resnet", __doc__)
