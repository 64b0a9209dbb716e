//! Input preprocessing and the distortions of LeCun et al. 1998, §III.A and §III.C.

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

impl Preprocess {
    pub fn output_side(&self, rows: usize, cols: usize) -> (usize, usize) {
        (rows + 2 * self.pad, cols + 2 * self.pad)
    }

    /// Writes image `i` of `set`, preprocessed (and distorted when `distortion` is given), into `out`.
    pub fn write(&self, set: &ImageSet, i: usize, out: &mut [f32], distortion: Option<(&Distortion, &mut impl Rng)>) {
        let (h, w) = self.output_side(set.rows, set.cols);
        let [lo, hi] = self.pixel_range;
        let src = set.image(i);
        let pixel = |r: isize, c: isize| -> f32 {
            let (r, c) = (r - self.pad as isize, c - self.pad as isize);
            if r < 0 || c < 0 || r >= set.rows as isize || c >= set.cols as isize {
                0.0
            } else {
                src[r as usize * set.cols + c as usize] as f32 / 255.0
            }
        };
        let transform = distortion.and_then(|(d, rng)| {
            if rng.random::<f32>() >= d.probability {
                return None;
            }
            let mut u = |m: f32| if m == 0.0 { 0.0 } else { rng.random_range(-m..=m) };
            let (tx, ty, s, q, sh) = (u(d.translate), u(d.translate), 1.0 + u(d.scale), 1.0 + u(d.squeeze), u(d.shear));
            Some((tx, ty, s * q, s / q, sh))
        });
        match transform {
            None => {
                for r in 0..h {
                    for c in 0..w {
                        out[r * w + c] = lo + (hi - lo) * pixel(r as isize, c as isize);
                    }
                }
            }
            Some((tx, ty, sx, sy, shear)) => {
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
                        let v = pixel(y0, x0) * (1.0 - fy) * (1.0 - fx)
                            + pixel(y0, x0 + 1) * (1.0 - fy) * fx
                            + pixel(y0 + 1, x0) * fy * (1.0 - fx)
                            + pixel(y0 + 1, x0 + 1) * fy * fx;
                        out[r * w + c] = lo + (hi - lo) * v;
                    }
                }
            }
        }
    }
}
