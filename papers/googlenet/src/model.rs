//! GoogLeNet as Table 1 and Figure 3 of Szegedy et al. (2014) draw it: a 7×7/2 convolution, a
//! 1×1-reduced 3×3 convolution, LRN after the first max-pool and after the second convolution
//! (Figure 3), nine inception modules (3a–5b) with 3×3/2 max-pools between stages, 7×7 average
//! pooling, dropout 40% and a linear layer; and, for training only, the two auxiliary
//! classifiers of §5 on 4a and 4d (5×5/3 average pool, 1×1 convolution to 128, FC-1024, dropout
//! 70%, linear), whose losses count 0.3 each.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig, LocalResponseNorm, LocalResponseNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use repro_common::conv;
use repro_common::engine::ImageClassifier;
use repro_common::nn::cross_entropy;
use repro_common::paper::{LayerRow, Tap, conv_macs, narrowed, trainable_params};
use repro_common::pool;

/// One row of Table 1: `#1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj`.
pub type Columns = [usize; 6];

/// Table 1's inception rows with the paper's params (K, i.e. ×1024 weights) and ops (M).
pub const TABLE1: [(&str, Columns, usize, usize); 9] = [
    ("3a", [64, 96, 128, 16, 32, 32], 159, 128),
    ("3b", [128, 128, 192, 32, 96, 64], 380, 304),
    ("4a", [192, 96, 208, 16, 48, 64], 364, 73),
    ("4b", [160, 112, 224, 24, 64, 64], 437, 88),
    ("4c", [128, 128, 256, 24, 64, 64], 463, 100),
    ("4d", [112, 144, 288, 32, 64, 64], 580, 119),
    ("4e", [256, 160, 320, 32, 128, 128], 840, 170),
    ("5a", [256, 160, 320, 32, 128, 128], 1072, 54),
    ("5b", [384, 192, 384, 48, 128, 128], 1388, 71),
];

fn conv(i: usize, o: usize, k: usize, s: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    // Xavier (Glorot) initialisation, as the Caffe reference model; the paper does not say.
    Conv2dConfig::new([i, o], [k, k]).with_stride([s, s]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).with_initializer(Initializer::XavierUniform { gain: 1.0 }).init(device)
}

/// An inception module (Figure 2b): 1×1; 1×1 → 3×3; 1×1 → 5×5; 3×3/1 max-pool → 1×1; concatenated.
#[derive(Module, Debug)]
pub struct Inception {
    pub b1: Conv2d,
    pub b2_reduce: Conv2d,
    pub b2: Conv2d,
    pub b3_reduce: Conv2d,
    pub b3: Conv2d,
    pub b4_proj: Conv2d,
    pub pool: MaxPool2d,
}

