//! The building blocks of §3.3 and Figure 5: the basic block (two 3×3 convolutions), the
//! bottleneck block (1×1, 3×3, 1×1), and the three shortcut options of §3.3 / §4.1.
//!
//! Field names follow torchvision's `resnet.py` (`conv1`, `bn1`, …, `downsample`) so its weights
//! load with a single key remapping (`downsample.0/1` → `downsample.conv/bn`).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Device, Tensor};
use repro_common::conv;
use repro_common::nn::BatchNorm;
pub use repro_common::paper::conv_macs;
use repro_common::paper::{Tap, trainable_params};
use serde::{Deserialize, Serialize};

/// The shortcut options of §3.3 ("Identity vs. Projection Shortcuts", Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShortcutOption {
    /// Identity everywhere; where dimensions grow, stride-2 subsampling and zero-padded channels
    /// (no parameters).
    A,
    /// Projection (1×1 convolution + BN) where dimensions grow, identity elsewhere.
    B,
    /// Projection on every block.
    C,
}

/// Where a downsampling bottleneck block puts its stride of 2 (the paper does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BottleneckStride {
    /// On the first 1×1 convolution, as in the authors' released Caffe models ("V1").
    First1x1,
    /// On the 3×3 convolution, as torchvision ("V1.5"): more multiply-adds, slightly better.
    Middle3x3,
}

/// He et al. 2015 ("Delving deep into rectifiers") initialisation, which §3.4 cites [13]:
/// normal with std √(2 / fan-in).
pub fn he_normal() -> Initializer {
    Initializer::KaimingNormal { gain: 2f64.sqrt(), fan_out_only: false }
}

/// A bias-free convolution (every convolution is followed by BN, §3.4).
pub fn conv(inputs: usize, outputs: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([inputs, outputs], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .with_initializer(he_normal())
        .init(device)
}

pub fn bn(channels: usize, device: &Device) -> BatchNorm {
    BatchNorm::new(channels, device)
}

/// A projection shortcut: 1×1 convolution with the block's stride, then BN (option B/C).
#[derive(Module, Debug)]
pub struct Projection {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

/// One residual (or plain) block. A basic block has `conv3 == None`.
#[derive(Module, Debug)]
pub struct Block {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub conv3: Option<Conv2d>,
    pub bn3: Option<BatchNorm>,
    pub downsample: Option<Projection>,
    /// False for the plain nets of Figure 3 / Figure 6: no shortcut at all.
    pub residual: bool,
    pub stride: usize,
}

/// What a block is: its widths and shortcut.
#[derive(Debug, Clone, Copy)]
pub struct BlockSpec {
    pub inputs: usize,
    /// Width of the 3×3 layers (the bottleneck's `c`).
    pub width: usize,
    pub stride: usize,
    pub bottleneck: bool,
    pub residual: bool,
    pub shortcut: ShortcutOption,
    pub bottleneck_stride: BottleneckStride,
}

impl BlockSpec {
    pub fn outputs(&self) -> usize {
        if self.bottleneck { 4 * self.width } else { self.width }
    }
}

impl Block {
    pub fn new(spec: BlockSpec, device: &Device) -> Self {
        let BlockSpec { inputs, width, stride, .. } = spec;
        let outputs = spec.outputs();
        let reshapes = stride != 1 || inputs != outputs;
        let project = spec.residual
            && match spec.shortcut {
                ShortcutOption::A => false,
                ShortcutOption::B => reshapes,
                ShortcutOption::C => true,
            };
        let downsample = project.then(|| Projection { conv: conv(inputs, outputs, 1, stride, device), bn: bn(outputs, device) });
        if spec.bottleneck {
            let (s1, s3) = match spec.bottleneck_stride {
                BottleneckStride::First1x1 => (stride, 1),
                BottleneckStride::Middle3x3 => (1, stride),
            };
            Block {
                conv1: conv(inputs, width, 1, s1, device),
                bn1: bn(width, device),
                conv2: conv(width, width, 3, s3, device),
                bn2: bn(width, device),
                conv3: Some(conv(width, outputs, 1, 1, device)),
                bn3: Some(bn(outputs, device)),
                downsample,
                residual: spec.residual,
                stride,
            }
        } else {
            Block {
                conv1: conv(inputs, width, 3, stride, device),
                bn1: bn(width, device),
                conv2: conv(width, width, 3, 1, device),
                bn2: bn(width, device),
                conv3: None,
                bn3: None,
                downsample,
                residual: spec.residual,
                stride,
            }
        }
    }

    /// `relu(F(x) + shortcut(x))` (Eq. 1/2), adding the block's multiply-adds to `macs`.
    pub fn forward(&self, x: Tensor<4>, macs: &mut u64) -> Tensor<4> {
        let y = conv::forward(&self.conv1, x.clone());
        *macs += conv_macs(&self.conv1, &y);
        let y = relu(self.bn1.forward(y));
        let y2 = conv::forward(&self.conv2, y);
        *macs += conv_macs(&self.conv2, &y2);
        let mut y = self.bn2.forward(y2);
        if let (Some(conv3), Some(bn3)) = (&self.conv3, &self.bn3) {
            let y3 = conv::forward(conv3, relu(y));
            *macs += conv_macs(conv3, &y3);
            y = bn3.forward(y3);
        }
        if !self.residual {
            return relu(y);
        }
        let shortcut = match &self.downsample {
            Some(p) => {
                let s = conv::forward(&p.conv, x);
                *macs += conv_macs(&p.conv, &s);
                p.bn.forward(s)
            }
            None => zero_pad_shortcut(x, self.stride, y.dims()[1]),
        };
        relu(y + shortcut)
    }

    /// Describes the shortcut for layer tables.
    pub fn shortcut_label(&self) -> &'static str {
        match (&self.downsample, self.residual) {
            (_, false) => "no shortcut (plain)",
            (Some(_), _) => "projection shortcut",
            (None, _) if self.stride != 1 => "identity shortcut, subsampled and zero-padded (A)",
            (None, _) => "identity shortcut",
        }
    }
}

/// Option A: take every `stride`-th pixel (x[:, :, ::2, ::2]) and append zero channels up to
/// `channels`. No parameters. The zeros go after the existing channels; which channels they
/// occupy does not matter, as the residual branch's output channels are interchangeable.
pub fn zero_pad_shortcut(x: Tensor<4>, stride: usize, channels: usize) -> Tensor<4> {
    let x = if stride == 1 {
        x
    } else {
        let options = AvgPoolOptions { kernel_size: [1, 1], stride: [stride, stride], padding: [(0, 0); 2], count_include_pad: true, ceil_mode: false };
        avg_pool2d(x, options)
    };
    let [n, c, h, w] = x.dims();
    if c == channels {
        return x;
    }
    let zeros = Tensor::zeros([n, channels - c, h, w], &x.device());
    Tensor::cat(vec![x, zeros], 1)
}

/// The head of both families: global average pooling, then the fully connected classifier
/// (§3.4, §4.2); softmax is in the loss.
pub fn pooled_classifier(x: Tensor<4>, fc: &Linear, tap: &mut Tap) -> Tensor<2> {
    let [batch, channels, _, _] = x.dims();
    let x = x.mean_dims(&[2, 3]).reshape([batch, channels]);
    tap.layer_macs("avgpool", "global average pool", &x, 0, None, 0);
    let y = fc.forward(x);
    let classes = y.dims()[1];
    tap.layer_macs("fc", &format!("fully connected, {classes} (softmax in the loss)"), &y, trainable_params(fc), None, (channels * classes) as u64);
    y
}
