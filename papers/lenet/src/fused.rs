//! LeNet-5's training step on the CPU in plain loops: the forward pass of §II.B's layers, the MAP
//! criterion (Eq. 9) and the gradient of every parameter, one sample at a time, without burn's
//! autodiff graph.
//!
//! Through burn, a one-sample SDLM step is some forty tensor ops each way, each with its
//! allocations and graph bookkeeping, around 0.9 M multiply-adds: the overhead set its speed,
//! not the arithmetic. Here each layer is a loop over its maps in the order of
//! [`Lenet5::penalties`], and the backward pass runs the same layers in reverse, with the
//! squashing function's slope taken from its output, `f'(a) = (S/A)·(A² − f(a)²)`, as
//! [`crate::squash`] does. [`Lenet5`]'s `own_step` uses it for f32 and f64 burn-flex tensors under
//! autodiff while the project's kernels are on ([`repro_common::kernels`]);
//! `tests/tests/lenet_fused.rs` checks its loss and gradients against burn's graph.

use burn::optim::GradientsParams;
use burn::tensor::{DType, Int, Tensor};
use repro_common::engine::StepGradients;
use repro_common::kernels::{self, Kernels, Real, flex_tensor, tracked_flex};

use crate::lenet5::Lenet5;
use crate::squash::{A, S, tanh_f32};

/// The input and each layer's maps: side length and count.
const INPUT: usize = 32;
const KERNEL: usize = 5;
const C1: (usize, usize) = (28, 6);
const S2: (usize, usize) = (14, 6);
const C3: (usize, usize) = (10, 16);
const S4: (usize, usize) = (5, 16);
const C5: usize = 120;
const F6: usize = 84;
const CLASSES: usize = 10;

/// The squashing function in `T`: f32 with the vectorising [`tanh_f32`], f64 exactly.
pub trait Squash: Real {
    fn squash(self) -> Self;
}

impl Squash for f32 {
    #[inline(always)]
    fn squash(self) -> f32 {
        A as f32 * tanh_f32(S as f32 * self)
    }
}

impl Squash for f64 {
    #[inline(always)]
    fn squash(self) -> f64 {
        A * (S * self).tanh()
    }
}

/// `f'(a)` from `y = f(a)`.
#[inline(always)]
fn slope<T: Real>(y: T) -> T {
    T::of(S / A) * (T::of(A * A) - y * y)
}

/// The net's parameters as flat slices in burn's layouts (`Conv2d`: `[out, in, k, k]`,
/// `Linear`: `[in, out]`).
pub struct Params<'a, T> {
    pub c1_weight: &'a [T],
    pub c1_bias: &'a [T],
    pub s2_coefficient: &'a [T],
    pub s2_bias: &'a [T],
    /// One 5×5 kernel per C3 connection, in [`Params::c3_connections`]' order.
    pub c3_kernels: &'a [T],
    pub c3_bias: &'a [T],
    pub s4_coefficient: &'a [T],
    pub s4_bias: &'a [T],
    pub c5_weight: &'a [T],
    pub c5_bias: &'a [T],
    pub f6_weight: &'a [T],
    pub f6_bias: &'a [T],
    /// The RBF units' fixed codes, `[classes, 84]`.
    pub centres: &'a [T],
    /// `(C3 map, S2 map)` of each packed kernel.
    pub c3_connections: &'a [(usize, usize)],
    /// The MAP criterion's `j`.
    pub map_j: T,
}

/// The gradient of each trained parameter of [`Params`], same layouts.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients<T> {
    pub c1_weight: Vec<T>,
    pub c1_bias: Vec<T>,
    pub s2_coefficient: Vec<T>,
    pub s2_bias: Vec<T>,
    pub c3_kernels: Vec<T>,
    pub c3_bias: Vec<T>,
    pub s4_coefficient: Vec<T>,
    pub s4_bias: Vec<T>,
    pub c5_weight: Vec<T>,
    pub c5_bias: Vec<T>,
    pub f6_weight: Vec<T>,
    pub f6_bias: Vec<T>,
}