impl Inception {
    pub fn new(inputs: usize, c: Columns, device: &Device) -> Self {
        Self {
            b1: conv(inputs, c[0], 1, 1, device),
            b2_reduce: conv(inputs, c[1], 1, 1, device),
            b2: conv(c[1], c[2], 3, 1, device),
            b3_reduce: conv(inputs, c[3], 1, 1, device),
            b3: conv(c[3], c[4], 5, 1, device),
            b4_proj: conv(inputs, c[5], 1, 1, device),
            pool: MaxPool2dConfig::new([3, 3]).with_strides([1, 1]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(),
        }
    }

    pub fn outputs(&self) -> usize {
        [&self.b1, &self.b2, &self.b3, &self.b4_proj].iter().map(|c| c.weight.dims()[0]).sum()
    }

    /// The module's output, adding its multiply-adds to `total`.
    pub fn forward(&self, x: Tensor<4>, total: &mut u64) -> Tensor<4> {
        let mut run = |c: &Conv2d, x: Tensor<4>| {
            let y = conv::forward(c, x);
            *total += conv_macs(c, &y);
            relu(y)
        };
        let y1 = run(&self.b1, x.clone());
        let r2 = run(&self.b2_reduce, x.clone());
        let y2 = run(&self.b2, r2);
        let r3 = run(&self.b3_reduce, x.clone());
        let y3 = run(&self.b3, r3);
        let y4 = run(&self.b4_proj, pool::forward(&self.pool, x));
        Tensor::cat(vec![y1, y2, y3, y4], 1)
    }
}

/// An auxiliary classifier (§5).
#[derive(Module, Debug)]
pub struct AuxHead {
    pub avgpool: AvgPool2d,
    pub conv: Conv2d,
    pub fc: Linear,
    pub classifier: Linear,
    pub dropout: Dropout,
}

impl AuxHead {
    /// `width` scales the 1×1 convolution's 128 filters and the FC's 1024 units (1: §5's head).
    pub fn new(inputs: usize, classes: usize, width: f64, device: &Device) -> Self {
        let (filters, units) = (narrowed(128, width, 1), narrowed(1024, width, 1));
        Self {
            avgpool: AvgPool2dConfig::new([5, 5]).with_strides([3, 3]).init(),
            conv: conv(inputs, filters, 1, 1, device),
            fc: LinearConfig::new(filters * 4 * 4, units).init(device),
            classifier: LinearConfig::new(units, classes).init(device),
            dropout: DropoutConfig::new(0.7).init(),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let y = relu(conv::forward(&self.conv, self.avgpool.forward(x)));
        let [n, c, h, w] = y.dims();
        let y = self.dropout.forward(relu(self.fc.forward(y.reshape([n, c * h * w]))));
        self.classifier.forward(y)
    }
}

#[derive(Module, Debug)]
pub struct Googlenet {
    pub conv1: Conv2d,
    pub conv2_reduce: Conv2d,
    pub conv2: Conv2d,
    pub lrn: LocalResponseNorm,
    pub pool: MaxPool2d,
    pub inception: Vec<Inception>,
    pub aux1: Option<AuxHead>,
    pub aux2: Option<AuxHead>,
    pub avgpool: AvgPool2d,
    pub dropout: Dropout,
    pub fc: Linear,
}

/// The loss weight of each auxiliary classifier (§5).
pub const AUX_WEIGHT: f64 = 0.3;

impl Googlenet {
    pub fn new(classes: usize, aux: bool, device: &Device) -> Self {
        Self::with_width(classes, aux, 1.0, device)
    }

    /// The net with every layer's width (the stem, each inception column, the auxiliary heads)
    /// scaled by `width`: the `width` model option; 1 is Table 1's net.
    pub fn with_width(classes: usize, aux: bool, width: f64, device: &Device) -> Self {
        let scaled = |c: usize| narrowed(c, width, 1);
        let (stem, conv2_width) = (scaled(64), scaled(192));
        let mut inputs = conv2_width;
        let inception: Vec<Inception> = TABLE1
            .iter()
            .map(|(_, c, _, _)| {
                let m = Inception::new(inputs, c.map(scaled), device);
                inputs = m.outputs();
                m
            })
            .collect();
        // The heads sit on 4a and 4d (512 and 528 maps at full width).
        let (on_4a, on_4d) = (inception[2].outputs(), inception[5].outputs());
        Self {
            conv1: conv(3, stem, 7, 2, device),
            conv2_reduce: conv(stem, stem, 1, 1, device),
            conv2: conv(stem, conv2_width, 3, 1, device),
            // Figure 3's LocalRespNorm; the paper gives no parameters: Caffe's reference model's
            // (size 5, α = 1e-4 divided by the size as Caffe and burn do, β = 0.75, k = 1).
            lrn: LocalResponseNormConfig::new(5).with_alpha(1e-4).with_beta(0.75).with_k(1.0).init(),
            // Caffe rounds pooled sizes up (112 → 56 → 28 → 14 → 7).
            pool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_ceil_mode(true).init(),
            inception,
            aux1: aux.then(|| AuxHead::new(on_4a, classes, width, device)),
            aux2: aux.then(|| AuxHead::new(on_4d, classes, width, device)),
            avgpool: AvgPool2dConfig::new([7, 7]).with_strides([1, 1]).init(),
            dropout: DropoutConfig::new(0.4).init(),
            fc: LinearConfig::new(inputs, classes).init(device),
        }
    }

