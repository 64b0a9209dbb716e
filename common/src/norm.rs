//! Batch normalisation's training pass (Ioffe & Szegedy 2015) on the CPU in one op each way.
//!
//! burn's `batch_norm_train` (burn-flex 0.22.1 keeps burn's generic one) computes each channel's
//! mean and variance by swapping the batch and channel axes and copying the whole input, twice,
//! and its backward does the same for the output gradient and its product with the normalised
//! input: in the step of a 20-layer CIFAR net (batch 128) those copies were a tenth of the time.
//! Here the statistics are summed plane by plane where the input lies (each `[n, c]` plane is
//! contiguous in NCHW), the channels split among the compute pool's workers, and the output and
//! the input gradient are each one pass, `y = a_c·(x − μ_c) + β_c` and
//! `dx = p_c·dy + q_c·(x − μ_c) + r_c` with per-channel coefficients. It is a custom autodiff op
//! (burn's `Backward` trait) on burn-flex f32 and f64 tensors; other devices and dtypes, and
//! burn's kernels ([`crate::kernels`]), go to burn's.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::module::BatchNormTrainOutput;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use crate::kernels::{self, Kernels, Real};

type Tracked = Autodiff<Flex>;

/// As `burn::tensor::module::batch_norm_train`: the input normalised by its batch statistics per
/// channel (dimension 1) and scaled by `gamma`, shifted by `beta`; with the batch mean and biased
/// variance, detached.
pub fn batch_norm_train<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, beta: Tensor<1>, epsilon: f64) -> BatchNormTrainOutput<D> {
    let real = |d: DType| d == DType::F32 || d == DType::F64;
    if kernels::kernels() == Kernels::Burn || !real(x.dtype()) || x.dtype() != gamma.dtype() || x.dtype() != beta.dtype() {
        return burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
    }
    let primitives = (x.clone().try_into_primitive::<Tracked>(), gamma.clone().try_into_primitive::<Tracked>(), beta.clone().try_into_primitive::<Tracked>());
    let (Ok(x_ad), Ok(g_ad), Ok(b_ad)) = primitives else {
        return burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
    };
    let shape = x_ad.primitive().layout().shape().to_vec();
    let (xp, gp, bp) = (x_ad.primitive().to_contiguous(), g_ad.primitive().to_contiguous(), b_ad.primitive().to_contiguous());
    let (y, stats) = match xp.dtype() {
        DType::F64 => forward::<f64>(&xp, &gp, &bp, &shape, epsilon),
        _ => forward::<f32>(&xp, &gp, &bp, &shape, epsilon),
    };
    let channels = shape[1];
    let (mean, variance) = (stats.mean.clone(), stats.variance.clone());
    let out = match BatchNormBackward.prepare::<NoCheckpointing>([x_ad.node(), g_ad.node(), b_ad.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(State { x: xp, gamma: gp, stats }, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    let detached = |values: Vec<f64>| {
        let flex = match x.dtype() {
            DType::F64 => FlexTensor::from_data(TensorData::new(values, [channels])),
            _ => FlexTensor::from_data(TensorData::new(values.into_iter().map(|v| v as f32).collect::<Vec<_>>(), [channels])),
        };
        Tensor::from_inner(Tensor::from_primitive::<Flex>(flex))
    };
    BatchNormTrainOutput { output: Tensor::from_primitive::<Tracked>(out), mean: detached(mean), variance: detached(variance) }
}

/// Each channel's batch mean, biased variance and `1/√(variance + ε)`, in f64.
#[derive(Debug, Clone)]
struct Stats {
    mean: Vec<f64>,
    variance: Vec<f64>,
    inv_std: Vec<f64>,
}

/// The backward pass's inputs: the forward's input and `gamma` (shared, not copied) and the
/// statistics it normalised by.
#[derive(Debug, Clone)]
struct State {
    x: FlexTensor,
    gamma: FlexTensor,
    stats: Stats,
}

#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    type State = State;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let s = ops.state;
        let (dx, dgamma, dbeta) = match s.x.dtype() {
            DType::F64 => backward::<f64>(&s, &dy),
            _ => backward::<f32>(&s, &dy),
        };
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, dx);
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, dgamma);
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, dbeta);
        }
    }
}

/// `[n, c, rest…]` as (samples, channels, values per plane).
fn planes(shape: &[usize]) -> (usize, usize, usize) {
    (shape[0], shape[1], shape[2..].iter().product())
}

/// For every channel, the sum over its planes (`[n, c]`, by index range) of `plane_sum`, the
/// channels split among the compute pool's workers.
fn per_channel(shape: &[usize], plane_sum: impl Fn(usize, std::ops::Range<usize>) -> [f64; 2] + Sync) -> Vec<[f64; 2]> {
    let (n, c, hw) = planes(shape);
    (0..c).into_par_iter().map(|ch| (0..n).map(|s| plane_sum(ch, (s * c + ch) * hw..(s * c + ch + 1) * hw)).fold([0.0; 2], |a, b| [a[0] + b[0], a[1] + b[1]])).collect()
}