impl<T: Real> Gradients<T> {
    fn zeros(p: &Params<'_, T>) -> Self {
        let z = |s: &[T]| vec![T::ZERO; s.len()];
        Gradients {
            c1_weight: z(p.c1_weight),
            c1_bias: z(p.c1_bias),
            s2_coefficient: z(p.s2_coefficient),
            s2_bias: z(p.s2_bias),
            c3_kernels: z(p.c3_kernels),
            c3_bias: z(p.c3_bias),
            s4_coefficient: z(p.s4_coefficient),
            s4_bias: z(p.s4_bias),
            c5_weight: z(p.c5_weight),
            c5_bias: z(p.c5_bias),
            f6_weight: z(p.f6_weight),
            f6_bias: z(p.f6_bias),
        }
    }
}

/// What a batch's step gives: the mean loss, how many images the net ranked right, and the
/// gradient of the mean loss.
#[derive(Debug, Clone)]
pub struct Step<T> {
    pub loss: f64,
    pub right: usize,
    pub gradients: Gradients<T>,
}

/// Each layer's outputs for one sample (after the squashing function), and the subsampling
/// layers' window sums, which their coefficients' gradients need.
struct Activations<T> {
    x1: Vec<T>,
    sum2: Vec<T>,
    x2: Vec<T>,
    x3: Vec<T>,
    sum4: Vec<T>,
    x4: Vec<T>,
    x5: Vec<T>,
    x6: Vec<T>,
    penalties: [T; CLASSES],
}

/// The step of `images` (`[n, 1, 32, 32]`, flat) with `labels` (each below 10).
pub fn step<T: Squash>(p: &Params<'_, T>, images: &[T], labels: &[usize]) -> Step<T> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked above.
        return unsafe { step_avx2(p, images, labels) };
    }
    step_in_lanes(p, images, labels)
}

/// [`step`] compiled for AVX2's 8-lane vectors (the baseline x86-64 build has 4). The same
/// operations in the same order per lane (no fused multiply-adds), so the same numbers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_avx2<T: Squash>(p: &Params<'_, T>, images: &[T], labels: &[usize]) -> Step<T> {
    step_in_lanes(p, images, labels)
}

// Everything below `step_in_lanes` is inlined into it, so it is vectorised for the target
// features of its caller.
#[inline(always)]
fn step_in_lanes<T: Squash>(p: &Params<'_, T>, images: &[T], labels: &[usize]) -> Step<T> {
    let n = labels.len();
    assert_eq!(images.len(), n * INPUT * INPUT, "images are [n, 1, 32, 32]");
    let mut gradients = Gradients::zeros(p);
    let (mut loss, mut right) = (0f64, 0);
    let weight = T::of(1.0 / n as f64);
    for (x0, &label) in images.chunks_exact(INPUT * INPUT).zip(labels) {
        let act = forward(p, x0);
        let (sample_loss, d_penalties) = map_criterion(&act.penalties, label, p.map_j, weight);
        loss += sample_loss.to_f64();
        right += usize::from(closest(&act.penalties) == label);
        backward(p, x0, &act, &d_penalties, &mut gradients);
    }
    Step { loss: loss / n as f64, right, gradients }
}

#[inline(always)]
fn forward<T: Squash>(p: &Params<'_, T>, x0: &[T]) -> Activations<T> {
    let (p1, p2, p3, p4) = (C1.0 * C1.0, S2.0 * S2.0, C3.0 * C3.0, S4.0 * S4.0);
    // C1: 6 maps of 28×28 over the 32×32 input.
    let mut x1 = vec![T::ZERO; C1.1 * p1];
    for (m, a) in x1.chunks_exact_mut(p1).enumerate() {
        a.fill(p.c1_bias[m]);
        convolve(a, x0, INPUT, C1.0, &p.c1_weight[m * KERNEL * KERNEL..][..KERNEL * KERNEL]);
        squash_all(a);
    }
    // S2: 2×2 sums times a coefficient, plus a bias.
    let (sum2, x2) = subsample(&x1, C1.0, p.s2_coefficient, p.s2_bias);
    // C3: the connections of Table I.
    let mut x3 = vec![T::ZERO; C3.1 * p3];
    for (o, a) in x3.chunks_exact_mut(p3).enumerate() {
        a.fill(p.c3_bias[o]);
    }
    for (k, &(o, i)) in p.c3_connections.iter().enumerate() {
        convolve(&mut x3[o * p3..][..p3], &x2[i * p2..][..p2], S2.0, C3.0, &p.c3_kernels[k * KERNEL * KERNEL..][..KERNEL * KERNEL]);
    }
    squash_all(&mut x3);
    let (sum4, x4) = subsample(&x3, C3.0, p.s4_coefficient, p.s4_bias);
    debug_assert_eq!(x4.len(), S4.1 * p4);
    // C5: each unit sees all 16×5×5 S4 values.
    let x5: Vec<T> = (0..C5).map(|u| (p.c5_bias[u] + dot(&p.c5_weight[u * x4.len()..][..x4.len()], &x4)).squash()).collect();
    // F6: y = x·W + b with W `[120, 84]`.
    let mut x6 = p.f6_bias.to_vec();
    for (i, &v) in x5.iter().enumerate() {
        axpy(&mut x6, v, &p.f6_weight[i * F6..][..F6]);
    }
    squash_all(&mut x6);
    // The Euclidean RBF units.
    let mut penalties = [T::ZERO; CLASSES];
    for (k, pen) in penalties.iter_mut().enumerate() {
        let code = &p.centres[k * F6..][..F6];
        *pen = x6.iter().zip(code).fold(T::ZERO, |s, (&x, &c)| s + (x - c) * (x - c));
    }
    Activations { x1, sum2, x2, x3, sum4, x4, x5, x6, penalties }
}

