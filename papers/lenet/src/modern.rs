//! The "LeNet-5" of most modern tutorials: the same layer sizes as §II.B, but ReLU, max-pooling,
//! a dense C3, a linear 10-way output and softmax cross-entropy. Not in the paper; here so users
//! can see what the paper's own choices cost or buy.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use repro_common::conv;
use repro_common::engine::ImageClassifier;
use repro_common::paper::Tap;
use repro_common::pool;

#[derive(Module, Debug)]
pub struct Lenet5Modern {
    pub c1: Conv2d,
    pub c3: Conv2d,
    pub c5: Conv2d,
    pub f6: Linear,
    pub output: Linear,
    pub pool: MaxPool2d,
}

impl Lenet5Modern {
    /// burn's default initialisation (Kaiming-uniform with gain 1/√3, PyTorch's default).
    pub fn new(device: &Device) -> Self {
        Self {
            c1: Conv2dConfig::new([1, 6], [5, 5]).init(device),
            c3: Conv2dConfig::new([6, 16], [5, 5]).init(device),
            c5: Conv2dConfig::new([16, 120], [5, 5]).init(device),
            f6: LinearConfig::new(120, 84).init(device),
            output: LinearConfig::new(84, 10).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        }
    }

    pub fn logits(&self, x: Tensor<4>, tap: &mut Tap) -> Tensor<2> {
        let x = relu(conv::forward(&self.c1, x));
        tap.layer("C1", "conv 5×5, 6 maps, ReLU", &x, self.c1.num_params(), None);
        let x = pool::forward(&self.pool, x);
        tap.layer("S2", "max-pool 2×2", &x, 0, None);
        let x = relu(conv::forward(&self.c3, x));
        tap.layer("C3", "conv 5×5, 16 maps, dense, ReLU", &x, self.c3.num_params(), None);
        let x = pool::forward(&self.pool, x);
        tap.layer("S4", "max-pool 2×2", &x, 0, None);
        let x = relu(conv::forward(&self.c5, x));
        tap.layer("C5", "conv 5×5, 120 maps of 1×1, ReLU", &x, self.c5.num_params(), None);
        let [batch, ..] = x.dims();
        let x = relu(self.f6.forward(x.reshape([batch, 120])));
        tap.layer("F6", "fully connected, 84 units, ReLU", &x, self.f6.num_params(), None);
        let y = self.output.forward(x);
        tap.layer("OUTPUT", "fully connected, 10 logits (softmax in the loss)", &y, self.output.num_params(), None);
        y
    }
}

impl ImageClassifier for Lenet5Modern {
    fn scores(&self, images: Tensor<4>) -> Tensor<2> {
        self.logits(images, &mut Tap::off())
    }

    fn tabulate(&self, input: Tensor<4>, tap: &mut Tap<'_>) {
        self.logits(input, tap);
    }

    fn loss(&self, scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        repro_common::nn::cross_entropy(scores, targets)
    }
}
