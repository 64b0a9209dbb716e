//! Layers several papers need that burn does not have, or has otherwise than the reference
//! frameworks. A layer only one paper needs lives in that paper's crate.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Int, Tensor};

/// Local response normalisation across channels as Krizhevsky et al. 2012 (§3.3) write it:
/// `b = a / (k + α Σ a²)^β`, the sum over `n` adjacent maps. burn (like PyTorch and Caffe)
/// divides α by `n`, so the paper's α becomes `n·α` here (α = 1e-4 in the paper → 5e-4 here).
pub fn paper_lrn(n: usize, alpha: f64, beta: f64, k: f64) -> burn::nn::LocalResponseNorm {
    burn::nn::LocalResponseNormConfig::new(n).with_alpha(alpha * n as f64).with_beta(beta).with_k(k).init()
}

/// Softmax cross-entropy averaged over the batch: the loss of every softmax classifier here.
pub fn cross_entropy(scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    burn::nn::loss::CrossEntropyLossConfig::new().init(&scores.device()).forward(scores, targets)
}

/// The classifier of the 2012 ImageNet winner, kept by several later nets: FC6 and FC7 with ReLU and dropout, then FC8
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
/// frameworks keep them: PyTorch (and Torch7, where the residual nets' CIFAR and ImageNet ports were
/// trained) move the running variance towards the *unbiased* batch variance, `n/(n−1)` times the
/// biased one, `n` being the values per channel in the batch. burn's `BatchNorm` uses the biased
/// one; the trajectory parity with PyTorch found the difference (`tests/tests/trajectory_parity.rs`).
/// Normalisation is burn's with the running statistics in inference, and in training burn's
/// `batch_norm_train` or, on the CPU, the project's one-pass version of it ([`crate::norm`]). Named `BatchNorm` so PyTorch weights load into
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
        let result = crate::norm::batch_norm_train(input, self.gamma.val(), self.beta.val(), self.epsilon);
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
    use burn::tensor::TensorData;

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
