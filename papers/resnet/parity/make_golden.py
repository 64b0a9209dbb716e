#!/usr/bin/env python3
"""Regenerates the PyTorch golden files of the ResNet parity test (tests/tests/resnet_parity.rs).

Needs torch, torchvision and safetensors (`pip install torch torchvision safetensors`); the Rust
build and tests never need them. Run from this folder: `python3 make_golden.py` (`--trajectories`: only the trajectory files).

Writes, for fixed random weights (with non-trivial BN statistics) and fixed random inputs:
  resnet20.safetensors          a CIFAR ResNet-20 (option A shortcuts), PyTorch layout and names
  resnet20-input.f32            2×3×32×32 input, little-endian float32
  resnet20-logits-eval.f32      2×10 logits with BN in inference mode (running statistics)
  resnet20-logits-train.f32     2×10 logits with BN in training mode (batch statistics)
  bottleneck.pth                torchvision's own Bottleneck (V1.5: stride on the 3×3) with a
                                projection shortcut, 32 → 8·4 channels, stride 2, saved by torch.save
  bottleneck-input.f32          2×32×14×14 input
  bottleneck-output-eval.f32    2×32×7×7 output, BN in inference mode
  torchvision-keys.txt          every tensor name and shape of torchvision's resnet18 … resnet152
                                state dicts (what a full weight import must match), weights not stored

and the optimiser trajectories of tests/tests/trajectory_parity.rs (common/parity/trajectory.py):
  resnet8-cifar-*.safetensors   ResNet-8 (n = 1, option A) on 16×16 inputs, 30 steps of batch 8:
                                SGD momentum 0.9, weight decay 1e-4, ResNet-110's warm-up compressed
                                to 0.01 for 10 iterations, 0.1, then ÷10 at iteration 20
  resnet-bottleneck-*.safetensors  Table 1's bottleneck net with one block per stage at width 1/8
                                (option B, stride on the first 1×1 as the paper), 32×32 inputs,
                                3 epochs of 8 steps of batch 8: ÷10 each epoch (the ImageNet
                                recipe's ÷10 steps, compressed) from 0.01 (at 0.1 the tiny net is
                                chaotic: f32 rounding grows threefold per step)
"""
import os
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.models.resnet import Bottleneck


class BasicBlock(nn.Module):
    """§4.2's block; option A: x[:, :, ::2, ::2] and zero channels appended after the existing ones."""

    def __init__(self, inputs, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.stride, self.extra = stride, width - inputs

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x[:, :, :: self.stride, :: self.stride]
        if self.extra:
            s = F.pad(s, (0, 0, 0, 0, 0, self.extra))
        return F.relu(y + s)


class Projection(nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, 1, stride, bias=False)
        self.bn = nn.BatchNorm2d(outputs)

    def forward(self, x):
        return self.bn(self.conv(x))


class PaperBottleneck(nn.Module):
    """§3.3's bottleneck as the paper builds it: the stride on the first 1×1 (torchvision's V1.5
    puts it on the 3×3); projection shortcut where the shape changes (option B)."""

    def __init__(self, inputs, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, width, 1, stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, 4 * width, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * width)
        self.downsample = Projection(inputs, 4 * width, stride) if stride != 1 or inputs != 4 * width else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ImagenetBottleneckResnet(nn.Module):
    """Table 1's bottleneck nets (ResNet-50: blocks 3, 4, 6, 3) at width `base` (64 in the paper)."""

    def __init__(self, base, classes, blocks=(3, 4, 6, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inputs, stages = base, []
        for s, n in enumerate(blocks):
            width = base << s
            blocks = []
            for i in range(n):
                blocks.append(PaperBottleneck(inputs, width, 2 if i == 0 and s > 0 else 1))
                inputs = 4 * width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(inputs, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3)))


class CifarResnet(nn.Module):
    def __init__(self, n=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(*[BasicBlock(16, 16, 1) for _ in range(n)])
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), *[BasicBlock(32, 32, 1) for _ in range(n - 1)])
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), *[BasicBlock(64, 64, 1) for _ in range(n - 1)])
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))


def randomise_bn(model, g):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def dump(path, t):
    t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tofile(path)


@torch.no_grad()
def main():
    if sys.argv[1:] == ["--trajectories"]:
        return trajectories()
    g = torch.Generator().manual_seed(20151210)
    torch.manual_seed(20151210)

    net = CifarResnet()
    randomise_bn(net, g)
    state = {k: v.contiguous() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(state, "resnet20.safetensors")
    x = torch.randn(2, 3, 32, 32, generator=g)
    dump("resnet20-input.f32", x)
    net.eval()
    dump("resnet20-logits-eval.f32", net(x))
    net.train()
    dump("resnet20-logits-train.f32", net(x))

    downsample = nn.Sequential(nn.Conv2d(32, 32, 1, 2, bias=False), nn.BatchNorm2d(32))
    block = Bottleneck(32, 8, stride=2, downsample=downsample)
    randomise_bn(block, g)
    torch.save(block.state_dict(), "bottleneck.pth")
    x = torch.randn(2, 32, 14, 14, generator=g)
    dump("bottleneck-input.f32", x)
    block.eval()
    dump("bottleneck-output-eval.f32", block(x))
    import torchvision
    with open("torchvision-keys.txt", "w") as f:
        f.write("# torchvision %s: model, state-dict key, shape\n" % torchvision.__version__)
        for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]:
            for k, v in getattr(torchvision.models, name)().state_dict().items():
                f.write("%s %s %s\n" % (name, k, "x".join(str(d) for d in v.shape) or "scalar"))
    print("wrote resnet20.*, bottleneck.* and torchvision-keys.txt")
    trajectories()


def trajectories():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../common/parity"))
    import trajectory

    torch.manual_seed(7)
    g = torch.Generator().manual_seed(7)
    with torch.enable_grad():
        net = CifarResnet(n=1)
        images, labels = torch.randn(32, 3, 16, 16, generator=g), torch.randint(0, 10, (32,), generator=g)
        steps = 30
        warm_up = lambda epoch, it: 0.01 if it < 10 else (0.1 if it < 20 else 0.01)
        trajectory.record("resnet8-cifar", net, images, labels, trajectory.batches(32, 8, steps, g), [1] * steps, warm_up, 0.9, 1e-4)

        net = ImagenetBottleneckResnet(base=8, classes=10, blocks=(1, 1, 1, 1))
        images, labels = torch.randn(16, 3, 32, 32, generator=g), torch.randint(0, 10, (16,), generator=g)
        epochs = [1 + i // 8 for i in range(24)]
        trajectory.record("resnet-bottleneck", net, images, labels, trajectory.batches(16, 8, 24, g), epochs, lambda epoch, it: 0.01 / 10 ** (epoch - 1), 0.9, 1e-4)


if __name__ == "__main__":
    main()
