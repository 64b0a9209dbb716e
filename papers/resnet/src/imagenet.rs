//! The ImageNet networks of Table 1: a 7×7/2 convolution with 64 filters and a 3×3/2 max-pool,
//! four stages (conv2_x … conv5_x) of basic blocks (18, 34 layers) or bottleneck blocks (50, 101,
//! 152 layers) on 56, 28, 14 and 7-pixel maps, global average pooling and a 1000-way fully
//! connected layer. conv3_1, conv4_1 and conv5_1 downsample with stride 2.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use repro_common::conv;
use repro_common::engine::ImageClassifier;
use repro_common::nn::BatchNorm;
use repro_common::paper::{Tap, narrowed, trainable_params};
use repro_common::pool;

use crate::blocks::{Block, BlockSpec, BottleneckStride, ShortcutOption, bn, conv, conv_macs, pooled_classifier};
use repro_common::nn::cross_entropy;

/// One column of Table 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Architecture {
    pub depth: usize,
    pub blocks: [usize; 4],
    pub bottleneck: bool,
    /// Table 1's "FLOPs" row (multiply-adds, ×10⁹).
    pub paper_gmacs: f64,
}

pub const TABLE1: [Architecture; 5] = [
    Architecture { depth: 18, blocks: [2, 2, 2, 2], bottleneck: false, paper_gmacs: 1.8 },
    Architecture { depth: 34, blocks: [3, 4, 6, 3], bottleneck: false, paper_gmacs: 3.6 },
    Architecture { depth: 50, blocks: [3, 4, 6, 3], bottleneck: true, paper_gmacs: 3.8 },
    Architecture { depth: 101, blocks: [3, 4, 23, 3], bottleneck: true, paper_gmacs: 7.6 },
    Architecture { depth: 152, blocks: [3, 8, 36, 3], bottleneck: true, paper_gmacs: 11.3 },
];

pub fn architecture(depth: usize) -> Option<Architecture> {
    TABLE1.into_iter().find(|a| a.depth == depth)
}

#[derive(Module, Debug)]
pub struct ImagenetResnet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub maxpool: MaxPool2d,
    pub layer1: Vec<Block>,
    pub layer2: Vec<Block>,
    pub layer3: Vec<Block>,
    pub layer4: Vec<Block>,
    pub fc: Linear,
}

/// What to build: a Table 1 column, plain or residual, a shortcut option and a stride placement.
#[derive(Debug, Clone, Copy)]
pub struct ImagenetSpec {
    pub architecture: Architecture,
    pub residual: bool,
    pub shortcut: ShortcutOption,
    pub bottleneck_stride: BottleneckStride,
    pub classes: usize,
    /// conv1's 64 filters and each stage's width (64, 128, 256, 512) scaled by this: the `width`
    /// model option; 1 is Table 1's net.
    pub width: f64,
}

impl ImagenetResnet {
    pub fn new(spec: ImagenetSpec, device: &Device) -> Self {
        let arch = spec.architecture;
        let base = narrowed(64, spec.width, 1);
        let mut inputs = base;
        let mut stage = |s: usize| -> Vec<Block> {
            let width = narrowed(64 << s, spec.width, 1);
            (0..arch.blocks[s])
                .map(|i| {
                    let block = BlockSpec {
                        inputs,
                        width,
                        stride: if i == 0 && s > 0 { 2 } else { 1 },
                        bottleneck: arch.bottleneck,
                        residual: spec.residual,
                        shortcut: spec.shortcut,
                        bottleneck_stride: spec.bottleneck_stride,
                    };
                    inputs = block.outputs();
                    Block::new(block, device)
                })
                .collect()
        };
        let (layer1, layer2, layer3, layer4) = (stage(0), stage(1), stage(2), stage(3));
        Self {
            conv1: conv(3, base, 7, 2, device),
            bn1: bn(base, device),
            maxpool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(),
            layer1,
            layer2,
            layer3,
            layer4,
            fc: LinearConfig::new(inputs, spec.classes).init(device),
        }
    }

    pub fn logits(&self, x: Tensor<4>, tap: &mut Tap) -> Tensor<2> {
        let y = conv::forward(&self.conv1, x);
        let macs = conv_macs(&self.conv1, &y);
        let x = relu(self.bn1.forward(y));
        tap.layer_macs("conv1", "conv 7×7, 64, stride 2, BN, ReLU", &x, trainable_params(&self.conv1) + trainable_params(&self.bn1), None, macs);
        let mut x = pool::forward(&self.maxpool, x);
        tap.layer_macs("maxpool", "max-pool 3×3, stride 2", &x, 0, None, 0);
        for (s, stage) in [&self.layer1, &self.layer2, &self.layer3, &self.layer4].into_iter().enumerate() {
            for (i, block) in stage.iter().enumerate() {
                let mut block_macs = 0;
                x = block.forward(x, &mut block_macs);
                let width = block.conv2.weight.dims()[0];
                let shape = if block.conv3.is_some() { format!("[1×1, {width}; 3×3, {width}; 1×1, {}]", 4 * width) } else { format!("[3×3, {width}] ×2") };
                let stride = if block.stride != 1 { ", stride 2" } else { "" };
                tap.layer_macs(&format!("conv{}_{}", s + 2, i + 1), &format!("{shape}{stride}, {}", block.shortcut_label()), &x, trainable_params(block), None, block_macs);
            }
        }
        pooled_classifier(x, &self.fc, tap)
    }
}

impl ImageClassifier for ImagenetResnet {
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
