//! Layers the papers need that burn does not have. Each has a finite-difference gradient test
//! (`tests/src/gradcheck.rs`).

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::module::{avg_pool2d, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

/// LeCun's squashing function `f(a) = A·tanh(S·a)` with A = 1.7159, S = 2/3 (LeCun et al. 1998,
/// Eq. 6 and Appendix A): f(±1) = ±1, and the gain is near 1 around the origin.
pub fn scaled_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.mul_scalar(2.0 / 3.0).tanh().mul_scalar(1.7159)
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

/// Local response normalisation across channels as Krizhevsky et al. 2012 (§3.3) write it:
/// `b = a / (k + α Σ a²)^β`, the sum over `n` adjacent maps. burn (like PyTorch and Caffe)
/// divides α by `n`, so the paper's α becomes `n·α` here (AlexNet: α = 1e-4 → 5e-4).
pub fn paper_lrn(n: usize, alpha: f64, beta: f64, k: f64) -> burn::nn::LocalResponseNorm {
    burn::nn::LocalResponseNormConfig::new(n).with_alpha(alpha * n as f64).with_beta(beta).with_k(k).init()
}

/// Softmax cross-entropy averaged over the batch: the loss of every softmax classifier here.
pub fn cross_entropy(scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    burn::nn::loss::CrossEntropyLossConfig::new().init(&scores.device()).forward(scores, targets)
}

/// The classifier AlexNet introduced and VGG kept: FC6 and FC7 with ReLU and dropout, then FC8
/// (softmax in the loss); each layer noted in `tap` as `fc6`, `fc7`, `fc8`.
pub fn dropout_classifier(x: Tensor<2>, layers: [&burn::nn::Linear; 3], dropout: &burn::nn::Dropout, tap: &mut crate::paper::Tap) -> Tensor<2> {
    let mut x = x;
    for (k, layer) in layers.into_iter().enumerate() {
        let y = layer.forward(x);
        let [i, o] = layer.weight.dims();
        let hidden = k < 2;
        let y = if hidden { dropout.forward(burn::tensor::activation::relu(y)) } else { y };
        let what = if hidden { format!("fully connected, {o}, ReLU, dropout {}", dropout.prob) } else { format!("fully connected, {o} (softmax in the loss)") };
        tap.layer_macs(&format!("fc{}", k + 6), &what, &y, crate::paper::trainable_params(layer), None, (i * o) as u64);
        x = y;
    }
    x
}

/// Batch normalisation (Ioffe & Szegedy 2015) with the running statistics kept as the reference
/// frameworks keep them: PyTorch (and Torch7, where ResNet's CIFAR and ImageNet ports were
/// trained) move the running variance towards the *unbiased* batch variance, `n/(n−1)` times the
/// biased one, `n` being the values per channel in the batch. burn's `BatchNorm` uses the biased
/// one; the trajectory parity with PyTorch found the difference (`tests/tests/trajectory_parity.rs`).
/// Normalisation itself is burn's (`batch_norm_train` in training, the running statistics in
/// inference); only the running update is ours. Named `BatchNorm` so PyTorch weights load into
/// it by burn's adapter (`weight`/`bias` → `gamma`/`beta`).
#[derive(Module, Debug)]
pub struct BatchNorm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
    pub running_mean: burn::module::RunningState<Tensor<1>>,
    pub running_var: burn::module::RunningState<Tensor<1>>,
    pub momentum: f64,
    pub epsilon: f64,
}

impl BatchNorm {
    /// `channels` features with γ = 1, β = 0, running mean 0 and variance 1, momentum 0.1 (the
    /// weight of the new batch) and ε = 1e-5, PyTorch's defaults.
    pub fn new(channels: usize, device: &Device) -> Self {
        Self::with_epsilon(channels, 1e-5, device)
    }

    pub fn with_epsilon(channels: usize, epsilon: f64, device: &Device) -> Self {
        Self {
            gamma: Initializer::Ones.init([channels], device),
            beta: Initializer::Zeros.init([channels], device),
            running_mean: burn::module::RunningState::new(Tensor::zeros([channels], device)),
            running_var: burn::module::RunningState::new(Tensor::ones([channels], device)),
            momentum: 0.1,
            epsilon,
        }
    }

    /// Batch statistics (and a running update) on an autodiff device, the running statistics
    /// elsewhere (evaluation runs on `valid()` models).
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let device = input.device();
        if !device.is_autodiff() {
            let (mean, var) = (self.running_mean.value().to_device(&device), self.running_var.value().to_device(&device));
            return burn::tensor::module::batch_norm(input, self.gamma.val(), self.beta.val(), mean, var, self.epsilon);
        }
        let per_channel = input.dims().iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, d)| d).product::<usize>() as f64;
        let result = burn::tensor::module::batch_norm_train(input, self.gamma.val(), self.beta.val(), self.epsilon);
        let unbiased = if per_channel > 1.0 { per_channel / (per_channel - 1.0) } else { 1.0 };
        let (mean, var) = (self.running_mean.value_sync().to_device(&device), self.running_var.value_sync().to_device(&device));
        let m = self.momentum;
        self.running_mean.update(mean.mul_scalar(1.0 - m).add(result.mean.detach().mul_scalar(m)).detach());
        self.running_var.update(var.mul_scalar(1.0 - m).add(result.variance.detach().mul_scalar(m * unbiased)).detach());
        result.output
    }
}

#[cfg(test)]
mod batch_norm_tests {
    use super::*;

    #[test]
    fn the_running_variance_moves_towards_the_unbiased_batch_variance() {
        // One channel, values 1, 2, 3, 4: biased variance 1.25, unbiased 5/3.
        let device = Device::flex().autodiff();
        let bn = BatchNorm::new(1, &device);
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 1, 2, 1]), &device);
        let y = bn.forward(x).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let expected = (1.0 - 2.5) / (1.25f32 + 1e-5).sqrt();
        assert!((y[0] - expected).abs() < 1e-5, "normalised with the biased batch variance: {y:?}");
        let valid = bn.valid();
        let mean = valid.running_mean.value().into_data().try_to_vec::<f32>().unwrap()[0];
        let var = valid.running_var.value().into_data().try_to_vec::<f32>().unwrap()[0];
        assert!((mean - 0.25).abs() < 1e-6, "{mean}");
        assert!((var - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6, "{var}");
    }
}
