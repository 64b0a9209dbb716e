#!/usr/bin/env python3
"""Regenerates the PyTorch golden files of the ResNet parity test (tests/tests/resnet_parity.rs).

Needs torch, torchvision and safetensors (`pip install torch torchvision safetensors`); the Rust
build and tests never need them. Run from this folder: `python3 make_golden.py`.

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
"""
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


if __name__ == "__main__":
    main()
