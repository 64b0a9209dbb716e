#!/usr/bin/env python3
"""Regenerates the PyTorch golden files of the GoogLeNet parity test (tests/tests/googlenet.rs).

Needs torch; the Rust build and tests never do. Run from this folder.
  inception-narrow.pth          an inception module (Figure 2b: 1×1; 1×1→3×3; 1×1→5×5; 3×3/1
                                max-pool→1×1, each with ReLU, concatenated) on 16 input maps with
                                columns 4 / 6 / 8 / 2 / 4 / 4
  inception-narrow-output.f32   its output for the input ((i·7919) mod 1000)/500 − 1, 2×16×9×9
  torchvision-keys.txt          names and shapes of torchvision's googlenet state dict as its
                                pretrained weights ship (with the auxiliary heads), no weights

and the optimiser trajectory of tests/tests/trajectory_parity_imagenet.rs (common/parity/trajectory.py;
`python3 make_golden.py --trajectories` writes only these):
  googlenet-narrow-trajectory-*.safetensors  our whole GoogLeNet at width 1/16 (stem 4, conv2 12,
                                the inception columns of Table 1 scaled and rounded as
                                `repro_common::paper::narrowed`, auxiliary heads on 4a and 4d with
                                8 filters and 64 units), 10 classes, LRN (size 5, α = 1e-4, β = 0.75,
                                k = 1: PyTorch divides α by the size as burn does), Caffe's ceil-mode
                                3×3/2 max-pools, no dropout (the replay switches ours off); Xavier-
                                uniform convolution weights as ours, PyTorch's default biases and
                                linear layers. The loss is `training_step`'s: main cross-entropy
                                + 0.3 × each auxiliary head's. A pool of 2 random 3×224×224 images
                                (224 is the only size the fixed 7×7 average pool and the heads'
                                5×5/3 pools to 4×4 admit, bar 223; the pool alone is 1.2 MB) with
                                distinct labels, 18 steps of batch 2: SGD momentum 0.9, weight decay 2e-4, the
                                imagenet-googlenet schedule (×0.96 every 8 epochs) compressed to
                                3 epochs of 6 steps: 0.01, 0.0096, 0.009216
"""
import math
import os
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F


class Inception(nn.Module):
    def __init__(self, inputs, c):
        super().__init__()
        self.b1 = nn.Conv2d(inputs, c[0], 1)
        self.b2_reduce = nn.Conv2d(inputs, c[1], 1)
        self.b2 = nn.Conv2d(c[1], c[2], 3, padding=1)
        self.b3_reduce = nn.Conv2d(inputs, c[3], 1)
        self.b3 = nn.Conv2d(c[3], c[4], 5, padding=2)
        self.b4_proj = nn.Conv2d(inputs, c[5], 1)
        self.pool = nn.MaxPool2d(3, 1, padding=1)

    def forward(self, x):
        r = torch.relu
        return torch.cat([
            r(self.b1(x)),
            r(self.b2(r(self.b2_reduce(x)))),
            r(self.b3(r(self.b3_reduce(x)))),
            r(self.b4_proj(self.pool(x))),
        ], 1)


# Table 1's inception rows: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
TABLE1 = [
    [64, 96, 128, 16, 32, 32],
    [128, 128, 192, 32, 96, 64],
    [192, 96, 208, 16, 48, 64],
    [160, 112, 224, 24, 64, 64],
    [128, 128, 256, 24, 64, 64],
    [112, 144, 288, 32, 64, 64],
    [256, 160, 320, 32, 128, 128],
    [256, 160, 320, 32, 128, 128],
    [384, 192, 384, 48, 128, 128],
]


def narrowed(channels, width):
    """repro_common::paper::narrowed with multiple 1: Rust's round (halves away from zero, where
    Python's round goes to even), at least 1."""
    return max(1, int(math.floor(channels * width + 0.5)))


class AuxHead(nn.Module):
    """§5's auxiliary classifier, as ours (model.rs `AuxHead`) without its dropout."""

    def __init__(self, inputs, classes, width):
        super().__init__()
        filters, units = narrowed(128, width), narrowed(1024, width)
        self.pool = nn.AvgPool2d(5, 3)
        self.conv = nn.Conv2d(inputs, filters, 1)
        self.fc = nn.Linear(filters * 4 * 4, units)
        self.classifier = nn.Linear(units, classes)

    def forward(self, x):
        y = torch.relu(self.conv(self.pool(x)))
        return self.classifier(torch.relu(self.fc(y.flatten(1))))


