"""Training-step throughput of the same nets in PyTorch and in `harness bench`, side by side on
one machine with the same threads, and their ratio, recorded: every measurement goes to
`harness bench --record-pytorch -`, which writes it as a bench record under results/bench/ with
the machine and commit; `harness report PAPER` and `harness report readme` make the tables and
ratios from it. Never run by CI.

    python3 harness/bench/pytorch_train_step.py --harness target/release/harness --threads 2

Each net trains on random inputs of its recipe's size with SGD (momentum 0.9) and cross-entropy,
as `harness bench` does; PyTorch times `--steps` steps after two warm-up steps; each side is
measured `--repeats` times in turn and the table shows medians. The harness is
run as `RAYON_NUM_THREADS=T harness bench --experiment NAME --batch-size B --kernels burn
--kernels project` and its two `train img/s` read from its table: burn-flex's own ops throughout
and the project's kernels (common/src/kernels.rs: convolutions, batch norm, a paper's own step).
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Lenet5Modern(nn.Module):
    """papers/lenet/src/modern.rs: conv 5x5 (6, 16, 120) with ReLU and 2x2 max-pools, 84, 10."""

    def __init__(self):
        super().__init__()
        self.c1, self.c3, self.c5 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Conv2d(16, 120, 5)
        self.f6, self.out = nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        x = F.relu(self.c5(x)).flatten(1)
        return self.out(F.relu(self.f6(x)))


class BasicBlock(nn.Module):
    """papers/resnet/src/blocks.rs with option A: the shortcut subsamples and pads with zeros."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.pad:
            s = F.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(y + s)


class CifarResnet(nn.Module):
    """papers/resnet/src/cifar.rs: 6n + 2 layers, widths 16, 32, 64 (n = 3: ResNet-20)."""

    def __init__(self, n=3):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for width, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(n):
                blocks.append(BasicBlock(cin, width, stride if i == 0 else 1))
                cin = width
        self.blocks, self.fc = nn.Sequential(*blocks), nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


def resnet50():
    import torchvision

    return torchvision.models.resnet50(weights=None)


NETS = {
    # experiment: (builder, input shape, classes, default batch)
    "lenet5-modern": (Lenet5Modern, (1, 32, 32), 10, 128),
    "cifar10-resnet20": (CifarResnet, (3, 32, 32), 10, 128),
    "imagenet-resnet50": (resnet50, (3, 224, 224), 1000, 32),
}


def pytorch_img_per_s(name, batch, steps):
    build, shape, classes, _ = NETS[name]
    net = build()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - started)


def harness_img_per_s(harness, name, batch, threads):
    """{kernels: train img/s} from one `harness bench` run timing both kernels."""
    cmd = [harness, "bench", "--no-record", "--experiment", name, "--batch-size", str(batch), "--kernels", "burn", "--kernels", "project"]
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    found, header = {}, None
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "experiment":
            header = cells
        elif header and cells and cells[0] == f"`{name}`":
            row = dict(zip(header, cells))
            found[row["kernels"]] = float(row["train img/s"])
    if set(found) != {"burn", "project"}:
        raise SystemExit(f"no rows for {name} in the output of {' '.join(cmd)}:\n{out}")
    return found


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--harness", default="target/release/harness")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--net", action="append", choices=sorted(NETS), help="default: all")
    p.add_argument("--steps", type=int, default=0, help="timed PyTorch steps (default: 4096 images' worth, at least 2)")
    p.add_argument("--repeats", type=int, default=3, help="measurements of each side, taken in turn; the table shows their medians")
    p.add_argument("--results", default="results", help="where the record goes (results/bench/...)")
    p.add_argument("--no-record", action="store_true", help="print the table only")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}; PyTorch {torch.__version__}; medians of {args.repeats} measurements of each\n")
    print("| net | batch | harness img/s, burn's kernels | harness img/s, the project's | PyTorch img/s | ratio, burn's | ratio, the project's |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for name in args.net or list(NETS):
        batch = NETS[name][3]
        steps = args.steps or max(2, 4096 // batch if name != "imagenet-resnet50" else 2)
        runs = []
        for _ in range(args.repeats):
            runs.append((harness_img_per_s(args.harness, name, batch, args.threads), pytorch_img_per_s(name, batch, steps)))
        burn = statistics.median(r[0]["burn"] for r in runs)
        project = statistics.median(r[0]["project"] for r in runs)
        theirs = statistics.median(r[1] for r in runs)
        print(f"| `{name}` | {batch} | {burn:,.1f} | {project:,.1f} | {theirs:,.1f} | {burn / theirs:.2f}× | {project / theirs:.2f}× |", flush=True)
        rows.append({
            "experiment": name,
            "batch_size": batch,
            "threads": args.threads,
            "pytorch_version": torch.__version__,
            "harness_burn": [r[0]["burn"] for r in runs],
            "harness_project": [r[0]["project"] for r in runs],
            "pytorch": [r[1] for r in runs],
        })
    if not args.no_record:
        command = " ".join(["python3", os.path.relpath(__file__)] + [a if " " not in a else repr(a) for a in os.sys.argv[1:]])
        env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
        measurements = json.dumps({"command": command, "rows": rows})
        out = subprocess.run([args.harness, "--results", args.results, "bench", "--record-pytorch", "-"], input=measurements, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            # Keep what was measured: `harness bench --record-pytorch FILE` records it later.
            kept = f"pytorch-measurements-{os.getpid()}.json"
            with open(kept, "w") as f:
                f.write(measurements)
            raise SystemExit(f"recording failed ({out.stderr.strip()}); the measurements are in {kept}")
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
