//! Optimiser-trajectory parity with PyTorch: the same initial weights and the same batches,
//! trained by the shipped recipe's optimiser and schedule, must give PyTorch's losses, learning
//! rates and final weights (BN running statistics included).
//!
//! Each paper's `parity/make_golden.py` writes, for one small net of that paper:
//! - `<net>-init.safetensors`, `<net>-final.safetensors`: the state dict before the first and
//!   after the last step, named as this project's module fields (so no remapping);
//! - `<net>-steps.safetensors`: `images` f32 `[pool, c, h, w]`, `labels` i64 `[pool]`, `indices` i64
//!   `[steps, batch]` (each step's batch, drawn from the pool), `epochs` i64 `[steps]` (the 1-based
//!   epoch each step belongs to), and the reference's `loss` and `lr` f32 `[steps]`.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use repro_common::config::ExperimentConfig;
use repro_common::data::source::HostBatch;
use repro_common::engine::ImageClassifier;
use repro_common::import::load_pytorch;
use repro_common::paper::named_weights;
use repro_common::parity::{RecordedStep, replay};

/// One net's golden trajectory.
pub struct Golden {
    pub init: PathBuf,
    pub last: PathBuf,
    pub steps: Vec<RecordedStep>,
    pub losses: Vec<f64>,
    pub learning_rates: Vec<f64>,
}

fn tensor<'a>(file: &'a safetensors::SafeTensors<'a>, name: &str, path: &Path) -> (Vec<usize>, safetensors::tensor::TensorView<'a>) {
    let t = file.tensor(name).unwrap_or_else(|e| panic!("{}: no tensor `{name}`: {e}", path.display()));
    (t.shape().to_vec(), t)
}

