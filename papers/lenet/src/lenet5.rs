//! LeNet-5 as LeCun, Bottou, Bengio & Haffner describe it in "Gradient-Based Learning Applied to
//! Document Recognition", Proc. IEEE 86(11), 1998, §II.B (p. 7–8), Table I and Appendix A.
//!
//! INPUT 32×32 → C1 6@28×28 → S2 6@14×14 → C3 16@10×10 → S4 16@5×5 → C5 120 → F6 84 → RBF 10.

use crate::layers::{EuclideanRbf, SparseConv2d, TrainableSubsampling, map_loss, scaled_tanh, scaled_tanh_derivative_squared as d2};
use crate::sdlm::{carry, squared};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor};
use repro_common::config::Extension;
use repro_common::conv;
use repro_common::engine::{GradientScaler, ImageClassifier, PassStart, StepGradients, TrainError};
use repro_common::paper::Tap;

use crate::rbf_codes;

/// Table I: for each C3 map, the S2 maps it takes its input from. The paper prints the table
/// by S2 row; this is its transpose.
#[rustfmt::skip] // laid out as the paper's Table I groups its columns
pub const C3_CONNECTIONS: [&[usize]; 16] = [
    &[0, 1, 2], &[1, 2, 3], &[2, 3, 4], &[3, 4, 5], &[4, 5, 0], &[5, 0, 1],
    &[0, 1, 2, 3], &[1, 2, 3, 4], &[2, 3, 4, 5], &[3, 4, 5, 0], &[4, 5, 0, 1], &[5, 0, 1, 2],
    &[0, 1, 3, 4], &[1, 2, 4, 5], &[0, 2, 3, 5],
    &[0, 1, 2, 3, 4, 5],
];

/// The initial weight range: uniform in ±`range`/F_i^`fan_in_power`, F_i the fan-in of the unit
/// the connection belongs to. Appendix A's is ±2.4/F_i ([`InitRange::PAPER`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InitRange {
    pub range: f64,
    pub fan_in_power: f64,
}

impl InitRange {
    pub const PAPER: Self = Self { range: 2.4, fan_in_power: 1.0 };

    pub fn bound(&self, fan_in: usize) -> f64 {
        self.range / (fan_in as f64).powf(self.fan_in_power)
    }

    fn uniform(&self, fan_in: usize) -> Initializer {
        let b = self.bound(fan_in);
        Initializer::Uniform { min: -b, max: b }
    }
}

#[derive(Module, Debug)]
pub struct Lenet5 {
    pub c1: Conv2d,
    pub s2: TrainableSubsampling,
    pub c3: SparseConv2d,
    pub s4: TrainableSubsampling,
    /// A 5×5 convolution over the 5×5 S4 maps: 120 units of 1×1.
    pub c5: Conv2d,
    pub f6: Linear,
    pub output: EuclideanRbf,
    /// The MAP criterion's `j` (Eq. 9); the paper does not give its value.
    pub map_j: f64,
}

impl Lenet5 {
    pub fn new(map_j: f64, init: InitRange, device: &Device) -> Self {
        let conv = |cin: usize, cout: usize| Conv2dConfig::new([cin, cout], [5, 5]).with_initializer(init.uniform(cin * 25)).init(device);
        let table: Vec<Vec<usize>> = C3_CONNECTIONS.iter().map(|c| c.to_vec()).collect();
        Self {
            c1: conv(1, 6),
            s2: TrainableSubsampling::new(6, 2, &init.uniform(4), device),
            c3: SparseConv2d::new(6, &table, 5, |fan_in| init.bound(fan_in), device),
            s4: TrainableSubsampling::new(16, 2, &init.uniform(4), device),
            c5: conv(16, 120),
            f6: LinearConfig::new(120, 84).with_initializer(init.uniform(120)).init(device),
            output: EuclideanRbf::new(rbf_codes::codes(), 10, device),
            map_j,
        }
    }

