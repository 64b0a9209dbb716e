//! The commands with more than a few lines of their own; the rest are in main.rs's `run`.

pub mod bench;
pub mod migrate;
pub mod replay;
pub mod smoke;

use std::path::PathBuf;

use anyhow::{Result, bail};
use repro_common::records;

/// Every run directory under each of `paths` (a run directory itself, or a folder above runs),
/// in order; an error naming a path that holds none.
pub fn run_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut runs = Vec::new();
    for p in paths {
        let found = if p.join("manifest.yaml").is_file() { vec![p.clone()] } else { records::find_runs(p) };
        if found.is_empty() {
            bail!("{} holds no run record (manifest.yaml)", p.display());
        }
        runs.extend(found);
    }
    Ok(runs)
}
