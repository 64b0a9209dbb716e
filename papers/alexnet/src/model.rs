//! AlexNet as §3 and Figure 2 of Krizhevsky, Sutskever & Hinton (2012) describe it: five
//! convolutional and three fully connected layers; conv2, conv4 and conv5 see only the maps on
//! their own GPU (two groups); LRN after the ReLUs of conv1 and conv2; overlapping 3×3/2 max-pooling
//! after both LRNs and after conv5; dropout 0.5 in the first two fully connected layers.
//!
//! The same struct also builds torchvision's single-tower variant ("One weird trick", 2014:
//! 64-192-384-256-256 kernels, no groups, no LRN, conv1 padded by 2, adaptive 6×6 average
//! pooling), so its published weights can be imported.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig, LocalResponseNorm, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use repro_common::conv;
use repro_common::engine::ImageClassifier;
use repro_common::nn::{cross_entropy, dropout_classifier, paper_lrn};
use repro_common::paper::{Tap, conv_macs, narrowed, trainable_params};
use repro_common::pool;

/// The shape of one AlexNet.
#[derive(Debug, Clone, Copy)]
pub struct AlexnetSpec {
    /// Kernels of conv1 … conv5.
    pub widths: [usize; 5],
    /// Units of FC6 and FC7.
    pub hidden: usize,
    pub classes: usize,
    /// Groups of conv2, conv4, conv5 (the paper's two GPUs: 2).
    pub groups: usize,
    pub lrn: bool,
    pub conv1_padding: usize,
    /// The input side the net is built for (227 for the paper's 55×55 conv1 maps).
    pub input: usize,
    /// Draw weights from N(0, 0.01²) with biases 1 in conv2, conv4, conv5 and the hidden FC layers (§5).
    pub paper_init: bool,
    /// The multiplier [`AlexnetSpec::narrowed`] applied (1: the paper's widths); with
    /// `paper_init`, the std of layers with narrowed inputs is 0.01/√width.
    pub width: f64,
}

impl AlexnetSpec {
    /// The paper's net: 96-256-384-384-256, two groups, LRN, 227×227 inputs.
    pub fn paper(classes: usize) -> Self {
        Self { widths: [96, 256, 384, 384, 256], hidden: 4096, classes, groups: 2, lrn: true, conv1_padding: 0, input: 227, paper_init: true, width: 1.0 }
    }

    /// torchvision's `alexnet`: 64-192-384-256-256, one tower, no LRN, 224×224 inputs.
    pub fn torchvision(classes: usize) -> Self {
        Self { widths: [64, 192, 384, 256, 256], hidden: 4096, classes, groups: 1, lrn: false, conv1_padding: 2, input: 224, paper_init: false, width: 1.0 }
    }

    /// The same net with every convolution's kernels and both hidden FC layers scaled by `width`
    /// (the `width` model option, a test instrument; 1 keeps the net); kernel counts stay
    /// divisible by the groups.
    pub fn narrowed(self, width: f64) -> Self {
        Self { widths: self.widths.map(|w| narrowed(w, width, self.groups)), hidden: narrowed(self.hidden, width, 1), width: self.width * width, ..self }
    }
}

#[derive(Module, Debug)]
pub struct Alexnet {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub conv3: Conv2d,
    pub conv4: Conv2d,
    pub conv5: Conv2d,
    pub fc6: Linear,
    pub fc7: Linear,
    pub fc8: Linear,
    pub lrn: Option<LocalResponseNorm>,
    pub pool: MaxPool2d,
    /// torchvision's `AdaptiveAvgPool2d((6, 6))` (the identity at 224×224 inputs).
    pub avgpool: AdaptiveAvgPool2d,
    pub dropout: Dropout,
}

fn set_bias_one(conv_bias: &mut Option<Param<Tensor<1>>>) {
    if let Some(b) = conv_bias.take() {
        // `from_tensor` makes a trainable parameter; `Param::initialized` with a plain tensor
        // would make one autodiff never tracks, and the bias would never train.
        *conv_bias = Some(Param::from_tensor(Tensor::ones(b.dims(), &b.device())));
    }
}

