//! torchvision's `googlenet`, a different net from the paper's, so that its published weights
//! (`googlenet-1378be20.pth`) can be imported and evaluated: BN after every bias-free convolution
//! (ε = 1e-3), a 3×3 where the paper has each 5×5, no LRN, a 2×2 max-pool after 4e, global
//! average pooling, dropout 0.2, and no auxiliary classifiers at inference. Its weights expect
//! `transform_input`: inputs normalised with ImageNet's mean/std are re-normalised to
//! (x − 0.5) / 0.5 per channel, which `forward` does first.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use repro_common::conv;
use repro_common::engine::ImageClassifier;
use repro_common::nn::BatchNorm;
use repro_common::nn::cross_entropy;
use repro_common::paper::{LayerRow, Tap, trainable_params};
use repro_common::pool;

use crate::model::TABLE1;

/// Convolution without bias, BN (ε = 1e-3), ReLU: torchvision's `BasicConv2d`.
#[derive(Module, Debug)]
pub struct BasicConv {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl BasicConv {
    fn new(i: usize, o: usize, k: usize, s: usize, device: &Device) -> Self {
        let p = k / 2;
        Self {
            conv: Conv2dConfig::new([i, o], [k, k]).with_stride([s, s]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).with_bias(false).init(device),
            bn: BatchNorm::with_epsilon(o, 1e-3, device),
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(conv::forward(&self.conv, x)))
    }
}

#[derive(Module, Debug)]
pub struct TvInception {
    pub branch1: BasicConv,
    pub branch2: Vec<BasicConv>,
    pub branch3: Vec<BasicConv>,
    /// `branch4.1` (index 0 is the max-pool).
    pub branch4_proj: BasicConv,
    pub pool: MaxPool2d,
}

impl TvInception {
    fn new(i: usize, c: [usize; 6], device: &Device) -> Self {
        Self {
            branch1: BasicConv::new(i, c[0], 1, 1, device),
            branch2: vec![BasicConv::new(i, c[1], 1, 1, device), BasicConv::new(c[1], c[2], 3, 1, device)],
            // torchvision's "known bug": a 3×3 where the paper has a 5×5.
            branch3: vec![BasicConv::new(i, c[3], 1, 1, device), BasicConv::new(c[3], c[4], 3, 1, device)],
            branch4_proj: BasicConv::new(i, c[5], 1, 1, device),
            pool: MaxPool2dConfig::new([3, 3]).with_strides([1, 1]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).with_ceil_mode(true).init(),
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let seq = |layers: &[BasicConv], x: Tensor<4>| layers.iter().fold(x, |x, l| l.forward(x));
        Tensor::cat(vec![self.branch1.forward(x.clone()), seq(&self.branch2, x.clone()), seq(&self.branch3, x.clone()), self.branch4_proj.forward(pool::forward(&self.pool, x))], 1)
    }
}

#[derive(Module, Debug)]
pub struct TorchvisionGooglenet {
    pub conv1: BasicConv,
    pub conv2: BasicConv,
    pub conv3: BasicConv,
    pub inception: Vec<TvInception>,
    pub pool: MaxPool2d,
    pub pool4: MaxPool2d,
    pub fc: Linear,
}

/// torchvision's module names for the nine inception modules, in order.
pub const NAMES: [&str; 9] = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"];

impl TorchvisionGooglenet {
    pub fn new(classes: usize, device: &Device) -> Self {
        let mut inputs = 192;
        let inception = TABLE1
            .iter()
            .map(|(_, c, _, _)| {
                let m = TvInception::new(inputs, *c, device);
                inputs = c[0] + c[2] + c[4] + c[5];
                m
            })
            .collect();
        Self {
            conv1: BasicConv::new(3, 64, 7, 2, device),
            conv2: BasicConv::new(64, 64, 1, 1, device),
            conv3: BasicConv::new(64, 192, 3, 1, device),
            inception,
            pool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_ceil_mode(true).init(),
            pool4: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).with_ceil_mode(true).init(),
            fc: LinearConfig::new(1024, classes).init(device),
        }
    }

    /// Key remapping from torchvision's names (`inception3a.branch4.1.conv.weight`, …).
    pub fn remap() -> Vec<(String, String)> {
        let mut r: Vec<(String, String)> = NAMES.iter().enumerate().map(|(i, n)| (format!(r"^inception{n}\."), format!("inception.{i}."))).collect();
        r.push((r"\.branch4\.1\.".into(), ".branch4_proj.".into()));
        r
    }

    pub fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        // transform_input: from ImageNet normalisation to (x - 0.5) / 0.5.
        let (mean, std) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
        let channels: Vec<Tensor<4>> = (0..3).map(|c| x.clone().narrow(1, c, 1).mul_scalar(std[c] / 0.5).add_scalar((mean[c] - 0.5) / 0.5)).collect();
        let x = Tensor::cat(channels, 1);
        let x = pool::forward(&self.pool, self.conv1.forward(x));
        let mut x = pool::forward(&self.pool, self.conv3.forward(self.conv2.forward(x)));
        for (i, m) in self.inception.iter().enumerate() {
            x = m.forward(x);
            if NAMES[i] == "3b" {
                x = pool::forward(&self.pool, x);
            } else if NAMES[i] == "4e" {
                x = pool::forward(&self.pool4, x);
            }
        }
        let [n, c, _, _] = x.dims();
        self.fc.forward(x.mean_dims(&[2, 3]).reshape([n, c]))
    }
}

impl ImageClassifier for TorchvisionGooglenet {
    fn scores(&self, images: Tensor<4>) -> Tensor<2> {
        self.logits(images)
    }
    /// One row for the whole net: it exists for torchvision's weights, not as the paper's table.
    fn tabulate(&self, input: Tensor<4>, tap: &mut Tap<'_>) {
        let out = self.logits(input);
        tap.row(LayerRow {
            name: "googlenet (torchvision)".into(),
            description: "BN after each convolution, 3×3 for 5×5, no LRN, dropout 0.2".into(),
            output: out.dims()[1..].to_vec(),
            params: trainable_params(self),
            paper_params: None,
            macs: 0,
        });
    }
    fn loss(&self, scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        cross_entropy(scores, targets)
    }
}