class Googlenet(nn.Module):
    """Our `Googlenet::with_width(classes, true, width)` (model.rs), field for field, without the
    dropout layers; `forward` gives the main logits and the two auxiliary heads' (on 4a, 4d)."""

    def __init__(self, classes, width):
        super().__init__()
        stem, conv2_width = narrowed(64, width), narrowed(192, width)
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3)
        self.conv2_reduce = nn.Conv2d(stem, stem, 1)
        self.conv2 = nn.Conv2d(stem, conv2_width, 3, 1, 1)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        inputs, modules, outputs = conv2_width, [], []
        for row in TABLE1:
            c = [narrowed(x, width) for x in row]
            modules.append(Inception(inputs, c))
            inputs = c[0] + c[2] + c[4] + c[5]
            outputs.append(inputs)
        self.inception = nn.ModuleList(modules)
        self.aux1 = AuxHead(outputs[2], classes, width)
        self.aux2 = AuxHead(outputs[5], classes, width)
        self.avgpool = nn.AvgPool2d(7, 1)
        self.fc = nn.Linear(inputs, classes)
        for m in self.modules():  # Xavier-uniform convolutions, as ours
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        r = torch.relu
        x = self.lrn(self.pool(r(self.conv1(x))))
        x = self.lrn(r(self.conv2(r(self.conv2_reduce(x)))))
        x = self.pool(x)
        aux = []
        for i, module in enumerate(self.inception):
            x = module(x)
            if i == 2:
                aux.append(self.aux1(x))
            if i == 5:
                aux.append(self.aux2(x))
            if i in (1, 6):  # after 3b and 4e
                x = self.pool(x)
        return self.fc(self.avgpool(x).flatten(1)), aux


def training_loss(output, targets):
    """`Googlenet::training_step`'s loss, summed in the same order."""
    main, aux = output
    loss = F.cross_entropy(main, targets)
    for a in aux:
        loss = loss + F.cross_entropy(a, targets) * 0.3
    return loss


@torch.no_grad()
def main():
    if sys.argv[1:] == ["--trajectories"]:
        return trajectories()
    torch.manual_seed(2014)
    m = Inception(16, [4, 6, 8, 2, 4, 4]).eval()
    torch.save(m.state_dict(), "inception-narrow.pth")
    n = 2 * 16 * 9 * 9
    x = (torch.arange(n, dtype=torch.int64) * 7919 % 1000).to(torch.float32) / 500.0 - 1.0
    m(x.reshape(2, 16, 9, 9)).contiguous().numpy().astype("<f4").tofile("inception-narrow-output.f32")
    import torchvision
    net = torchvision.models.googlenet(aux_logits=True, init_weights=False)
    with open("torchvision-keys.txt", "w") as f:
        f.write("# torchvision %s googlenet (aux_logits=True): state-dict key, shape\n" % torchvision.__version__)
        for k, v in net.state_dict().items():
            f.write("%s %s\n" % (k, "x".join(str(d) for d in v.shape) or "scalar"))
    print("wrote inception-narrow.* and torchvision-keys.txt")
    trajectories()


def trajectories():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../common/parity"))
    import trajectory

    torch.manual_seed(2014)
    g = torch.Generator().manual_seed(2014)
    with torch.enable_grad():
        net = Googlenet(10, 1 / 16)
        pool, batch, steps = 2, 2, 18
        # Distinct labels (with two images, equal ones would be learnt by the biases alone).
        images, labels = torch.randn(pool, 3, 224, 224, generator=g), torch.randperm(10, generator=g)[:pool]
        epochs = [1 + i // 6 for i in range(steps)]
        lr = lambda epoch, it: [0.01, 0.0096, 0.009216][epoch - 1]
        trajectory.record("googlenet-narrow-trajectory", net, images, labels, trajectory.batches(pool, batch, steps, g), epochs, lr, 0.9, 2e-4, training_loss)


if __name__ == "__main__":
    main()