impl Alexnet {
    pub fn new(spec: AlexnetSpec, device: &Device) -> Self {
        let [w1, w2, w3, w4, w5] = spec.widths;
        let g = spec.groups;
        // §5's N(0, 0.01²). A narrowed layer has `width` times the paper's inputs, so its std
        // grows by 1/√width to keep the paper net's activation scale (conv1 sees RGB at any width).
        let paper_std = |narrowed_inputs: bool| Initializer::Normal { mean: 0.0, std: if narrowed_inputs { 0.01 / spec.width.sqrt() } else { 0.01 } };
        let conv = |i: usize, o: usize, k: usize, s: usize, p: usize, groups: usize| {
            let init = if spec.paper_init { paper_std(i != 3) } else { Conv2dConfig::new([1, 1], [1, 1]).initializer };
            Conv2dConfig::new([i, o], [k, k]).with_stride([s, s]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).with_groups(groups).with_initializer(init).init(device)
        };
        let linear = |i: usize, o: usize| {
            let mut c = LinearConfig::new(i, o);
            if spec.paper_init {
                c = c.with_initializer(paper_std(true));
            }
            c.init(device)
        };
        let mut net = Self {
            conv1: conv(3, w1, 11, 4, spec.conv1_padding, 1),
            conv2: conv(w1, w2, 5, 1, 2, g),
            conv3: conv(w2, w3, 3, 1, 1, 1),
            conv4: conv(w3, w4, 3, 1, 1, g),
            conv5: conv(w4, w5, 3, 1, 1, g),
            fc6: linear(w5 * 36, spec.hidden),
            fc7: linear(spec.hidden, spec.hidden),
            fc8: linear(spec.hidden, spec.classes),
            lrn: spec.lrn.then(|| paper_lrn(5, 1e-4, 0.75, 2.0)),
            pool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init(),
            avgpool: AdaptiveAvgPool2dConfig::new([6, 6]).init(),
            dropout: DropoutConfig::new(0.5).init(),
        };
        if spec.paper_init {
            // §5: biases 1 in conv2, conv4, conv5 and the hidden FC layers (to give ReLUs positive
            // inputs early on), 0 elsewhere.
            set_bias_one(&mut net.conv2.bias);
            set_bias_one(&mut net.conv4.bias);
            set_bias_one(&mut net.conv5.bias);
            set_bias_one(&mut net.fc6.bias);
            set_bias_one(&mut net.fc7.bias);
            for b in [&mut net.conv1.bias, &mut net.conv3.bias, &mut net.fc8.bias] {
                if let Some(p) = b.take() {
                    *b = Some(Param::from_tensor(Tensor::zeros(p.dims(), &p.device())));
                }
            }
        }
        net
    }

    pub fn logits(&self, x: Tensor<4>, tap: &mut Tap) -> Tensor<2> {
        let norm = |y: Tensor<4>| match &self.lrn {
            Some(lrn) => lrn.forward(y),
            None => y,
        };
        let lrn_note = if self.lrn.is_some() { ", LRN" } else { "" };
        let groups = |c: &Conv2d| if c.groups > 1 { format!(", {} groups", c.groups) } else { String::new() };
        let stage = |name: &str, conv: &Conv2d, x: Tensor<4>, lrn: bool, pool: bool, tap: &mut Tap| {
            let y = conv::forward(conv, x);
            let m = conv_macs(conv, &y);
            let mut y = relu(y);
            if lrn {
                y = norm(y);
            }
            if pool {
                y = pool::forward(&self.pool, y);
            }
            let [o, i, k, _] = conv.weight.dims();
            let what = format!("conv {k}×{k}, {o} kernels of depth {i}{}, ReLU{}{}", groups(conv), if lrn { lrn_note } else { "" }, if pool { ", max-pool 3×3/2" } else { "" });
            tap.layer_macs(name, &what, &y, trainable_params(conv), None, m);
            y
        };
        let x = stage("conv1", &self.conv1, x, true, true, tap);
        let x = stage("conv2", &self.conv2, x, true, true, tap);
        let x = stage("conv3", &self.conv3, x, false, false, tap);
        let x = stage("conv4", &self.conv4, x, false, false, tap);
        let x = stage("conv5", &self.conv5, x, false, true, tap);
        let x = self.avgpool.forward(x);
        let [n, c, h, w] = x.dims();
        let x = x.reshape([n, c * h * w]);
        dropout_classifier(x, [&self.fc6, &self.fc7, &self.fc8], &self.dropout, tap)
    }
}

impl ImageClassifier for Alexnet {
    fn scores(&self, images: Tensor<4>) -> Tensor<2> {
        self.logits(images, &mut Tap::off())
    }

    fn tabulate(&self, input: Tensor<4>, tap: &mut Tap<'_>) {
        self.logits(input, tap);
    }

    fn loss(&self, scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        cross_entropy(scores, targets)
    }
}
