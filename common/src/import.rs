//! Weights from PyTorch (`.pth`/`.pt` via burn's `PytorchStore`, or `.safetensors`) loaded into a
//! model whose tensor names follow PyTorch's after `remap` (regex → replacement, applied to the
//! file's names). Every tensor of the model must be found with its shape: a partial load is an
//! error naming what is missing. And the way back: a model written as PyTorch-layout safetensors
//! under the names the same `remap` reads ([`export_pytorch`]).

use std::path::Path;

use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};

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

/// The inverse of one name rule of a `remap` (`^features\.0\.` → `conv1.` gives `^conv1\.` →
/// `features.0.`). The rules are literal names with escaped dots, optionally anchored; anything
/// else cannot be inverted and is refused.
fn invert_rule(from: &str, to: &str) -> Result<(String, String), String> {
    let (anchor, body) = from.strip_prefix('^').map_or(("", from), |b| ("^", b));
    let mut literal = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => literal.push(chars.next().ok_or_else(|| format!("`{from}` ends in a backslash"))?),
            c if c.is_alphanumeric() || c == '_' || c == '-' => literal.push(c),
            c => return Err(format!("name rule `{from}` is not a literal name (`{c}`), so it cannot be inverted for export")),
        }
    }
    let escaped: String = to.chars().flat_map(|c| if c.is_alphanumeric() || c == '_' { vec![c] } else { vec!['\\', c] }).collect();
    Ok((format!("{anchor}{escaped}"), literal))
}

/// Writes `model` to `path` as safetensors in PyTorch's layout (Linear weights transposed, BN's
/// `gamma`/`beta` as `weight`/`bias`), its tensors named so that `remap` reads them back, i.e.
/// as PyTorch names them (torchvision's, for nets that load torchvision's weights). `metadata`
/// goes into the file's header. The file appears whole or not at all.
pub fn export_pytorch<M: Module, S: AsRef<str>>(model: &M, path: &Path, remap: &[(S, S)], metadata: &[(&str, String)]) -> Result<(), TrainError> {
    let bad = |reason: String| TrainError::Checkpoint { path: path.to_owned(), reason };
    let partial = path.with_extension("safetensors.part");
    let mut store = SafetensorsStore::from_file(&partial).with_to_adapter(BurnToPyTorchAdapter);
    for (from, to) in remap {
        let (from, to) = invert_rule(from.as_ref(), to.as_ref()).map_err(bad)?;
        store = store.with_key_remapping(from, to);
    }
    for (key, value) in metadata {
        store = store.metadata(*key, value.clone());
    }
    model.save_into(&mut store).map_err(|e| bad(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::invert_rule;

    #[test]
    fn name_rules_invert_and_non_literal_ones_are_refused() {
        assert_eq!(invert_rule(r"^features\.0\.", "conv1.").unwrap(), (r"^conv1\.".to_string(), "features.0.".to_string()));
        assert_eq!(invert_rule(r"downsample\.0\.", "downsample.conv.").unwrap(), (r"downsample\.conv\.".to_string(), "downsample.0.".to_string()));
        assert!(invert_rule(r"^layer(\d)\.", "stage$1.").is_err());
    }
}