    /// The RBF penalties `[batch, 10]` (lower = more likely), noting each layer in `tap`.
    pub fn penalties(&self, x: Tensor<4>, tap: &mut Tap) -> Tensor<2> {
        let x = scaled_tanh(conv::forward(&self.c1, x));
        tap.layer("C1", "conv 5×5, 6 maps, tanh", &x, self.c1.num_params(), Some(156));
        let x = scaled_tanh(self.s2.forward(x));
        tap.layer("S2", "2×2 sum × coefficient + bias, tanh", &x, self.s2.num_params(), Some(12));
        let x = scaled_tanh(self.c3.forward(x));
        tap.layer("C3", "conv 5×5, 16 maps, Table I connections, tanh", &x, self.c3.num_params(), Some(1516));
        let x = scaled_tanh(self.s4.forward(x));
        tap.layer("S4", "2×2 sum × coefficient + bias, tanh", &x, self.s4.num_params(), Some(32));
        let x = scaled_tanh(conv::forward(&self.c5, x));
        tap.layer("C5", "conv 5×5, 120 maps of 1×1, tanh", &x, self.c5.num_params(), Some(48120));
        let [batch, ..] = x.dims();
        let x = scaled_tanh(self.f6.forward(x.reshape([batch, 120])));
        tap.layer("F6", "fully connected, 84 units, tanh", &x, self.f6.num_params(), Some(10164));
        let y = self.output.forward(x);
        tap.layer("OUTPUT", "Euclidean RBF, fixed ±1 7×12 codes (not trained)", &y, self.output.num_params(), None);
        y
    }
}

impl ImageClassifier for Lenet5 {
    /// Scores are negated penalties, so the arg-max is the closest code.
    fn scores(&self, images: Tensor<4>) -> Tensor<2> {
        self.penalties(images, &mut Tap::off()).neg()
    }

    fn tabulate(&self, input: Tensor<4>, tap: &mut Tap<'_>) {
        self.penalties(input, tap);
    }

    fn loss(&self, scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        map_loss(scores.neg(), targets, self.map_j)
    }

    /// On the CPU, the whole step in plain loops ([`crate::fused`]): a one-sample SDLM step
    /// through burn's graph is mostly per-op overhead.
    fn own_step(&self, images: &Tensor<4>, targets: &Tensor<1, Int>) -> Option<StepGradients> {
        crate::fused::own_step(self, images, targets)
    }

    /// SDLM (§III.B), the paper's optimiser: `h_kk` re-estimated before each pass ([`crate::sdlm`]).
    fn paper_optimizer(&self, optimizer: &Extension, pass: &PassStart<'_>) -> Result<(Box<dyn GradientScaler<Self>>, String), TrainError> {
        crate::sdlm::start_pass(self, optimizer, pass, |images| self.gauss_newton_diagonal(images))
    }
}

impl Lenet5 {
    /// The Gauss–Newton diagonal `h_kk` of each parameter, averaged over `images`: Appendix C's
    /// back-propagated second derivatives, via the squared twin ([`crate::sdlm`]).
    /// The output layer contributes ∂²/∂x_j² of `Σ_j (x_j − w_j)²`, i.e. 2 for every F6 unit; the
    /// MAP term's curvature is left out, as the Gauss–Newton approximation of the paper does.
    pub fn gauss_newton_diagonal(&self, images: Tensor<4>) -> GradientsParams {
        let n = images.dims()[0];
        // The real forward pass: pre-activations `a` and activations `x` of each layer.
        let x0 = images.detach();
        let a1 = conv::forward(&self.c1, x0.clone()).detach();
        let x1 = scaled_tanh(a1.clone());
        let a2 = self.s2.forward(x1.clone()).detach();
        let x2 = scaled_tanh(a2.clone());
        let a3 = self.c3.forward(x2.clone()).detach();
        let x3 = scaled_tanh(a3.clone());
        let a4 = self.s4.forward(x3.clone()).detach();
        let x4 = scaled_tanh(a4.clone());
        let a5 = conv::forward(&self.c5, x4.clone()).detach().reshape([n, 120]);
        let x5 = scaled_tanh(a5.clone());
        let a6 = self.f6.forward(x5.clone()).detach();
        // The twin: squared weights, squared activations, f'(a)² at every squashing function.
        let twin = squared(self);
        let u1 = carry(x1.clone(), conv::forward(&twin.c1, x0.powi_scalar(2)) * d2(a1));
        let u2 = carry(x2.clone(), twin.s2.twin_forward(u1, &x1) * d2(a2));
        let u3 = carry(x3.clone(), twin.c3.forward(u2) * d2(a3));
        let u4 = carry(x4.clone(), twin.s4.twin_forward(u3, &x3) * d2(a4));
        let u5 = carry(x5, conv::forward(&twin.c5, u4).reshape([n, 120]) * d2(a5));
        let h6 = twin.f6.forward(u5) * d2(a6);
        let surrogate = h6.sum().mul_scalar(2.0 / n as f64);
        GradientsParams::from_grads(surrogate.backward(), &twin)
    }
}
