//! LeNet-5's own layers (LeCun et al. 1998, §II.B and Appendix A), which burn does not have.
//! Each has a finite-difference gradient test (`tests/tests/gradcheck.rs`).

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use repro_common::conv::conv2d;

/// LeCun's squashing function `f(a) = A·tanh(S·a)` with A = 1.7159, S = 2/3 (LeCun et al. 1998,
/// Eq. 6 and Appendix A): f(±1) = ±1, and the gain is near 1 around the origin. One op each way
/// on the CPU ([`crate::squash`]).
pub fn scaled_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    crate::squash::scaled_tanh(x)
}

/// `f'(a)²` for [`scaled_tanh`]: the factor second derivatives pick up through the squashing
/// function when they are back-propagated (Appendix C).
pub fn scaled_tanh_derivative_squared<const D: usize>(a: Tensor<D>) -> Tensor<D> {
    let t = a.mul_scalar(2.0 / 3.0).tanh();
    t.clone().mul(t).neg().add_scalar(1.0).mul_scalar(1.7159 * 2.0 / 3.0).powi_scalar(2)
}

/// Trainable subsampling (LeNet-5's S2 and S4): each map's non-overlapping `k×k` sums are
/// multiplied by one trainable coefficient and shifted by one trainable bias. Two parameters
/// per map. The squashing function is applied by the caller.
#[derive(Module, Debug)]
pub struct TrainableSubsampling {
    pub coefficient: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
    pub kernel: usize,
}

impl TrainableSubsampling {
    /// `init` draws coefficient and bias (LeNet draws uniform ±range/F_inᵖ with F_in = k² inputs).
    pub fn new(maps: usize, kernel: usize, init: &Initializer, device: &Device) -> Self {
        Self { coefficient: init.init([maps], device), bias: init.init([maps], device), kernel }
    }

    /// Sums of non-overlapping `k×k` windows, per map.
    fn window_sums(&self, x: Tensor<4>) -> Tensor<4> {
        let k = self.kernel;
        let options = AvgPoolOptions { kernel_size: [k, k], stride: [k, k], padding: [(0, 0); 2], count_include_pad: true, ceil_mode: false };
        avg_pool2d(x, options).mul_scalar((k * k) as f64)
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let sums = self.window_sums(x);
        let maps = self.coefficient.dims()[0];
        sums * self.coefficient.val().reshape([1, maps, 1, 1]) + self.bias.val().reshape([1, maps, 1, 1])
    }

    /// The SDLM twin's forward pass (see [`crate::sdlm`]); `self` is the squared twin, `u` the
    /// twin's input and `x` the real layer's input. The coefficient's second derivative needs
    /// the squared window *sum* `(Σx)²`, while the inputs' need `c²` spread over the window.
    pub fn twin_forward(&self, u: Tensor<4>, x: &Tensor<4>) -> Tensor<4> {
        let v = crate::sdlm::carry(self.window_sums(x.clone()), self.window_sums(u));
        let maps = self.coefficient.dims()[0];
        v * self.coefficient.val().reshape([1, maps, 1, 1]) + self.bias.val().reshape([1, maps, 1, 1])
    }
}

/// A convolution whose output maps see only some input maps, as listed in a connection table
/// (LeNet-5's C3, Table I). Only the listed kernels exist as parameters: they are stored packed
/// and scattered into a dense kernel (zeros elsewhere) on each forward pass, so the parameter
/// count is exactly the paper's.
#[derive(Module, Debug)]
pub struct SparseConv2d {
    /// One `k×k` kernel per connection, in table order.
    pub kernels: Param<Tensor<3>>,
    pub bias: Param<Tensor<1>>,
    /// For each (output, input) pair in row-major order: its kernel's row in `kernels`, or the
    /// index of the appended zero kernel when the pair is not connected. Constant.
    gather: Tensor<1, Int>,
    pub inputs: usize,
    pub outputs: usize,
}

