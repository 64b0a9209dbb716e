#!/usr/bin/env python3
"""Regenerates the PyTorch golden files of the AlexNet parity test (tests/tests/alexnet.rs).

Needs torch and torchvision; the Rust build and tests never do. Run from this folder.
  alexnet-narrow.pth          a narrow AlexNet with the paper's mechanisms: 8-16-24-24-16 kernels,
                              conv2/4/5 in two groups, LRN (k=2, n=5, α=1e-4 → PyTorch's 5e-4, β=0.75)
                              after conv1 and conv2, 3×3/2 max-pooling, FC 32-32-10, 227×227 input
  alexnet-narrow-logits.f32   its logits (eval mode) for the input ((i·7919) mod 1000)/500 − 1, 2×3×227×227
  torchvision-keys.txt        names and shapes of torchvision's alexnet state dict (no weights)

and the optimiser trajectory of tests/tests/trajectory_parity_imagenet.rs (common/parity/trajectory.py;
`python3 make_golden.py --trajectories` writes only these):
  alexnet-narrow-trajectory-*.safetensors  the same narrow AlexNet at PyTorch's default init (no
                              dropout: the replay switches ours off), a pool of 8 random 3×99×99
                              images (at 227×227 the pool alone would be 5 MB; at 99 conv5's maps
                              are 2×2 and the adaptive 6×6 average pool upsamples them), 20 steps of
                              batch 4: SGD momentum 0.9, weight decay 5e-4, the imagenet-alexnet
                              schedule compressed to 2 epochs of 10 steps, 0.01 then 0.001
"""
import os
import sys
import torch
import torch.nn as nn


class NarrowAlexnet(nn.Module):
    def __init__(self, w=(8, 16, 24, 24, 16), hidden=32, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w[0], 11, 4)
        self.conv2 = nn.Conv2d(w[0], w[1], 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(w[1], w[2], 3, padding=1)
        self.conv4 = nn.Conv2d(w[2], w[3], 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(w[3], w[4], 3, padding=1, groups=2)
        self.fc6 = nn.Linear(w[4] * 36, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, classes)
        self.lrn = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
        self.pool = nn.MaxPool2d(3, 2)

    def forward(self, x):
        r = torch.relu
        x = self.pool(self.lrn(r(self.conv1(x))))
        x = self.pool(self.lrn(r(self.conv2(x))))
        x = r(self.conv4(r(self.conv3(x))))
        x = self.pool(r(self.conv5(x)))
        x = nn.functional.adaptive_avg_pool2d(x, (6, 6)).flatten(1)
        return self.fc8(r(self.fc7(r(self.fc6(x)))))


@torch.no_grad()
def main():
    if sys.argv[1:] == ["--trajectories"]:
        return trajectories()
    torch.manual_seed(2012)
    net = NarrowAlexnet().eval()
    for p in net.parameters():  # larger than the default init, so LRN's denominator matters
        p.mul_(3.0)
    torch.save(net.state_dict(), "alexnet-narrow.pth")
    n = 2 * 3 * 227 * 227
    x = (torch.arange(n, dtype=torch.int64) * 7919 % 1000).to(torch.float32) / 500.0 - 1.0
    net(x.reshape(2, 3, 227, 227)).contiguous().numpy().astype("<f4").tofile("alexnet-narrow-logits.f32")
    import torchvision
    with open("torchvision-keys.txt", "w") as f:
        f.write("# torchvision %s alexnet: state-dict key, shape\n" % torchvision.__version__)
        for k, v in torchvision.models.alexnet().state_dict().items():
            f.write("%s %s\n" % (k, "x".join(str(d) for d in v.shape)))
    print("wrote alexnet-narrow.* and torchvision-keys.txt")
    trajectories()


def trajectories():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../common/parity"))
    import trajectory

    torch.manual_seed(2012)
    g = torch.Generator().manual_seed(2012)
    with torch.enable_grad():
        net = NarrowAlexnet()
        pool, batch, steps = 8, 4, 20
        images, labels = torch.randn(pool, 3, 99, 99, generator=g), torch.randint(0, 10, (pool,), generator=g)
        epochs = [1 + i // 10 for i in range(steps)]
        lr = lambda epoch, it: 0.01 if epoch == 1 else 0.001
        trajectory.record("alexnet-narrow-trajectory", net, images, labels, trajectory.batches(pool, batch, steps, g), epochs, lr, 0.9, 5e-4)


if __name__ == "__main__":
    main()