/// Eq. 9 for one sample, `E = y_label + log(e^{−j} + Σ_i e^{−y_i})` (as [`crate::layers::map_loss`]
/// computes it, through a log-sum-exp), and `weight · ∂E/∂y_i`.
#[inline(always)]
fn map_criterion<T: Real>(penalties: &[T; CLASSES], label: usize, j: T, weight: T) -> (T, [T; CLASSES]) {
    let max = penalties.iter().fold(-j, |m, &y| if -y > m { -y } else { m });
    let sum = penalties.iter().fold((-j - max).exp(), |s, &y| s + (-y - max).exp());
    let loss = penalties[label] + sum.ln() + max;
    let mut d = [T::ZERO; CLASSES];
    for (k, (dk, &y)) in d.iter_mut().zip(penalties).enumerate() {
        let own = if k == label { T::ONE } else { T::ZERO };
        *dk = (own - (-y - max).exp() / sum) * weight;
    }
    (loss, d)
}

/// The class whose code is closest (the first of equals), as the arg-max of the scores `−y`.
#[inline(always)]
fn closest<T: Real>(penalties: &[T; CLASSES]) -> usize {
    (1..CLASSES).fold(0, |best, k| if penalties[k] < penalties[best] { k } else { best })
}

#[inline(always)]
fn backward<T: Real>(p: &Params<'_, T>, x0: &[T], act: &Activations<T>, d_penalties: &[T; CLASSES], g: &mut Gradients<T>) {
    let (p1, p2, p3) = (C1.0 * C1.0, S2.0 * S2.0, C3.0 * C3.0);
    // RBF: ∂y_k/∂x6_j = 2 (x6_j − c_kj); then through F6's squashing function.
    let mut d6 = vec![T::ZERO; F6];
    for (k, &dk) in d_penalties.iter().enumerate() {
        let code = &p.centres[k * F6..][..F6];
        for ((d, &x), &c) in d6.iter_mut().zip(&act.x6).zip(code) {
            *d += T::of(2.0) * dk * (x - c);
        }
    }
    times_slope(&mut d6, &act.x6);
    // F6.
    let mut d5 = vec![T::ZERO; C5];
    for (i, (d, &x)) in d5.iter_mut().zip(&act.x5).enumerate() {
        axpy(&mut g.f6_weight[i * F6..][..F6], x, &d6);
        *d = dot(&p.f6_weight[i * F6..][..F6], &d6);
    }
    axpy(&mut g.f6_bias, T::ONE, &d6);
    times_slope(&mut d5, &act.x5);
    // C5.
    let inputs = act.x4.len();
    let mut d4 = vec![T::ZERO; inputs];
    for (u, &du) in d5.iter().enumerate() {
        axpy(&mut g.c5_weight[u * inputs..][..inputs], du, &act.x4);
        axpy(&mut d4, du, &p.c5_weight[u * inputs..][..inputs]);
        g.c5_bias[u] += du;
    }
    // S4, then C3's squashing function.
    let mut d3 = vec![T::ZERO; C3.1 * p3];
    subsample_backward(&mut d4, &act.x4, &act.sum4, C3.0, p.s4_coefficient, &mut g.s4_coefficient, &mut g.s4_bias, &mut d3);
    times_slope(&mut d3, &act.x3);
    // C3.
    let mut d2 = vec![T::ZERO; S2.1 * p2];
    for (o, d) in d3.chunks_exact(p3).enumerate() {
        g.c3_bias[o] += sum(d);
    }
    let (d3_wide, len) = (widen(&d3, C3.0, S2.0), wide_len(C3.0, S2.0));
    for (k, &(o, i)) in p.c3_connections.iter().enumerate() {
        let kernel = k * KERNEL * KERNEL..(k + 1) * KERNEL * KERNEL;
        let (d_out, input) = (&d3_wide[o * len..][..len], &act.x2[i * p2..][..p2]);
        kernel_gradient(&mut g.c3_kernels[kernel.clone()], d_out, input, S2.0);
        input_gradient(&mut d2[i * p2..][..p2], d_out, &p.c3_kernels[kernel], S2.0);
    }
    // S2, then C1's squashing function.
    let mut d1 = vec![T::ZERO; C1.1 * p1];
    subsample_backward(&mut d2, &act.x2, &act.sum2, C1.0, p.s2_coefficient, &mut g.s2_coefficient, &mut g.s2_bias, &mut d1);
    times_slope(&mut d1, &act.x1);
    // C1 (the input needs no gradient).
    let (d1_wide, len) = (widen(&d1, C1.0, INPUT), wide_len(C1.0, INPUT));
    for (m, d) in d1.chunks_exact(p1).enumerate() {
        g.c1_bias[m] += sum(d);
        kernel_gradient(&mut g.c1_weight[m * KERNEL * KERNEL..][..KERNEL * KERNEL], &d1_wide[m * len..][..len], x0, INPUT);
    }
}

