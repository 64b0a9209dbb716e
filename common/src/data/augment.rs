//! How in-memory images become network inputs: static padding, pixel scaling, mean subtraction,
//! and the training-time augmentations: affine distortions (LeCun et al. 1998, §III.C)
//! and pad-crop-flip (He, Zhang, Ren & Sun 2015, §4.2).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::ImageSet;

/// How raw `u8` pixels become network inputs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Background pixels added on every side (28x28 MNIST -> 32x32 with `pad: 2`).
    #[serde(default)]
    pub pad: usize,
    /// Values that pixel 0 (background) and pixel 255 (ink) map to; linear in between.
    pub pixel_range: [f32; 2],
    /// Mean subtracted from every input, computed on the training split (after scaling).
    #[serde(default)]
    pub subtract_mean: Option<MeanKind>,
    /// Training only: pad by this many zero pixels on every side, then crop a random window of
    /// the original size (§4.2: 4). Evaluation sees the single original view.
    #[serde(default)]
    pub random_crop_padding: usize,
    /// Training only: mirror each image left-right with probability 1/2.
    #[serde(default)]
    pub horizontal_flip: bool,
    /// Grey images repeated into three identical channels, for nets built for RGB (the CIFAR
    /// residual nets on Fashion-MNIST); only single-channel datasets accept it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grey_to_rgb: bool,
}

/// Which mean is subtracted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MeanKind {
    /// One mean per pixel position and channel: the mean image (as the CIFAR recipes of 2015 subtract it).
    PerPixel,
    /// One mean per channel.
    PerChannel,
}

/// Random planar affine distortions (§III.C): translation, scaling, squeezing, horizontal shear.
/// The paper does not give the ranges; these are the config's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Distortion {
    /// Probability that a training image is distorted (1.0 = every image, every pass).
    pub probability: f32,
    /// Maximum translation in pixels, each axis.
    pub translate: f32,
    /// Maximum relative change of scale (0.1 = 0.9x to 1.1x).
    pub scale: f32,
    /// Maximum squeeze: x scaled by (1+s), y by 1/(1+s).
    pub squeeze: f32,
    /// Maximum horizontal shear (x += shear * y).
    pub shear: f32,
}

/// One training view's random choices ([`Preprocess::draw`]); the default is the plain view.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Draws {
    /// Crop offset in rows and columns, in `[-p, p]` for `random_crop_padding` p: the view's
    /// pixel (r, c) is the (mean-subtracted) image's (r + dy, c + dx), zero outside. In
    /// torchvision terms, `crop(pad(x, p), top = dy + p, left = dx + p)`.
    pub dy: isize,
    pub dx: isize,
    /// Mirror left-right, after the crop.
    pub flip: bool,
    /// The affine distortion, when one is drawn.
    pub affine: Option<Affine>,
}

/// A drawn planar affine distortion about the image centre: translation `(tx, ty)` pixels,
/// scales `sx`, `sy` (scale times or over the squeeze) and horizontal shear.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub tx: f32,
    pub ty: f32,
    pub sx: f32,
    pub sy: f32,
    pub shear: f32,
}

impl Default for Preprocess {
    /// Pixels scaled to [0, 1], nothing else.
    fn default() -> Self {
        Self { pad: 0, pixel_range: [0.0, 1.0], subtract_mean: None, random_crop_padding: 0, horizontal_flip: false, grey_to_rgb: false }
    }
}

impl Preprocess {
    pub fn output_side(&self, rows: usize, cols: usize) -> (usize, usize) {
        (rows + 2 * self.pad, cols + 2 * self.pad)
    }

    /// The mean this config subtracts, one value per channel and source pixel, computed on
    /// `train` (scaled to `pixel_range` first). `None` when no mean is subtracted.
    pub fn mean_image(&self, train: &ImageSet) -> Option<Vec<f32>> {
        let kind = self.subtract_mean?;
        let size = train.channels * train.rows * train.cols;
        let mut sums = vec![0f64; size];
        for i in 0..train.len() {
            for (s, &p) in sums.iter_mut().zip(train.image(i)) {
                *s += p as f64;
            }
        }
        let [lo, hi] = self.pixel_range;
        let n = train.len().max(1) as f64;
        let mut mean: Vec<f32> = sums.iter().map(|s| lo + (hi - lo) * (s / n / 255.0) as f32).collect();
        if kind == MeanKind::PerChannel {
            for channel in mean.chunks_mut(train.rows * train.cols) {
                let m = channel.iter().sum::<f32>() / channel.len() as f32;
                channel.fill(m);
            }
        }
        Some(mean)
    }

