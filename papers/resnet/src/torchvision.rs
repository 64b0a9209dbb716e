//! torchvision's ResNet weights (`resnet50-0676ba61.pth`, … or a safetensors export) loaded into
//! the V1.5-variant models through burn's store. torchvision names its layers as this crate does
//! (`layer1.0.conv1.weight`, `fc.weight`, …) except for the projection shortcut, a Sequential
//! (`downsample.0` = convolution, `downsample.1` = BN) that is a struct here.

use std::path::Path;

use burn::module::Module;
use repro_common::engine::TrainError;

/// torchvision's Sequential indices of the projection shortcut, named as this crate's fields.
pub const REMAP: [(&str, &str); 2] = [(r"downsample\.0\.", "downsample.conv."), (r"downsample\.1\.", "downsample.bn.")];

/// Loads torchvision weights into `model`; every tensor of the model must be present with the
/// right shape (a V1 model accepts V1.5 weights shape-wise, so pick the `-v1.5` model for them).
pub fn load<M: Module>(model: M, path: &Path) -> Result<M, TrainError> {
    repro_common::import::load_pytorch(model, path, &REMAP)
}