#[inline(always)]
fn squash_all<T: Squash>(values: &mut [T]) {
    for v in values {
        *v = v.squash();
    }
}

/// `d *= f'(a)` elementwise, from the outputs `y = f(a)`.
#[inline(always)]
fn times_slope<T: Real>(d: &mut [T], y: &[T]) {
    for (d, &y) in d.iter_mut().zip(y) {
        *d = *d * slope(y);
    }
}

// The three convolution loops read each `side`×`side` map of outputs (or of their gradients) as
// one "wide" run of `(side − 1)·width + side` values laid out with the input's row width: output
// `(y, x)` at `y·width + x`, and the input pixel under kernel tap `(i, j)` at that index plus
// `i·width + j`. Each tap is then one long vector loop instead of `side` short ones; the
// `width − side` values between rows are computed and dropped (forward) or held at zero (the
// gradients).

/// The length of a wide run of a `side`×`side` map in rows `width` wide.
#[inline(always)]
fn wide_len(side: usize, width: usize) -> usize {
    (side - 1) * width + side
}

/// `d` (maps of `side`×`side`) as wide runs, zero between rows.
#[inline(always)]
fn widen<T: Real>(d: &[T], side: usize, width: usize) -> Vec<T> {
    let len = wide_len(side, width);
    let mut wide = vec![T::ZERO; d.len() / (side * side) * len];
    for (map, run) in d.chunks_exact(side * side).zip(wide.chunks_exact_mut(len)) {
        for (row, out) in map.chunks_exact(side).zip(run.chunks_mut(width)) {
            out[..side].copy_from_slice(row);
        }
    }
    wide
}

/// `out[y][x] += Σ_ij kernel[i][j] · input[y+i][x+j]` (a valid 5×5 correlation, as burn's and
/// PyTorch's convolutions), `out` `side`×`side`, `input` `width` wide.
#[inline(always)]
fn convolve<T: Real>(out: &mut [T], input: &[T], width: usize, side: usize, kernel: &[T]) {
    let mut wide = vec![T::ZERO; wide_len(side, width)];
    for i in 0..KERNEL {
        for j in 0..KERNEL {
            axpy(&mut wide, kernel[i * KERNEL + j], &input[i * width + j..]);
        }
    }
    for (row, run) in out.chunks_exact_mut(side).zip(wide.chunks(width)) {
        axpy(row, T::ONE, run);
    }
}

