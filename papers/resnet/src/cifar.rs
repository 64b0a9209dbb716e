//! The CIFAR-10 networks of §4.2: a 3×3 convolution with 16 filters, then three stages of `n`
//! blocks on 32×32, 16×16 and 8×8 maps with 16, 32 and 64 filters (6n layers), global average
//! pooling and a 10-way fully connected layer: 6n + 2 weighted layers. Residual nets use
//! option A shortcuts everywhere, so they have exactly the plain nets' parameters (Figure 6).

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use repro_common::conv;
use repro_common::engine::ImageClassifier;
use repro_common::nn::BatchNorm;
use repro_common::paper::{Tap, trainable_params};

use crate::blocks::{Block, BlockSpec, BottleneckStride, ShortcutOption, bn, conv, conv_macs, pooled_classifier};
use repro_common::nn::cross_entropy;

#[derive(Module, Debug)]
pub struct CifarResnet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub layer1: Vec<Block>,
    pub layer2: Vec<Block>,
    pub layer3: Vec<Block>,
    pub fc: Linear,
}

impl CifarResnet {
    /// `n` blocks per stage (depth 6n + 2); `residual: false` gives the plain net.
    pub fn new(n: usize, residual: bool, classes: usize, device: &Device) -> Self {
        let stage = |inputs: usize, width: usize, stride: usize| -> Vec<Block> {
            (0..n)
                .map(|i| {
                    let spec = BlockSpec {
                        inputs: if i == 0 { inputs } else { width },
                        width,
                        stride: if i == 0 { stride } else { 1 },
                        bottleneck: false,
                        residual,
                        shortcut: ShortcutOption::A,
                        bottleneck_stride: BottleneckStride::First1x1,
                    };
                    Block::new(spec, device)
                })
                .collect()
        };
        Self { conv1: conv(3, 16, 3, 1, device), bn1: bn(16, device), layer1: stage(16, 16, 1), layer2: stage(16, 32, 2), layer3: stage(32, 64, 2), fc: LinearConfig::new(64, classes).init(device) }
    }

    pub fn depth(&self) -> usize {
        6 * self.layer1.len() + 2
    }

    /// Logits, noting each layer in `tap`.
    pub fn logits(&self, x: Tensor<4>, tap: &mut Tap) -> Tensor<2> {
        let mut macs = 0u64;
        let y = conv::forward(&self.conv1, x);
        macs += conv_macs(&self.conv1, &y);
        let mut x = relu(self.bn1.forward(y));
        tap.layer_macs("conv1", "conv 3×3, 16, BN, ReLU", &x, trainable_params(&self.conv1) + trainable_params(&self.bn1), None, macs);
        for (s, stage) in [&self.layer1, &self.layer2, &self.layer3].into_iter().enumerate() {
            for (i, block) in stage.iter().enumerate() {
                let mut block_macs = 0;
                x = block.forward(x, &mut block_macs);
                let width = block.conv2.weight.dims()[0];
                tap.layer_macs(&format!("layer{}.{i}", s + 1), &format!("[3×3, {width}] ×2, {}", block.shortcut_label()), &x, trainable_params(block), None, block_macs);
            }
        }
        pooled_classifier(x, &self.fc, tap)
    }
}

impl ImageClassifier for CifarResnet {
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
