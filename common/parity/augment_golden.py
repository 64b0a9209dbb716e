"""Goldens for tests/tests/augment_parity.rs: what torchvision's own ops make of the training
augmentations for fixed random draws, so the Rust side can be checked on the same draws.

Run from the repository root (needs torch, torchvision, PIL, safetensors, numpy):
    python common/parity/augment_golden.py
It writes into tests/tests/data/augment/:

  cifar.safetensors
    images u8 [n, 3, 32, 32]   deterministic from the seed
    mean f32 [3, 32, 32]       their per-pixel mean after scaling to [0, 1] (the recipe's
                               `subtract_mean: per_pixel`), summed in float64 like ours
    draws i64 [k, 4]           (image, dy, dx, flip), dy and dx in [-4, 4]
    expected f32 [k, 3, 32, 32]
                               x = image / 255 - mean; F.pad(x, 4, fill=0); F.crop(top=dy+4,
                               left=dx+4, 32, 32); F.hflip when flip: our recipe's order (the mean
                               is subtracted before the zero padding)
    channel_mean f32 [3]       per-channel mean of the images
    usual f32 [k, 3, 32, 32]   the usual torchvision port for comparison: F.pad on the uint8
                               image (black pixels), crop, flip, to float, minus channel_mean
                               (Normalize with std 1): padding before the mean is subtracted

  imagenet.safetensors
    setup f32 [9]              crop, train_scale min and max, mean[3], std[3] (SETUP below)
    img{i}.jpeg u8 [bytes]     a small JPEG written here (PIL, quality 90, 4:2:0)
    img{i}.rgb u8 [h, w, 3]    PIL's decode of it
    draws i64 [k, 6]           (image, side S, x, y, window, flip); x, y and window in source
                               pixels, window = round(crop * min(w, h) / S)
    alpha f32 [k, 3]           PCA lighting alphas; offset f32 [k, 3] = eigvec @ (alpha * eigval)
                               (fb.resnet.torch's Lighting, added to every pixel in [0, 1] units)
    expected f32 [k, 3, crop, crop]
                               F.resized_crop(pil, top=y, left=x, height=window, width=window,
                               size=crop, BILINEAR, antialias=True); F.hflip when flip;
                               F.to_tensor; + offset; (x - mean) / std
    whole_then_crop u8 [k, crop, crop, 3]
                               torchvision's usual geometry for the same choice, before lighting
                               and normalisation: F.resize(pil, S) (the whole image, shorter side
                               S), then a crop x crop crop at (round(x * S / min), round(y * S /
                               min)), mirrored when flip
"""
import io
import os

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image
from safetensors.torch import save_file
from torchvision.transforms import InterpolationMode

OUT = os.path.join("tests", "tests", "data", "augment")
SEED = 2015

# fb.resnet.torch's PCA of ImageNet RGB in [0, 1]; eigvec's columns are the eigenvectors.
EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])

CROP = 64
TRAIN_SCALE = (72, 100)
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SETUP = [CROP, *TRAIN_SCALE, *MEAN, *STD]  # 9 values


def cifar(rng):
    n = 4
    yy, xx = np.mgrid[0:32, 0:32]
    images = []
    for i in range(n):
        # Structure (so every shift and mirror shows) plus noise (so nothing is symmetric).
        r = (xx * 7 + i * 40) % 256
        g = (yy * 5 + 30 * np.sin(xx / (2 + i))) % 256
        b = ((xx - 16) ** 2 + (yy - 10 - i) ** 2) * 3 % 256
        img = np.stack([r, g, b]).astype(np.float64) + rng.integers(-20, 21, size=(3, 32, 32))
        images.append(np.clip(img, 0, 255).astype(np.uint8))
    images = np.stack(images)
    # As Preprocess::mean_image: float64 sums, / n / 255, then float32.
    mean = (images.astype(np.float64).sum(0) / n / 255.0).astype(np.float32)
    draws = [(0, -4, 3, 1), (1, 0, 0, 0), (2, 2, -1, 0), (3, 4, -4, 1), (0, -3, -2, 1), (1, 1, 4, 0)]
    x_all = torch.from_numpy(images).float() / 255.0
    mean_t = torch.from_numpy(mean)
    channel_mean = mean_t.mean(dim=(1, 2))
    expected, usual = [], []
    for i, dy, dx, flip in draws:
        x = F.pad(x_all[i] - mean_t, 4, fill=0)
        x = F.crop(x, dy + 4, dx + 4, 32, 32)
        expected.append(F.hflip(x) if flip else x)
        u = F.pad(torch.from_numpy(images[i]), 4, fill=0)
        u = F.crop(u, dy + 4, dx + 4, 32, 32)
        u = F.hflip(u) if flip else u
        usual.append(u.float() / 255.0 - channel_mean[:, None, None])
    return {
        "images": torch.from_numpy(images),
        "mean": mean_t,
        "draws": torch.tensor(draws, dtype=torch.int64),
        "expected": torch.stack(expected).contiguous(),
        "channel_mean": channel_mean,
        "usual": torch.stack(usual).contiguous(),
    }