/// `dk[i][j] += Σ_yx d_out[y][x] · input[y+i][x+j]`, `d_wide` the wide run of `d_out`.
#[inline(always)]
fn kernel_gradient<T: Real>(dk: &mut [T], d_wide: &[T], input: &[T], width: usize) {
    for i in 0..KERNEL {
        for j in 0..KERNEL {
            dk[i * KERNEL + j] += dot(d_wide, &input[i * width + j..][..d_wide.len()]);
        }
    }
}

/// `d_in[y+i][x+j] += kernel[i][j] · d_out[y][x]`, `d_wide` the wide run of `d_out`.
#[inline(always)]
fn input_gradient<T: Real>(d_in: &mut [T], d_wide: &[T], kernel: &[T], width: usize) {
    for i in 0..KERNEL {
        for j in 0..KERNEL {
            axpy(&mut d_in[i * width + j..][..d_wide.len()], kernel[i * KERNEL + j], d_wide);
        }
    }
}

/// Trainable subsampling of `x` (maps of `side`×`side`): each map's 2×2 window sums, and
/// `f(coefficient · sum + bias)`.
#[inline(always)]
fn subsample<T: Squash>(x: &[T], side: usize, coefficient: &[T], bias: &[T]) -> (Vec<T>, Vec<T>) {
    let half = side / 2;
    let mut sums = vec![T::ZERO; x.len() / 4];
    for (plane, out) in x.chunks_exact(side * side).zip(sums.chunks_exact_mut(half * half)) {
        for (y, out_row) in out.chunks_exact_mut(half).enumerate() {
            let (top, bottom) = (&plane[2 * y * side..][..side], &plane[(2 * y + 1) * side..][..side]);
            for (x, o) in out_row.iter_mut().enumerate() {
                *o = top[2 * x] + top[2 * x + 1] + bottom[2 * x] + bottom[2 * x + 1];
            }
        }
    }
    let mut y = sums.clone();
    for (m, plane) in y.chunks_exact_mut(half * half).enumerate() {
        for v in plane {
            *v = (coefficient[m] * *v + bias[m]).squash();
        }
    }
    (sums, y)
}

/// Back through `f(coefficient · sum + bias)`: `d_out` (the gradient of the outputs `y`) becomes
/// that of the pre-activations, the coefficient and bias gradients grow, and each window's input
/// pixels get `coefficient · d` (into `d_in`, maps of `side`×`side`).
#[allow(clippy::too_many_arguments)] // one layer's values and gradients, named as in the paper
#[inline(always)]
fn subsample_backward<T: Real>(d_out: &mut [T], y: &[T], sums: &[T], side: usize, coefficient: &[T], d_coefficient: &mut [T], d_bias: &mut [T], d_in: &mut [T]) {
    times_slope(d_out, y);
    let half = side / 2;
    for (m, (d, s)) in d_out.chunks_exact(half * half).zip(sums.chunks_exact(half * half)).enumerate() {
        d_coefficient[m] += dot(d, s);
        d_bias[m] += sum(d);
        let plane = &mut d_in[m * side * side..][..side * side];
        for (yy, d_row) in d.chunks_exact(half).enumerate() {
            for (xx, &dv) in d_row.iter().enumerate() {
                let v = coefficient[m] * dv;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    plane[(2 * yy + dy) * side + 2 * xx + dx] += v;
                }
            }
        }
    }
}

/// `y += a·x`.
#[inline(always)]
fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `Σ a_i·b_i` in eight interleaved partial sums, so the compiler can keep them in vector lanes
/// (one running sum would be a chain it may not reorder).
#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::ZERO; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = a8.remainder().iter().zip(b8.remainder()).fold(T::ZERO, |s, (&x, &y)| s + x * y);
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().fold(tail, |s, &v| s + v)
}

#[inline(always)]
fn sum<T: Real>(a: &[T]) -> T {
    let mut lanes = [T::ZERO; 8];
    let a8 = a.chunks_exact(8);
    let tail = a8.remainder().iter().fold(T::ZERO, |s, &x| s + x);
    for x in a8 {
        for k in 0..8 {
            lanes[k] += x[k];
        }
    }
    lanes.iter().fold(tail, |s, &v| s + v)
}