fn f32s(view: &safetensors::tensor::TensorView<'_>) -> Vec<f32> {
    assert_eq!(view.dtype(), safetensors::Dtype::F32);
    view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn i64s(view: &safetensors::tensor::TensorView<'_>) -> Vec<i64> {
    assert_eq!(view.dtype(), safetensors::Dtype::I64);
    view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()
}

impl Golden {
    /// Reads `dir/<net>-{init,final,steps}.safetensors`.
    pub fn load(dir: &Path, net: &str) -> Self {
        let path = dir.join(format!("{net}-steps.safetensors"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (shape, images) = tensor(&file, "images", &path);
        let images = f32s(&images);
        let labels = i64s(&tensor(&file, "labels", &path).1);
        let (index_shape, indices) = tensor(&file, "indices", &path);
        let indices = i64s(&indices);
        let epochs = i64s(&tensor(&file, "epochs", &path).1);
        let per_image = shape[1] * shape[2] * shape[3];
        let batch = index_shape[1];
        let steps = indices
            .chunks_exact(batch)
            .zip(&epochs)
            .map(|(picked, &epoch)| {
                let mut batch_images = Vec::with_capacity(batch * per_image);
                for &i in picked {
                    batch_images.extend_from_slice(&images[i as usize * per_image..(i as usize + 1) * per_image]);
                }
                let batch_labels = picked.iter().map(|&i| labels[i as usize]).collect();
                RecordedStep { batch: HostBatch { images: batch_images, labels: batch_labels, shape: [batch, shape[1], shape[2], shape[3]], views: 1 }, epoch: epoch as usize }
            })
            .collect();
        let floats = |name: &str| f32s(&tensor(&file, name, &path).1).into_iter().map(f64::from).collect();
        Self { init: dir.join(format!("{net}-init.safetensors")), last: dir.join(format!("{net}-final.safetensors")), steps, losses: floats("loss"), learning_rates: floats("lr") }
    }
}

/// How far our replay ended from the reference.
#[derive(Debug)]
pub struct Gap {
    /// Largest |Δ loss| / |reference loss| over the steps.
    pub loss: f64,
    /// Largest |Δ lr| / reference lr over the steps (the schedule read at the same positions).
    pub lr: f64,
    /// Largest over tensors of max |ours − reference| / max |reference final − initial|: each
    /// tensor against how far the reference's trajectory moved it.
    pub weights: f64,
    /// The tensor where that happens.
    pub worst: String,
    pub tensors: usize,
}

/// Replays `golden` through `config`'s optimiser and schedule from the reference's initial
/// weights loaded into `init`'s net, and measures the gaps. Prints each tensor's gap.
pub fn replay_gap<M: ImageClassifier>(config: &ExperimentConfig, golden: &Golden, init: impl Fn(&Device) -> M) -> Gap {
    let device = Device::flex().autodiff();
    let none: &[(&str, &str)] = &[];
    let load = |path: &Path| load_pytorch(init(&device), path, none).unwrap_or_else(|e| panic!("{e}"));
    let start = named_weights(&load(&golden.init));
    let reference = named_weights(&load(&golden.last));
    let replayed = replay(config, load(&golden.init), &golden.steps, &device).unwrap_or_else(|e| panic!("{e}"));
    // `valid()` first: burn's module visitors read a BN running statistic without merging its
    // last update (`RunningState::value`), evaluation (`valid`) merges it.
    let ours = named_weights(&replayed.model.valid());
    assert_eq!(replayed.losses.len(), golden.losses.len());
    let relative = |a: f64, b: f64| (a - b).abs() / b.abs().max(f64::MIN_POSITIVE);
    let loss = replayed.losses.iter().zip(&golden.losses).map(|(a, b)| relative(*a, *b)).fold(0.0, f64::max);
    let lr = replayed.learning_rates.iter().zip(&golden.learning_rates).map(|(a, b)| relative(*a, *b)).fold(0.0, f64::max);
    for (i, (a, b)) in replayed.losses.iter().zip(&golden.losses).enumerate() {
        eprintln!("step {i:>2}: lr {:.3e} (PyTorch {:.3e}), loss {a:.6} (PyTorch {b:.6})", replayed.learning_rates[i], golden.learning_rates[i]);
    }
    let largest = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).abs()).fold(0.0, |m: f64, d| if d.is_nan() || m.is_nan() { f64::NAN } else { m.max(d) });
    assert_eq!(ours.len(), reference.len(), "tensor counts");
    let (mut weights, mut worst) = (0f64, String::new());
    for (((name, o), (_, r)), (_, s)) in ours.iter().zip(&reference).zip(&start) {
        assert_eq!(o.len(), r.len(), "{name}");
        let (gap, moved) = (largest(o, r), largest(r, s));
        let error = gap / moved.max(f64::MIN_POSITIVE);
        eprintln!("{name:<32} moved {moved:.3e}, gap {gap:.3e}, relative {error:.2e}");
        if error.is_nan() || error > weights {
            (weights, worst) = (error, name.clone());
        }
    }
    Gap { loss, lr, weights, worst, tensors: ours.len() }
}

/// A paper's parity folder, `papers/<paper>/parity`.
pub fn parity_dir(paper: &str) -> PathBuf {
    crate::repo_root().join("papers").join(paper).join("parity")
}

/// The schedule must be read exactly: the same rate at every step.
pub const LR_TOLERANCE: f64 = 1e-6;

/// Fails unless the learning rates agree, and losses and weights are within `loss` and `weights`.
pub fn assert_within(gap: &Gap, loss: f64, weights: f64) {
    eprintln!("{gap:?}");
    assert!(gap.lr <= LR_TOLERANCE, "the schedule gave other learning rates: {gap:?}");
    assert!(gap.loss <= loss, "losses differ by {:.2e} > {loss:.0e}: {gap:?}", gap.loss);
    assert!(gap.weights <= weights, "weights differ by {:.2e} of their trajectory > {weights:.0e}, most at `{}`", gap.weights, gap.worst);
}
