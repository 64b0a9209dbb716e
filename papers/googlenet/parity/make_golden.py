#!/usr/bin/env python3
"""Regenerates the PyTorch golden files of the GoogLeNet parity test (tests/tests/googlenet.rs).

Needs torch; the Rust build and tests never do. Run from this folder.
  inception-narrow.pth          an inception module (Figure 2b: 1×1; 1×1→3×3; 1×1→5×5; 3×3/1
                                max-pool→1×1, each with ReLU, concatenated) on 16 input maps with
                                columns 4 / 6 / 8 / 2 / 4 / 4
  inception-narrow-output.f32   its output for the input ((i·7919) mod 1000)/500 − 1, 2×16×9×9
  torchvision-keys.txt          names and shapes of torchvision's googlenet state dict as its
                                pretrained weights ship (with the auxiliary heads), no weights
"""
import torch
import torch.nn as nn


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


@torch.no_grad()
def main():
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


if __name__ == "__main__":
    main()
