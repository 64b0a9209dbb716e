//! The ConvNet configurations of Table 1 (Simonyan & Zisserman 2014): 3×3 convolutions (stride 1,
//! padding 1) in five blocks, each closed by a 2×2/2 max-pool, then FC-4096, FC-4096 and FC-1000
//! (§2.1). Configuration C puts a 1×1 convolution third in blocks 3–5; A-LRN adds AlexNet's LRN
//! after the first convolution. With `batch_norm`, BN follows every convolution (torchvision's
//! `_bn` nets, not in the paper). §3.2's dense evaluation turns the FC layers into 7×7 and 1×1
//! convolutions and averages the class-score map.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig, LocalResponseNorm, PaddingConfig2d};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Int, Tensor};
use repro_common::conv::{self, conv2d};
use repro_common::engine::ImageClassifier;
use repro_common::nn::{BatchNorm, cross_entropy, dropout_classifier, paper_lrn};
use repro_common::paper::{Tap, conv_macs, narrowed, trainable_params};
use repro_common::pool;

/// A column of Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    A,
    ALrn,
    B,
    C,
    D,
    E,
}

impl Config {
    /// Each block's layers as (kernel, width), in order.
    pub fn blocks(self) -> Vec<Vec<(usize, usize)>> {
        let three = |w: usize, n: usize| vec![(3, w); n];
        let (b1, b2, deep) = match self {
            Config::A | Config::ALrn => (1, 1, 2),
            Config::B => (2, 2, 2),
            Config::C | Config::D => (2, 2, 3),
            Config::E => (2, 2, 4),
        };
        let deep_block = |w: usize| {
            let mut b = three(w, deep);
            if self == Config::C {
                b[2] = (1, w);
            }
            b
        };
        vec![three(64, b1), three(128, b2), deep_block(256), deep_block(512), deep_block(512)]
    }

    /// Weight layers (Table 1's heading): 11, 11, 13, 16, 16, 19.
    pub fn weight_layers(self) -> usize {
        self.blocks().iter().map(|b| b.len()).sum::<usize>() + 3
    }
}

/// How the weights start (§3.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// burn's (PyTorch's) default initialisers, biases included.
    Default,
    /// Weights from N(0, std²), zero biases: §3.1 for configuration A, trained from scratch.
    Normal { std: f64 },
    /// Glorot & Bengio's normalised initialisation, uniform in ±√(6 / (fan_in + fan_out)), zero
    /// biases: §3.1's route to the deeper nets without pre-training from A.
    Glorot,
}

#[derive(Debug, Clone, Copy)]
pub struct VggSpec {
    pub config: Config,
    pub batch_norm: bool,
    pub classes: usize,
    pub init: Init,
    /// Every convolution's and hidden FC layer's width scaled by this (the `width` model option,
    /// a test instrument; 1 is Table 1's net); under `Init::Normal` the std of layers with
    /// narrowed inputs is `std`/√width (Glorot's bounds follow the layers' own fans).
    pub width: f64,
}

#[derive(Module, Debug)]
pub struct Vgg {
    pub convs: Vec<Conv2d>,
    pub bns: Vec<BatchNorm>,
    /// Layers per block, so the forward pass knows where the pools go.
    pub block_sizes: Vec<usize>,
    pub lrn: Option<LocalResponseNorm>,
    pub fc6: Linear,
    pub fc7: Linear,
    pub fc8: Linear,
    pub pool: MaxPool2d,
    /// torchvision's `AdaptiveAvgPool2d((7, 7))`: the identity at the paper's 224×224 inputs; it
    /// lets the net train on smaller images (tests). Dense evaluation does not use it.
    pub avgpool: AdaptiveAvgPool2d,
    pub dropout: Dropout,
}