/// `Σ f(v)` over a slice in eight interleaved partial sums (the compiler keeps them in vector
/// lanes; one running sum would be a chain it may not reorder), in f64 at the end.
fn lane_sum<T: Real>(values: &[T], f: impl Fn(usize, T) -> T) -> f64 {
    let mut lanes = [T::ZERO; 8];
    let chunks = values.chunks_exact(8);
    let start = values.len() - chunks.remainder().len();
    let tail = chunks.remainder().iter().enumerate().fold(T::ZERO, |s, (i, &v)| s + f(start + i, v));
    for (k, chunk) in chunks.enumerate() {
        for (j, lane) in lanes.iter_mut().enumerate() {
            *lane += f(k * 8 + j, chunk[j]);
        }
    }
    lanes.iter().fold(tail.to_f64(), |s, &v| s + v.to_f64())
}

fn forward<T: Real>(x: &FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, shape: &[usize], epsilon: f64) -> (FlexTensor, Stats) {
    let (xs, g, b) = (x.as_slice::<T>().expect("contiguous"), gamma.as_slice::<T>().expect("contiguous"), beta.as_slice::<T>().expect("contiguous"));
    let (n, c, hw) = planes(shape);
    let count = (n * hw) as f64;
    let mean: Vec<f64> = per_channel(shape, |_, r| [lane_sum(&xs[r], |_, v| v), 0.0]).into_iter().map(|s| s[0] / count).collect();
    let variance: Vec<f64> = per_channel(shape, |ch, r| {
        let m = T::of(mean[ch]);
        [lane_sum(&xs[r], |_, v| (v - m) * (v - m)), 0.0]
    })
    .into_iter()
    .map(|s| s[0] / count)
    .collect();
    let inv_std: Vec<f64> = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    // y = a·(x − μ) + β per channel (μ taken off first, as burn does: a·x + (β − a·μ) loses the
    // digits of x when |μ| ≫ σ).
    let a: Vec<T> = (0..c).map(|ch| T::of(g[ch].to_f64() * inv_std[ch])).collect();
    let mu: Vec<T> = mean.iter().map(|&m| T::of(m)).collect();
    let mut y = vec![T::ZERO; xs.len()];
    y.par_chunks_mut(hw.max(1)).zip(xs.par_chunks(hw.max(1))).enumerate().for_each(|(plane, (out, input))| {
        let ch = plane % c;
        for (o, &v) in out.iter_mut().zip(input) {
            *o = a[ch] * (v - mu[ch]) + b[ch];
        }
    });
    (FlexTensor::from_data(TensorData::new(y, shape.to_vec())), Stats { mean, variance, inv_std })
}

/// dx, dγ and dβ. With x̂ = (x − μ)/σ, dβ = Σ dy, dγ = Σ dy·x̂, and
/// dx = (γ/σ)·(dy − dβ/m − x̂·dγ/m), m values per channel.
fn backward<T: Real>(s: &State, dy: &FlexTensor) -> (FlexTensor, FlexTensor, FlexTensor) {
    let shape = s.x.layout().shape().to_vec();
    let (xs, g, dys) = (s.x.as_slice::<T>().expect("contiguous"), s.gamma.as_slice::<T>().expect("contiguous"), dy.as_slice::<T>().expect("contiguous"));
    let (n, c, hw) = planes(&shape);
    let count = (n * hw) as f64;
    let Stats { mean, inv_std, .. } = &s.stats;
    // Σ dy and Σ dy·(x − μ) per channel.
    let sums = per_channel(&shape, |ch, r| {
        let m = T::of(mean[ch]);
        let (d, x) = (&dys[r.clone()], &xs[r]);
        [lane_sum(d, |_, v| v), lane_sum(d, |i, v| v * (x[i] - m))]
    });
    let dbeta: Vec<f64> = sums.iter().map(|s| s[0]).collect();
    let dgamma: Vec<f64> = sums.iter().zip(inv_std).map(|(s, is)| s[1] * is).collect();
    // dx = p·dy + q·(x − μ) + r per channel.
    let coefficients: Vec<[T; 4]> = (0..c)
        .map(|ch| {
            let scale = g[ch].to_f64() * inv_std[ch];
            let (mean_dy, mean_dy_xhat) = (dbeta[ch] / count, dgamma[ch] / count);
            let q = -scale * inv_std[ch] * mean_dy_xhat;
            [T::of(scale), T::of(q), T::of(-scale * mean_dy), T::of(mean[ch])]
        })
        .collect();
    let mut dx = vec![T::ZERO; xs.len()];
    dx.par_chunks_mut(hw.max(1)).zip(xs.par_chunks(hw.max(1)).zip(dys.par_chunks(hw.max(1)))).enumerate().for_each(|(plane, (out, (x, d)))| {
        let [p, q, r, mu] = coefficients[plane % c];
        for ((o, &xv), &dv) in out.iter_mut().zip(x).zip(d) {
            *o = p * dv + q * (xv - mu) + r;
        }
    });
    let vector = |v: Vec<f64>| FlexTensor::from_data(TensorData::new(v.into_iter().map(T::of).collect::<Vec<T>>(), [c]));
    (FlexTensor::from_data(TensorData::new(dx, shape)), vector(dgamma), vector(dbeta))
}
