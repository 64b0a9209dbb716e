#!/usr/bin/env python3
"""Regenerates the PyTorch golden files of the LeNet-5 trajectory parity test
(tests/tests/trajectory_parity_lenet.rs), through common/parity/trajectory.py. Needs torch and
safetensors; the Rust build and tests never do. Run from this folder: `python3 make_golden.py`
(`--trajectories`, as the other papers' scripts take it, does the same: the trajectories are all
this script writes).

Both nets start from weights drawn as their recipes draw them and train on a pool of 32 real
digits (the first 32 of common/data/mnist-sample's training file), padded to 32×32 with the
background and scaled to the recipe's pixel range, for 30 steps of batch 16 (the recipes' batch
size): the recipe's schedule compressed to three epochs of ten steps, its first three rates.

  lenet5-sgd-trajectory-*.safetensors     the paper's LeNet-5 (§II.B: scaled tanh, trainable
                          subsampling, C3 with Table I's connections, fixed ±1 RBF codes) under
                          the MAP criterion (Eq. 9, j = 10) as `repro_common::nn::map_loss`
                          computes it; lenet5-sgd's plain SGD (momentum 0, weight decay 0) at
                          0.005, 0.002, 0.001; initial weights uniform ±√3/√F_i (the recipe's)
  lenet5-modern-trajectory-*.safetensors  the modern variant (ReLU, max-pool, dense C3, softmax
                          cross-entropy), PyTorch's default initialisation (burn's is the same);
                          lenet5-modern's SGD (momentum 0.9, weight decay 0) at 0.01, 0.004, 0.002

State-dict names and shapes are our burn fields' (`Lenet5`, `Lenet5Modern`). Our constants that
are module fields but no `Param` (SparseConv2d's gather table, EuclideanRbf's centres) are
non-persistent buffers here: not trained on either side and not in the files.
"""
import gzip
import os
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