/// [`Lenet5`]'s own training step (`ImageClassifier::own_step`): on f32 or f64 burn-flex
/// tensors under autodiff with the project's kernels on, a 32×32 one-channel batch; `None`
/// otherwise (burn's graph then computes the step).
pub fn own_step(net: &Lenet5, images: &Tensor<4>, targets: &Tensor<1, Int>) -> Option<StepGradients> {
    if kernels::kernels() != Kernels::Project || images.dims()[1..] != [1, INPUT, INPUT] {
        return None;
    }
    let x = tracked_flex(images)?;
    match x.dtype() {
        DType::F64 => own_step_in::<f64>(net, x.as_slice()?, targets),
        DType::F32 => own_step_in::<f32>(net, x.as_slice()?, targets),
        _ => None,
    }
}

fn own_step_in<T: Squash>(net: &Lenet5, images: &[T], targets: &Tensor<1, Int>) -> Option<StepGradients> {
    let labels: Vec<usize> = targets.clone().into_data().convert::<i64>().try_into_vec::<i64>().ok()?.into_iter().map(|l| usize::try_from(l).ok().filter(|&l| l < CLASSES)).collect::<Option<_>>()?;
    // Each parameter's burn-flex tensor, held while the step reads it in place.
    let held = [
        tracked_flex(&net.c1.weight.val())?,
        tracked_flex(&net.c1.bias.as_ref()?.val())?,
        tracked_flex(&net.s2.coefficient.val())?,
        tracked_flex(&net.s2.bias.val())?,
        tracked_flex(&net.c3.kernels.val())?,
        tracked_flex(&net.c3.bias.val())?,
        tracked_flex(&net.s4.coefficient.val())?,
        tracked_flex(&net.s4.bias.val())?,
        tracked_flex(&net.c5.weight.val())?,
        tracked_flex(&net.c5.bias.as_ref()?.val())?,
        tracked_flex(&net.f6.weight.val())?,
        tracked_flex(&net.f6.bias.as_ref()?.val())?,
        tracked_flex(&net.output.centres())?,
    ];
    let slices = held.iter().map(|t| t.as_slice::<T>()).collect::<Option<Vec<_>>>()?;
    let connections = net.c3.connections();
    let params = Params {
        c1_weight: slices[0],
        c1_bias: slices[1],
        s2_coefficient: slices[2],
        s2_bias: slices[3],
        c3_kernels: slices[4],
        c3_bias: slices[5],
        s4_coefficient: slices[6],
        s4_bias: slices[7],
        c5_weight: slices[8],
        c5_bias: slices[9],
        f6_weight: slices[10],
        f6_bias: slices[11],
        centres: slices[12],
        c3_connections: &connections,
        map_j: T::of(net.map_j),
    };
    let Step { loss, right, gradients: g } = step(&params, images, &labels);
    let mut grads = GradientsParams::new();
    if !loss.is_finite() {
        // No update follows a non-finite loss (`StepGradients`).
        return Some(StepGradients { loss, right, grads });
    }
    grads.register(net.c1.weight.id, flex_tensor(g.c1_weight, net.c1.weight.dims()));
    grads.register(net.c1.bias.as_ref()?.id, flex_tensor(g.c1_bias, [C1.1]));
    grads.register(net.s2.coefficient.id, flex_tensor(g.s2_coefficient, [S2.1]));
    grads.register(net.s2.bias.id, flex_tensor(g.s2_bias, [S2.1]));
    grads.register(net.c3.kernels.id, flex_tensor(g.c3_kernels, net.c3.kernels.dims()));
    grads.register(net.c3.bias.id, flex_tensor(g.c3_bias, [C3.1]));
    grads.register(net.s4.coefficient.id, flex_tensor(g.s4_coefficient, [S4.1]));
    grads.register(net.s4.bias.id, flex_tensor(g.s4_bias, [S4.1]));
    grads.register(net.c5.weight.id, flex_tensor(g.c5_weight, net.c5.weight.dims()));
    grads.register(net.c5.bias.as_ref()?.id, flex_tensor(g.c5_bias, [C5]));
    grads.register(net.f6.weight.id, flex_tensor(g.f6_weight, net.f6.weight.dims()));
    grads.register(net.f6.bias.as_ref()?.id, flex_tensor(g.f6_bias, [F6]));
    Some(StepGradients { loss, right, grads })
}