def pattern(kind, w, h, rng):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == 0:
        r = xx * 255 / (w - 1)
        g = 128 + 100 * np.sin(yy / 2.5)
        b = np.where((xx - 40) ** 2 + (yy - 45) ** 2 < 25**2, 220, 40)
    elif kind == 1:
        check = ((xx // 8 + yy // 8) % 2) * 160
        r = check + 40
        g = (xx + yy) * 255 / (w + h)
        b = 255 - check * 0.7
    else:
        rr = np.hypot(xx - w / 3, yy - h / 2)
        r = 128 + 110 * np.sin(rr / 3)
        g = 128 + 110 * np.cos(xx / 4) * np.sin(yy / 6)
        b = yy * 255 / (h - 1)
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, size=(h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def window_of(side, w, h):
    # As FolderPreprocess::train_window (Rust rounds half away from zero; no draw here ties).
    v = CROP / (side / min(w, h))
    assert abs(v - np.floor(v) - 0.5) > 1e-6, "a tie would round differently"
    return min(max(int(np.floor(v + 0.5)), 1), min(w, h))


def imagenet(rng):
    sizes = [(120, 90), (90, 130), (128, 96)]
    # (image, S, flip, alpha); x and y are drawn below. S at both ends (downscale and upscale)
    # and between; alphas of 1-2 standard deviations (0.1), so a lost or mis-mixed lighting shows.
    choices = [
        (0, 72, 0, (0.15, -0.10, 0.05)),
        (0, 100, 1, (-0.12, 0.20, -0.10)),
        (1, 85, 1, (0.08, 0.05, 0.20)),
        (1, 100, 0, (-0.20, -0.05, 0.10)),
        (2, 72, 1, (0.10, 0.15, -0.15)),
        (2, 91, 0, (-0.15, 0.10, 0.05)),
    ]
    out, pil = {}, []
    for i, (w, h) in enumerate(sizes):
        buf = io.BytesIO()
        Image.fromarray(pattern(i, w, h, rng)).save(buf, format="JPEG", quality=90)
        data = buf.getvalue()
        img = Image.open(io.BytesIO(data)).convert("RGB")
        pil.append(img)
        out[f"img{i}.jpeg"] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        out[f"img{i}.rgb"] = torch.from_numpy(np.asarray(img).copy())
    mean = torch.tensor(MEAN)[:, None, None]
    std = torch.tensor(STD)[:, None, None]
    draws, alphas, offsets, expected, alternative = [], [], [], [], []
    for i, side, flip, alpha in choices:
        img = pil[i]
        w, h = img.size
        window = window_of(side, w, h)
        x, y = int(rng.integers(0, w - window + 1)), int(rng.integers(0, h - window + 1))
        alpha = torch.tensor(alpha, dtype=torch.float32)
        offset = EIGVEC @ (alpha * EIGVAL)
        view = F.resized_crop(img, y, x, window, window, [CROP, CROP], interpolation=InterpolationMode.BILINEAR, antialias=True)
        view = F.hflip(view) if flip else view
        t = F.to_tensor(view)
        expected.append((t + offset[:, None, None] - mean) / std)
        # The usual torchvision geometry: rescale the whole image, then crop the rescaled one.
        factor = side / min(w, h)
        whole = F.resize(img, side, interpolation=InterpolationMode.BILINEAR, antialias=True)
        left = min(int(round(x * factor)), whole.size[0] - CROP)
        top = min(int(round(y * factor)), whole.size[1] - CROP)
        alt = F.crop(whole, top, left, CROP, CROP)
        alt = F.hflip(alt) if flip else alt
        alternative.append(torch.from_numpy(np.asarray(alt).copy()))
        draws.append((i, side, x, y, window, flip))
        alphas.append(alpha)
        offsets.append(offset)
    out.update(
        {
            "setup": torch.tensor(SETUP, dtype=torch.float32),
            "draws": torch.tensor(draws, dtype=torch.int64),
            "alpha": torch.stack(alphas),
            "offset": torch.stack(offsets),
            "expected": torch.stack(expected).contiguous(),
            "whole_then_crop": torch.stack(alternative).contiguous(),
        }
    )
    return out


def main():
    rng = np.random.default_rng(SEED)
    os.makedirs(OUT, exist_ok=True)
    save_file(cifar(rng), os.path.join(OUT, "cifar.safetensors"))
    save_file(imagenet(rng), os.path.join(OUT, "imagenet.safetensors"))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
