"""Trains a recipe in PyTorch on an IDX dataset (MNIST, Fashion-MNIST) exactly as the harness
reads it, for the "same recipe, same data, two frameworks" comparisons in the write-ups. Each
paper's `parity/proxy_*.py` supplies the net and the recipe; this file does the rest:

- preprocessing as `common/src/data/augment.rs` does it: pixels mapped linearly to
  `pixel_range`, optionally the per-pixel mean of the training images subtracted, `pad` pixels of
  background (0 once the mean is subtracted) on every side, grey repeated into 3 channels;
- training-time augmentation: a random crop of the image padded by `crop_padding` zeros (after
  the mean) and a horizontal flip with probability 1/2, drawn afresh each epoch;
- SGD (momentum, no dampening, coupled weight decay), the learning rate read per step from
  `lr_at(epoch, iteration)` (1-based epochs, 0-based iterations), a fresh shuffle each epoch,
  the last partial batch kept, training stopped at `max_iterations`;
- one evaluation on the test split per epoch, written as the harness's `metrics.csv` columns.

PyTorch only; the Rust build and tests never run it. The random streams are PyTorch's, not the
harness's: the two frameworks agree in distribution, not draw for draw.
"""
import csv
import gzip
import os
import struct
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

FIELDS = ["epoch", "lr", "train_loss", "train_error_pct", "test_loss", "test_error_pct", "train_img_per_s", "epoch_s", "elapsed_s"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def load(data_dir):
    def find(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(data_dir, name)):
                return os.path.join(data_dir, name)
        sys.exit(f"{stem}(.gz) not found in {data_dir}")

    train = (read_idx(find("train-images-idx3-ubyte")), read_idx(find("train-labels-idx1-ubyte")))
    test = (read_idx(find("t10k-images-idx3-ubyte")), read_idx(find("t10k-labels-idx1-ubyte")))
    return train, test


def prepare(images, pre, mean):
    lo, hi = pre["pixel_range"]
    x = lo + (hi - lo) * images.to(torch.float32) / 255.0
    background = lo
    if mean is not None:
        x = x - mean
        background = 0.0
    x = x.unsqueeze(1)
    if pre.get("pad", 0):
        x = F.pad(x, [pre["pad"]] * 4, value=background)
    if pre.get("grey_to_rgb"):
        x = x.repeat(1, 3, 1, 1)
    return x


def augment(x, pre, generator):
    p = pre.get("crop_padding", 0)
    n, _, h, w = x.shape
    if p:
        padded = F.pad(x, [p] * 4, value=0.0)
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    if pre.get("flip"):
        flip = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def evaluate(net, x, y):
    net.eval()
    loss, wrong = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), 1000):
            out = net(x[i : i + 1000])
            loss += F.cross_entropy(out, y[i : i + 1000], reduction="sum").item()
            wrong += (out.argmax(1) != y[i : i + 1000]).sum().item()
    net.train()
    return loss / len(y), 100.0 * wrong / len(y)


def run(name, make_net, recipe, seed, data_dir, out_root, threads, dataset="fashion-mnist"):
    """Trains `make_net()` under `recipe` (a dict: batch, epochs, max_iterations, lr_at, momentum,
    weight_decay, train_limit, preprocess) and writes `out_root/<name>/seed-<seed>/metrics.csv`
    and `run.yaml`."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    (train_x, train_y), (test_x, test_y) = load(data_dir)
    if recipe.get("train_limit"):
        train_x, train_y = train_x[: recipe["train_limit"]], train_y[: recipe["train_limit"]]
    pre = recipe["preprocess"]
    mean = None
    if pre.get("subtract_mean"):
        lo, hi = pre["pixel_range"]
        mean = (lo + (hi - lo) * train_x.to(torch.float64) / 255.0).mean(0).to(torch.float32)
    train_x, test_x = prepare(train_x, pre, mean), prepare(test_x, pre, mean)
    train_y, test_y = train_y.to(torch.int64), test_y.to(torch.int64)
    net = make_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=recipe["lr_at"](1, 0), momentum=recipe["momentum"], weight_decay=recipe["weight_decay"])
    out = os.path.join(out_root, name, f"seed-{seed}")
    os.makedirs(out, exist_ok=True)
    rows, iteration, elapsed = [], 0, 0.0
    n, batch = len(train_y), recipe["batch"]
    for epoch in range(1, recipe["epochs"] + 1):
        started = time.time()
        order = torch.randperm(n, generator=generator)
        loss_sum, wrong, seen, lr = 0.0, 0, 0, recipe["lr_at"](epoch, iteration)
        for start in range(0, n, batch):
            if recipe.get("max_iterations") and iteration >= recipe["max_iterations"]:
                break
            lr = recipe["lr_at"](epoch, iteration)
            for group in optimizer.param_groups:
                group["lr"] = lr
            picked = order[start : start + batch]
            x, y = augment(train_x[picked], pre, generator), train_y[picked]
            scores = net(x)
            loss = F.cross_entropy(scores, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            iteration += 1
            loss_sum += loss.item() * len(y)
            wrong += (scores.argmax(1) != y).sum().item()
            seen += len(y)
        epoch_s = time.time() - started
        elapsed += epoch_s
        test_loss, test_err = evaluate(net, test_x, test_y)
        rows.append({"epoch": epoch, "lr": lr, "train_loss": loss_sum / n, "train_error_pct": 100.0 * wrong / n, "test_loss": test_loss, "test_error_pct": test_err, "train_img_per_s": seen / epoch_s, "epoch_s": epoch_s, "elapsed_s": elapsed})
        print(f"{name} seed {seed} epoch {epoch}: lr {lr:.2e} train loss {loss_sum / n:.4f} test err {test_err:.2f}% ({seen / epoch_s:.0f} img/s)", flush=True)
        with open(os.path.join(out, "metrics.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
        if recipe.get("max_iterations") and iteration >= recipe["max_iterations"]:
            break
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    with open(os.path.join(out, "run.yaml"), "w") as f:
        command = "python3 " + " ".join(sys.argv)
        f.write(f'experiment: "{name}"\ndataset: "{dataset}"\nseed: {seed}\nframework: "torch {torch.__version__}"\nthreads: {threads}\ncommit: "{commit}"\ncommand: "{command}"\n')


def main(name, make_net, recipe, paper, doc):
    """The command line of a paper's proxy script: `--seed`, `--threads`, `--data-dir`; writes
    under results/<paper>/pytorch/."""
    import argparse

    args = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--seed", type=int, default=1)
    args.add_argument("--threads", type=int, default=2)
    args.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    a = args.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
    run(name, make_net, recipe, a.seed, a.data_dir, os.path.join(root, "results", paper, "pytorch"), a.threads)