    /// Writes image `i` of `set` into `out` (`channels × h × w`). With `rng` (training) the
    /// random crop, flip and `distortion` apply; without it, the plain centred view.
    /// The same as [`Preprocess::draw`] followed by [`Preprocess::write_drawn`].
    pub fn write(&self, set: &ImageSet, i: usize, out: &mut [f32], mean: Option<&[f32]>, distortion: Option<&Distortion>, rng: Option<&mut impl Rng>) {
        let draws = rng.map(|rng| self.draw(rng, distortion)).unwrap_or_default();
        self.write_drawn(set, i, out, mean, &draws);
    }

    /// One training view's random choices. The draws come in a fixed order — crop offsets (when
    /// `random_crop_padding > 0`), flip (when `horizontal_flip`), then the distortion — and
    /// their number depends only on the config, so seeded streams (and resumed runs) replay.
    pub fn draw(&self, rng: &mut impl Rng, distortion: Option<&Distortion>) -> Draws {
        let mut draws = Draws::default();
        let p = self.random_crop_padding as i64;
        if p > 0 {
            draws.dy = rng.random_range(-p..=p) as isize;
            draws.dx = rng.random_range(-p..=p) as isize;
        }
        if self.horizontal_flip {
            draws.flip = rng.random_bool(0.5);
        }
        if let Some(d) = distortion
            && rng.random::<f32>() < d.probability
        {
            let mut u = |m: f32| if m == 0.0 { 0.0 } else { rng.random_range(-m..=m) };
            // Argument order is the draw order: tx, ty, scale, squeeze, shear.
            let (tx, ty, s, q, shear) = (u(d.translate), u(d.translate), 1.0 + u(d.scale), 1.0 + u(d.squeeze), u(d.shear));
            draws.affine = Some(Affine { tx, ty, sx: s * q, sy: s / q, shear });
        }
        draws
    }

    /// Writes image `i` of `set` into `out` (`channels × h × w`) as `draws` say; the default
    /// `Draws` give the plain centred view (evaluation).
    pub fn write_drawn(&self, set: &ImageSet, i: usize, out: &mut [f32], mean: Option<&[f32]>, draws: &Draws) {
        let (h, w) = self.output_side(set.rows, set.cols);
        let [lo, hi] = self.pixel_range;
        let src = set.image(i);
        let plane = set.rows * set.cols;
        // Outside the image: the background (a white margin) or, once the mean is
        // subtracted, zero (padding after mean subtraction, as cuda-convnet and Caffe pad).
        let outside = if mean.is_some() { 0.0 } else { lo };
        let pixel = |ch: usize, r: isize, c: isize| -> f32 {
            let (r, c) = (r - self.pad as isize, c - self.pad as isize);
            if r < 0 || c < 0 || r >= set.rows as isize || c >= set.cols as isize {
                return outside;
            }
            let at = ch * plane + r as usize * set.cols + c as usize;
            let v = lo + (hi - lo) * (src[at] as f32 / 255.0);
            match mean {
                Some(m) => v - m[at],
                None => v,
            }
        };
        let &Draws { dy, dx, flip, affine } = draws;
        for ch in 0..set.channels {
            let out = &mut out[ch * h * w..(ch + 1) * h * w];
            match affine {
                None => {
                    // Crop, then mirror the crop: output column c reads window column w-1-c.
                    for r in 0..h {
                        for c in 0..w {
                            let sc = if flip { w - 1 - c } else { c };
                            out[r * w + c] = pixel(ch, r as isize + dy, sc as isize + dx);
                        }
                    }
                }
                Some(Affine { tx, ty, sx, sy, shear }) => {
                    // Inverse mapping about the centre, bilinear sampling, background outside.
                    let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
                    for r in 0..h {
                        for c in 0..w {
                            let y = (r as f32 - cy - ty) / sy;
                            let x = (c as f32 - cx - tx - shear * (r as f32 - cy - ty)) / sx;
                            let (y, x) = (y + cy, x + cx);
                            let (y0, x0) = (y.floor(), x.floor());
                            let (fy, fx) = (y - y0, x - x0);
                            let (y0, x0) = (y0 as isize, x0 as isize);
                            out[r * w + c] =
                                pixel(ch, y0, x0) * (1.0 - fy) * (1.0 - fx) + pixel(ch, y0, x0 + 1) * (1.0 - fy) * fx + pixel(ch, y0 + 1, x0) * fy * (1.0 - fx) + pixel(ch, y0 + 1, x0 + 1) * fy * fx;
                        }
                    }
                }
            }
        }
    }
}