# papers/lenet/src/lenet5.rs's C3_CONNECTIONS (Table I, by C3 map).
C3_CONNECTIONS = [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
    [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
    [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
    [0, 1, 2, 3, 4, 5],
]


def rbf_codes():
    """papers/lenet/src/rbf_codes.rs's ten 7×12 bitmaps, '#' = +1, '.' = −1: [10, 84]."""
    text = open(os.path.join(HERE, "../src/rbf_codes.rs")).read()
    body = text[text.index("const BITMAPS"):text.index("];\n", text.index("const BITMAPS"))]
    rows = [r for r in body.split('"')[1::2]]
    assert len(rows) == 120 and all(len(r) == 7 for r in rows), "rbf_codes.rs: expected 10 × 12 rows of 7"
    return torch.tensor([1.0 if c == "#" else -1.0 for r in rows for c in r]).reshape(10, 84)


def scaled_tanh(x):
    """repro_common::nn::scaled_tanh: 1.7159·tanh(2a/3)."""
    return torch.tanh(x * (2.0 / 3.0)) * 1.7159


class TrainableSubsampling(nn.Module):
    """repro_common::nn::TrainableSubsampling: 2×2 window sums × coefficient + bias, per map."""

    def __init__(self, maps, bound):
        super().__init__()
        self.coefficient = nn.Parameter(torch.empty(maps).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(maps).uniform_(-bound, bound))

    def forward(self, x):
        sums = F.avg_pool2d(x, 2, 2) * 4.0
        return sums * self.coefficient.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)


class SparseConv2d(nn.Module):
    """repro_common::nn::SparseConv2d: one packed 5×5 kernel per connection, scattered into the
    dense [outputs, inputs, 5, 5] kernel (zeros elsewhere) on each forward pass."""

    def __init__(self, inputs, connections, bound):
        super().__init__()
        count = sum(len(c) for c in connections)
        gather = [count] * (len(connections) * inputs)
        kernel_bounds, bias_bounds, n = [], [], 0
        for o, ins in enumerate(connections):
            b = bound(len(ins) * 25)
            bias_bounds.append(b)
            for i in ins:
                gather[o * inputs + i] = n
                kernel_bounds.append(b)
                n += 1
        self.inputs, self.outputs = inputs, len(connections)
        self.kernels = nn.Parameter(torch.empty(count, 5, 5).uniform_(-1, 1) * torch.tensor(kernel_bounds).reshape(-1, 1, 1))
        self.bias = nn.Parameter(torch.empty(self.outputs).uniform_(-1, 1) * torch.tensor(bias_bounds))
        self.register_buffer("gather", torch.tensor(gather), persistent=False)

    def forward(self, x):
        padded = torch.cat([self.kernels, torch.zeros(1, 5, 5)], 0)
        dense = padded[self.gather].reshape(self.outputs, self.inputs, 5, 5)
        return F.conv2d(x, dense, self.bias)


class EuclideanRbf(nn.Module):
    """repro_common::nn::EuclideanRbf: penalties ‖x‖² − 2·x·wᵀ + ‖w‖², fixed centres."""

    def __init__(self, centres):
        super().__init__()
        self.register_buffer("centres", centres, persistent=False)

    def forward(self, x):
        x_sq = x.pow(2).sum(1, keepdim=True)
        w_sq = self.centres.pow(2).sum(1, keepdim=True).t()
        return x_sq - (x @ self.centres.t()) * 2.0 + w_sq


def map_loss(penalties, targets, j):
    """repro_common::nn::map_loss (Eq. 9), the batch mean of y_correct + log(e^{−j} + Σ e^{−y_i}),
    the log-sum-exp over [−j, −y_0 … −y_9] with the detached maximum, as ours."""
    correct = penalties.gather(1, targets.reshape(-1, 1)).reshape(-1)
    neg = torch.cat([torch.full((penalties.shape[0], 1), -j), -penalties], 1)
    top = neg.max(1, keepdim=True).values.detach()
    lse = (neg - top).exp().sum(1, keepdim=True).log() + top
    return (correct + lse.reshape(-1)).mean()


class Lenet5(nn.Module):
    """papers/lenet/src/lenet5.rs's `Lenet5`; returns the RBF penalties. Weights uniform in
    ±range/F_i^power as `InitRange` draws them (biases too, as burn's initializer does)."""

    def __init__(self, init_range, fan_in_power):
        super().__init__()
        bound = lambda fan_in: init_range / fan_in ** fan_in_power

        def conv(cin, cout):
            c = nn.Conv2d(cin, cout, 5)
            b = bound(cin * 25)
            nn.init.uniform_(c.weight, -b, b)
            nn.init.uniform_(c.bias, -b, b)
            return c

        self.c1 = conv(1, 6)
        self.s2 = TrainableSubsampling(6, bound(4))
        self.c3 = SparseConv2d(6, C3_CONNECTIONS, bound)
        self.s4 = TrainableSubsampling(16, bound(4))
        self.c5 = conv(16, 120)
        self.f6 = nn.Linear(120, 84)
        nn.init.uniform_(self.f6.weight, -bound(120), bound(120))
        nn.init.uniform_(self.f6.bias, -bound(120), bound(120))
        self.output = EuclideanRbf(rbf_codes())

    def forward(self, x):
        x = scaled_tanh(self.c1(x))
        x = scaled_tanh(self.s2(x))
        x = scaled_tanh(self.c3(x))
        x = scaled_tanh(self.s4(x))
        x = scaled_tanh(self.c5(x))
        x = scaled_tanh(self.f6(x.reshape(x.shape[0], 120)))
        return self.output(x)


class Lenet5Modern(nn.Module):
    """papers/lenet/src/modern.rs's `Lenet5Modern`: returns logits."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2, 2)
        x = F.relu(self.c5(x))
        x = F.relu(self.f6(x.reshape(x.shape[0], 120)))
        return self.output(x)


def mnist_sample(count):
    """The first `count` digits and labels of common/data/mnist-sample's training file."""
    root = os.path.join(HERE, "../../../common/data/mnist-sample")
    images = gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz")).read()
    labels = gzip.open(os.path.join(root, "train-labels-idx1-ubyte.gz")).read()
    pixels = torch.frombuffer(bytearray(images[16:16 + count * 784]), dtype=torch.uint8).reshape(count, 1, 28, 28)
    return pixels, torch.frombuffer(bytearray(labels[8:8 + count]), dtype=torch.uint8).to(torch.int64)


def preprocess(pixels, lo, hi):
    """`pad: 2` with the background `lo`, bytes scaled to [lo, hi] as common/src/data/augment.rs."""
    x = lo + (hi - lo) * (pixels.to(torch.float32) / 255.0)
    return F.pad(x, (2, 2, 2, 2), value=lo)


def trajectories():
    sys.path.insert(0, os.path.join(HERE, "../../../common/parity"))
    import trajectory

    pool, batch, steps = 32, 16, 30
    pixels, labels = mnist_sample(pool)
    epochs = [1 + i // 10 for i in range(steps)]

    torch.manual_seed(1998)
    g = torch.Generator().manual_seed(1998)
    net = Lenet5(1.7320508, 0.5)
    images = preprocess(pixels, -0.1, 1.175)
    rates = {1: 0.005, 2: 0.002, 3: 0.001}
    trajectory.record("lenet5-sgd-trajectory", net, images, labels, trajectory.batches(pool, batch, steps, g), epochs, lambda epoch, it: rates[epoch], 0.0, 0.0, loss_of=lambda out, y: map_loss(out, y, 10.0))

    net = Lenet5Modern()
    images = preprocess(pixels, -0.4242, 2.8215)
    rates = {1: 0.01, 2: 0.004, 3: 0.002}
    trajectory.record("lenet5-modern-trajectory", net, images, labels, trajectory.batches(pool, batch, steps, g), epochs, lambda epoch, it: rates[epoch], 0.9, 0.0)


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["--trajectories"]):
        sys.exit("usage: make_golden.py [--trajectories]")
    trajectories()
