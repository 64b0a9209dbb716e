//! The test protocols of §3.2 and Tables 3–5, on a folder of JPEGs (ImageNet val):
//! - `dense` at one or several scales Q: the whole image, rescaled so its shorter side is Q, goes
//!   through the fully convolutional net; class scores are averaged over the map and with the
//!   mirrored image, then over scales (Table 3: one Q; Table 4: Q ∈ {S−32, S, S+32} or {256, 384, 512}).
//! - `multi_crop`: 224×224 crops on a 5×5 regular grid and their mirrors (50 per scale), softmax
//!   averaged (Table 5).
//! - `dense_multi_crop`: the average of the two (Table 5, last rows).
//!
//! Images are evaluated one at a time (their sizes differ), on loader threads for decoding.

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use repro_common::data::DataError;
use repro_common::data::imagenet::{decode, resize_shorter};
use repro_common::engine::ImageClassifier;

use crate::model::Vgg;

/// The recipe's `data.folder.protocol`: `dense` (fully convolutional, class scores averaged over
/// the map and the mirror), `multi_crop` (a 5×5 grid of crops and their mirrors, 50 per scale),
/// or both averaged; each over the shorter-side `scales` Q.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
pub enum Protocol {
    Dense { scales: Vec<usize> },
    MultiCrop { scales: Vec<usize> },
    DenseMultiCrop { scales: Vec<usize> },
}

impl Protocol {
    pub fn scales(&self) -> &[usize] {
        match self {
            Protocol::Dense { scales } | Protocol::MultiCrop { scales } | Protocol::DenseMultiCrop { scales } => scales,
        }
    }

    /// The recipe's protocol, if it names one; an error naming the key when it is not one of
    /// these.
    pub fn of(config: &repro_common::config::ExperimentConfig) -> Result<Option<Self>, String> {
        let Some(extension) = config.data.folder.as_ref().and_then(|f| f.protocol.as_ref()) else { return Ok(None) };
        extension.parse().map(Some).map_err(|e| format!("data.folder.protocol {e}"))
    }
}

/// Per-channel normalisation of the evaluation images.
#[derive(Debug, Clone, Copy)]
pub struct Normalise {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

fn to_tensor(img: &image::RgbImage, norm: Normalise, device: &Device) -> Tensor<4> {
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let mut v = vec![0f32; 3 * h * w];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            v[c * h * w + y as usize * w + x as usize] = (p.0[c] as f32 / 255.0 - norm.mean[c]) / norm.std[c];
        }
    }
    Tensor::from_data(TensorData::new(v, [1, 3, h, w]), device)
}

/// The 5×5 grid of 224×224 windows over a `w × h` image: top-left corners.
pub fn grid_corners(w: u32, h: u32, crop: u32) -> Vec<(u32, u32)> {
    let steps = |len: u32| (0..5).map(move |i| (len - crop) * i / 4);
    steps(h).flat_map(|y| steps(w).map(move |x| (x, y))).collect()
}

/// Class probabilities of one image under `protocol`.
pub fn probabilities(model: &Vgg, image: &image::RgbImage, protocol: &Protocol, norm: Normalise, device: &Device) -> Tensor<2> {
    let mut total: Option<Tensor<2>> = None;
    let mut add = |p: Tensor<2>| {
        total = Some(match total.take() {
            Some(t) => t + p,
            None => p,
        })
    };
    let scales = protocol.scales();
    for &q in scales {
        let img = resize_shorter(image, q);
        let dense = || model.dense_probabilities(to_tensor(&img, norm, device), true);
        let crops = || {
            let (w, h) = img.dimensions();
            let views: Vec<Tensor<4>> = grid_corners(w, h, 224).into_iter().map(|(x, y)| to_tensor(&image::imageops::crop_imm(&img, x, y, 224, 224).to_image(), norm, device)).collect();
            let x = Tensor::cat(views, 0);
            let both = Tensor::cat(vec![x.clone(), x.flip([3])], 0);
            let n = both.dims()[0];
            burn::tensor::activation::softmax(model.scores(both), 1).sum_dim(0).div_scalar(n as f64)
        };
        match protocol {
            Protocol::Dense { .. } => add(dense()),
            Protocol::MultiCrop { .. } => add(crops()),
            Protocol::DenseMultiCrop { .. } => add((dense() + crops()).div_scalar(2.0)),
        }
    }
    total.expect("at least one scale").div_scalar(scales.len() as f64)
}

/// Top-1 and top-5 error (%) of `model` on `files` under `protocol`.
pub fn evaluate(model: &Vgg, files: &[(PathBuf, u16)], protocol: &Protocol, norm: Normalise, device: &Device) -> Result<(f64, f64), DataError> {
    let (mut wrong1, mut wrong5) = (0usize, 0usize);
    let bar = repro_common::progress::bar(files.len() as u64, "dense evaluation");
    for (path, label) in files {
        let img = decode(path)?;
        let p = probabilities(model, &img, protocol, norm, device);
        let scores: Vec<f32> = p.into_data().convert::<f32>().try_to_vec::<f32>().expect("probabilities");
        let truth = scores[*label as usize];
        let above = scores.iter().filter(|&&s| s > truth).count();
        wrong1 += usize::from(above >= 1);
        wrong5 += usize::from(above >= 5);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let n = files.len().max(1) as f64;
    Ok((100.0 * wrong1 as f64 / n, 100.0 * wrong5 as f64 / n))
}