    /// Main logits, and the two auxiliary logits when `with_aux` and the heads exist.
    pub fn forward(&self, x: Tensor<4>, with_aux: bool, tap: &mut Tap) -> (Tensor<2>, Vec<Tensor<2>>) {
        let y = conv::forward(&self.conv1, x);
        let m = conv_macs(&self.conv1, &y);
        let x = relu(y);
        tap.layer_macs("conv1", "convolution 7×7/2, 64", &x, trainable_params(&self.conv1), None, m);
        let x = self.lrn.forward(pool::forward(&self.pool, x));
        tap.layer_macs("pool1", "max pool 3×3/2, LRN", &x, 0, None, 0);
        let r = conv::forward(&self.conv2_reduce, x);
        let mut m = conv_macs(&self.conv2_reduce, &r);
        let y = conv::forward(&self.conv2, relu(r));
        m += conv_macs(&self.conv2, &y);
        let x = self.lrn.forward(relu(y));
        tap.layer_macs("conv2", "convolution 3×3/1, 192 (64 reduce), LRN", &x, trainable_params(&self.conv2_reduce) + trainable_params(&self.conv2), None, m);
        let mut x = pool::forward(&self.pool, x);
        tap.layer_macs("pool2", "max pool 3×3/2", &x, 0, None, 0);
        let mut aux = Vec::new();
        for (i, module) in self.inception.iter().enumerate() {
            let (name, c, paper_k, _) = TABLE1[i];
            let mut m = 0;
            x = module.forward(x, &mut m);
            tap.layer_macs(&format!("inception{name}"), &format!("inception {c:?}"), &x, trainable_params(module), Some(paper_k * 1024), m);
            if with_aux {
                let head = match name {
                    "4a" => self.aux1.as_ref(),
                    "4d" => self.aux2.as_ref(),
                    _ => None,
                };
                if let Some(h) = head {
                    aux.push(h.forward(x.clone()));
                }
            }
            if name == "3b" || name == "4e" {
                x = pool::forward(&self.pool, x);
                tap.layer_macs(&format!("pool after {name}"), "max pool 3×3/2", &x, 0, None, 0);
            }
        }
        let x = self.avgpool.forward(x);
        let [n, c, _, _] = x.dims();
        let x = self.dropout.forward(x.reshape([n, c]));
        tap.layer_macs("avgpool", "avg pool 7×7/1, dropout 40%", &x, 0, None, 0);
        let y = self.fc.forward(x);
        tap.layer_macs("fc", "linear, 1000 (softmax in the loss)", &y, trainable_params(&self.fc), Some(1000 * 1024), (1024 * y.dims()[1]) as u64);
        (y, aux)
    }
}

impl ImageClassifier for Googlenet {
    fn scores(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images, false, &mut Tap::off()).0
    }

    /// The net's layers, then the auxiliary heads' parameters as rows of their own (they run in
    /// training only).
    fn tabulate(&self, input: Tensor<4>, tap: &mut Tap<'_>) {
        let (scores, _) = self.forward(input, false, tap);
        for (name, head) in [("aux1 (on 4a)", &self.aux1), ("aux2 (on 4d)", &self.aux2)] {
            if let Some(h) = head {
                tap.row(LayerRow {
                    name: name.into(),
                    description: "avg pool 5×5/3, conv 1×1 128, FC-1024, dropout 70%, linear (training only, loss weight 0.3)".into(),
                    output: scores.dims()[1..].to_vec(),
                    params: trainable_params(h),
                    paper_params: None,
                    macs: 0,
                });
            }
        }
    }

    fn loss(&self, scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        cross_entropy(scores, targets)
    }

    /// §5: the auxiliary classifiers' losses are added with weight 0.3 during training.
    fn training_step(&self, images: Tensor<4>, targets: Tensor<1, Int>) -> (Tensor<2>, Tensor<1>) {
        let (main, aux) = self.forward(images, true, &mut Tap::off());
        let mut loss = cross_entropy(main.clone(), targets.clone());
        for a in aux {
            loss = loss + cross_entropy(a, targets.clone()).mul_scalar(AUX_WEIGHT);
        }
        (main, loss)
    }
}
