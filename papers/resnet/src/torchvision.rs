//! torchvision's ResNet weights (`resnet50-0676ba61.pth`, … or a safetensors export) loaded into
//! the V1.5-variant models through burn's store. torchvision names its layers as this crate does
//! (`layer1.0.conv1.weight`, `fc.weight`, …) except for the projection shortcut, a Sequential
//! (`downsample.0` = convolution, `downsample.1` = BN) that is a struct here.

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};
use repro_common::engine::TrainError;

/// True for `.pth`/`.pt`/`.safetensors` files (checkpoints of this project are `.bpk`).
pub fn is_torchvision_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("pth" | "pt" | "safetensors"))
}

const REMAP: [(&str, &str); 2] = [(r"downsample\.0\.", "downsample.conv."), (r"downsample\.1\.", "downsample.bn.")];

/// Loads torchvision weights into `model`; every tensor of the model must be present with the
/// right shape (a V1 model accepts V1.5 weights shape-wise, so pick the `-v1.5` model for them).
pub fn load<M: Module>(mut model: M, path: &Path) -> Result<M, TrainError> {
    let bad = |reason: String| TrainError::Checkpoint { path: path.to_owned(), reason };
    let result = if path.extension().is_some_and(|e| e == "safetensors") {
        let mut store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter).allow_partial(true);
        for (from, to) in REMAP {
            store = store.with_key_remapping(from, to);
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    } else {
        let mut store = PytorchStore::from_file(path).allow_partial(true);
        for (from, to) in REMAP {
            store = store.with_key_remapping(from, to);
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    };
    let result = result.map_err(bad)?;
    // `num_batches_tracked` has no counterpart in burn's BatchNorm; anything else missing is an error.
    if !result.missing.is_empty() {
        return Err(bad(format!("tensors missing from the file: {}", result.missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "))));
    }
    if !result.errors.is_empty() {
        return Err(bad(format!("{:?}", result.errors)));
    }
    Ok(model)
}
