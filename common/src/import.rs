//! Weights from PyTorch (`.pth`/`.pt` via burn's `PytorchStore`, or `.safetensors`) loaded into a
//! model whose tensor names follow PyTorch's after `remap` (regex → replacement, applied to the
//! file's names). Every tensor of the model must be found with its shape: a partial load is an
//! error naming what is missing.

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};

use crate::engine::TrainError;

/// True for `.pth`/`.pt`/`.safetensors` files (this project's checkpoints are `.bpk`).
pub fn is_pytorch_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("pth" | "pt" | "safetensors"))
}

pub fn load_pytorch<M: Module, S: AsRef<str>>(mut model: M, path: &Path, remap: &[(S, S)]) -> Result<M, TrainError> {
    let bad = |reason: String| TrainError::Checkpoint { path: path.to_owned(), reason };
    let result = if path.extension().is_some_and(|e| e == "safetensors") {
        let mut store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter).allow_partial(true);
        for (from, to) in remap {
            store = store.with_key_remapping(from.as_ref(), to.as_ref());
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    } else {
        let mut store = PytorchStore::from_file(path).allow_partial(true);
        for (from, to) in remap {
            store = store.with_key_remapping(from.as_ref(), to.as_ref());
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    };
    let result = result.map_err(bad)?;
    // PyTorch's BN `num_batches_tracked` has no counterpart in burn; anything the model lacks is an error.
    if !result.missing.is_empty() {
        return Err(bad(format!("tensors missing from the file: {}", result.missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "))));
    }
    if !result.errors.is_empty() {
        return Err(bad(format!("{:?}", result.errors)));
    }
    Ok(model)
}

/// Weights for evaluation: this project's checkpoint (`.bpk`), or PyTorch's file through `remap`.
pub fn load_weights_or_pytorch<M: Module, S: AsRef<str>>(model: M, path: &Path, remap: &[(S, S)]) -> Result<M, TrainError> {
    if is_pytorch_file(path) { load_pytorch(model, path, remap) } else { crate::engine::load_weights(model, path) }
}