impl SparseConv2d {
    /// `connections[o]` lists the input maps that output map `o` sees. Kernels and biases are
    /// drawn uniformly in `±bound(fan_in)`, where `fan_in` is the number of inputs of the unit
    /// the weight belongs to (`k²` times the number of connected maps), as LeCun's rule needs.
    pub fn new(inputs: usize, connections: &[Vec<usize>], kernel: usize, bound: impl Fn(usize) -> f64, device: &Device) -> Self {
        let outputs = connections.len();
        let count: usize = connections.iter().map(Vec::len).sum();
        let mut gather = vec![count as i64; outputs * inputs];
        let mut kernel_bounds = Vec::with_capacity(count);
        let mut bias_bounds = Vec::with_capacity(outputs);
        let mut next = 0i64;
        for (o, ins) in connections.iter().enumerate() {
            let b = bound(ins.len() * kernel * kernel) as f32;
            bias_bounds.push(b);
            for &i in ins {
                assert!(i < inputs, "connection table names input map {i} of {inputs}");
                gather[o * inputs + i] = next;
                kernel_bounds.push(b);
                next += 1;
            }
        }
        let uniform = Distribution::Uniform(-1.0, 1.0);
        let kernels = Tensor::<3>::random([count, kernel, kernel], uniform, device) * Tensor::<1>::from_data(TensorData::new(kernel_bounds, [count]), device).reshape([count, 1, 1]);
        let bias = Tensor::<1>::random([outputs], uniform, device) * Tensor::<1>::from_data(TensorData::new(bias_bounds, [outputs]), device);
        Self { kernels: Param::from_tensor(kernels), bias: Param::from_tensor(bias), gather: Tensor::from_data(TensorData::new(gather, [outputs * inputs]), device), inputs, outputs }
    }

    /// The dense `[outputs, inputs, k, k]` kernel, zero where the table has no connection.
    pub fn dense_kernel(&self) -> Tensor<4> {
        let kernels = self.kernels.val();
        let [_, k, _] = kernels.dims();
        let zero = Tensor::zeros([1, k, k], &kernels.device());
        let padded = Tensor::cat(vec![kernels, zero], 0);
        padded.select(0, self.gather.clone()).reshape([self.outputs, self.inputs, k, k])
    }

    /// `(output map, input map)` of each packed kernel, in the order of `kernels`.
    pub fn connections(&self) -> Vec<(usize, usize)> {
        let gather = self.gather.clone().into_data().convert::<i64>().try_into_vec::<i64>().expect("an int tensor");
        let mut pairs = vec![(0, 0); self.kernels.dims()[0]];
        for (pair, &k) in gather.iter().enumerate() {
            if let Some(slot) = pairs.get_mut(k as usize) {
                *slot = (pair / self.inputs, pair % self.inputs);
            }
        }
        pairs
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv2d(x, self.dense_kernel(), Some(self.bias.val()), ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
    }
}

/// Euclidean radial-basis-function output units (LeNet-5's output layer, §II.B):
/// `y_i = Σ_j (x_j − w_ij)²` with the centres `w` fixed, not trained. Returns the penalties
/// `[batch, classes]`; lower means more likely.
#[derive(Module, Debug)]
pub struct EuclideanRbf {
    /// `[classes, inputs]`, constant.
    centres: Tensor<2>,
}

impl EuclideanRbf {
    pub fn new(centres: Vec<f32>, classes: usize, device: &Device) -> Self {
        let inputs = centres.len() / classes;
        Self { centres: Tensor::from_data(TensorData::new(centres, [classes, inputs]), device) }
    }

    pub fn centres(&self) -> Tensor<2> {
        self.centres.clone()
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        // ‖x‖² − 2·x·wᵀ + ‖w‖², one matrix product instead of a [batch, classes, inputs] tensor.
        // A module constant: it moves with the model, so it is already on x's device.
        let centres = self.centres.clone();
        let x_sq = x.clone().powi_scalar(2).sum_dim(1);
        let w_sq = centres.clone().powi_scalar(2).sum_dim(1).transpose();
        x_sq - x.matmul(centres.transpose()).mul_scalar(2.0) + w_sq
    }
}

/// The maximum a posteriori criterion of LeCun et al. 1998, Eq. 9, averaged over the batch:
/// `E = y_correct + log(e^{−j} + Σ_i e^{−y_i})`. The second term pulls the penalties of wrong
/// classes up, but only while they are below about `j`.
pub fn map_loss(penalties: Tensor<2>, targets: Tensor<1, Int>, j: f64) -> Tensor<1> {
    let [batch, _] = penalties.dims();
    let correct = penalties.clone().gather(1, targets.reshape([batch, 1])).reshape([batch]);
    // log(e^{-j} + Σ e^{-y}) computed stably as a log-sum-exp over [−j, −y_0 … −y_9].
    let neg = Tensor::cat(vec![Tensor::full([batch, 1], -j, &penalties.device()), penalties.neg()], 1);
    let max = neg.clone().max_dim(1).detach();
    let lse = (neg - max.clone()).exp().sum_dim(1).log() + max;
    (correct + lse.reshape([batch])).mean()
}
