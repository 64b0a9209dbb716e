#!/usr/bin/env python3
"""lenet5-modern's recipe in PyTorch on full Fashion-MNIST, beside the harness's run of the same
recipe: "same recipe, same data, two frameworks" in results/lenet/README.md.

  python3 papers/lenet/parity/proxy_fashion.py --seed 1 [--threads 2] [--data-dir /usr/share/datasets/fashion-mnist]

Writes results/lenet/pytorch/lenet5-modern/seed-<seed>/{metrics.csv,run.yaml}. The recipe mirrors
papers/lenet/experiments/lenet5-modern.yaml (keep them in step): pad 2, pixels mapped to
[-0.4242, 2.8215], SGD momentum 0.9, no weight decay, batch 16, 20 epochs, the rate 0.01 then
0.004, 0.002, 0.001, 0.0002 from epochs 3, 6, 9, 13. PyTorch's default initialisation, which is
burn's (Kaiming-uniform, gain 1/√3).
"""
import os
import sys

import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../..")
sys.path.insert(0, os.path.join(ROOT, "common/parity"))
import proxy  # noqa: E402


class Lenet5Modern(nn.Module):
    """papers/lenet/src/modern.rs: ReLU, 2×2 max-pooling, a dense C3, a linear 10-way output."""

    def __init__(self):
        super().__init__()
        self.c1, self.c3, self.c5 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Conv2d(16, 120, 5)
        self.f6, self.output = nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        x = F.relu(self.c5(x)).flatten(1)
        return self.output(F.relu(self.f6(x)))


STEPS = [(1, 0.01), (3, 0.004), (6, 0.002), (9, 0.001), (13, 0.0002)]
RECIPE = {
    "batch": 16,
    "epochs": 20,
    "lr_at": lambda epoch, iteration: [lr for start, lr in STEPS if start <= epoch][-1],
    "momentum": 0.9,
    "weight_decay": 0.0,
    "preprocess": {"pad": 2, "pixel_range": [-0.4242, 2.8215]},
}

if __name__ == "__main__":
    proxy.main("lenet5-modern", Lenet5Modern, RECIPE, "lenet", __doc__)