impl Vgg {
    pub fn new(spec: VggSpec, device: &Device) -> Self {
        // A narrowed layer has `width` times the paper's inputs, so its std grows by 1/√width to
        // keep the paper net's activation scale (the first convolution sees RGB at any width).
        let weight_init = |narrowed_inputs: bool| match spec.init {
            Init::Default => None,
            Init::Normal { std } => Some(Initializer::Normal { mean: 0.0, std: if narrowed_inputs { std / spec.width.sqrt() } else { std } }),
            Init::Glorot => Some(Initializer::XavierUniform { gain: 1.0 }),
        };
        let zero_biases = spec.init != Init::Default;
        let mut convs = Vec::new();
        let mut bns = Vec::new();
        let mut inputs = 3;
        let blocks = spec.config.blocks();
        for block in &blocks {
            for &(k, w) in block {
                let w = narrowed(w, spec.width, 1);
                let p = k / 2;
                let mut c = Conv2dConfig::new([inputs, w], [k, k]).with_padding(PaddingConfig2d::Explicit(p, p, p, p));
                if let Some(init) = weight_init(!convs.is_empty()) {
                    c = c.with_initializer(init);
                }
                let mut conv = c.init(device);
                if zero_biases && conv.bias.is_some() {
                    // A new trainable parameter: mapping the old one to `zeros_like` would keep a
                    // value autodiff does not track, and the biases would never train.
                    conv.bias = Some(Param::from_tensor(Tensor::zeros([w], device)));
                }
                convs.push(conv);
                if spec.batch_norm {
                    bns.push(BatchNorm::new(w, device));
                }
                inputs = w;
            }
        }
        let hidden = narrowed(4096, spec.width, 1);
        let linear = |i: usize, o: usize| {
            let mut c = LinearConfig::new(i, o);
            if let Some(init) = weight_init(true) {
                c = c.with_initializer(init);
            }
            let mut l = c.init(device);
            if zero_biases && l.bias.is_some() {
                l.bias = Some(Param::from_tensor(Tensor::zeros([o], device)));
            }
            l
        };
        Self {
            convs,
            bns,
            block_sizes: blocks.iter().map(|b| b.len()).collect(),
            lrn: (spec.config == Config::ALrn).then(|| paper_lrn(5, 1e-4, 0.75, 2.0)),
            fc6: linear(inputs * 7 * 7, hidden),
            fc7: linear(hidden, hidden),
            fc8: linear(hidden, spec.classes),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            avgpool: AdaptiveAvgPool2dConfig::new([7, 7]).init(),
            dropout: DropoutConfig::new(0.5).init(),
        }
    }

    /// The convolutional part: five blocks, each closed by max-pooling.
    pub fn features(&self, mut x: Tensor<4>, tap: &mut Tap) -> Tensor<4> {
        let mut i = 0;
        for (b, &size) in self.block_sizes.iter().enumerate() {
            for j in 0..size {
                let conv = &self.convs[i];
                let y = conv::forward(conv, x);
                let [_, o, _, _] = y.dims();
                let k = conv.weight.dims()[2];
                let macs = conv_macs(conv, &y);
                let mut params = trainable_params(conv);
                let mut y = match self.bns.get(i) {
                    Some(bn) => {
                        params += trainable_params(bn);
                        relu(bn.forward(y))
                    }
                    None => relu(y),
                };
                let mut what = format!("conv{k}-{o}{}", if self.bns.is_empty() { "" } else { ", BN" });
                if i == 0
                    && let Some(lrn) = &self.lrn
                {
                    y = lrn.forward(y);
                    what.push_str(", LRN");
                }
                if j + 1 == size {
                    y = pool::forward(&self.pool, y);
                    what.push_str(", maxpool");
                }
                tap.layer_macs(&format!("conv{}_{}", b + 1, j + 1), &what, &y, params, None, macs);
                x = y;
                i += 1;
            }
        }
        x
    }

    pub fn logits(&self, x: Tensor<4>, tap: &mut Tap) -> Tensor<2> {
        let x = self.avgpool.forward(self.features(x, tap));
        let [n, c, h, w] = x.dims();
        let x = x.reshape([n, c * h * w]);
        dropout_classifier(x, [&self.fc6, &self.fc7, &self.fc8], &self.dropout, tap)
    }

    /// §3.2's dense evaluation on a whole image of any size ≥ 224: FC6 becomes a 7×7
    /// convolution, FC7 and FC8 1×1 convolutions; the class-score map is averaged spatially and,
    /// with `flip`, averaged with the mirrored image's. Returns class probabilities.
    pub fn dense_probabilities(&self, x: Tensor<4>, flip: bool) -> Tensor<2> {
        let scores = |x: Tensor<4>| {
            let f = self.features(x, &mut Tap::off());
            let as_conv = |layer: &Linear, k: usize| {
                let [i, o] = layer.weight.dims();
                let weight = layer.weight.val().transpose().reshape([o, i / (k * k), k, k]);
                (weight, layer.bias.as_ref().map(|b| b.val()))
            };
            let opts = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
            let (w6, b6) = as_conv(&self.fc6, 7);
            let (w7, b7) = as_conv(&self.fc7, 1);
            let (w8, b8) = as_conv(&self.fc8, 1);
            let y = relu(conv2d(f, w6, b6, opts.clone()));
            let y = relu(conv2d(y, w7, b7, opts.clone()));
            let y = conv2d(y, w8, b8, opts);
            let [n, c, _, _] = y.dims();
            // Class scores averaged over the map, then the softmax (§3.2: "spatially averaged").
            softmax(y.mean_dims(&[2, 3]).reshape([n, c]), 1)
        };
        let p = scores(x.clone());
        if flip { (p + scores(x.flip([3]))).div_scalar(2.0) } else { p }
    }
}

impl ImageClassifier for Vgg {
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
