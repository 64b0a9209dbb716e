//! What can go wrong with a dataset, each error naming the file, the dataset or the split.

use std::path::PathBuf;

use super::dataset_names;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("unknown dataset `{0}`; known datasets: {known}", known = dataset_names().join(", "))]
    UnknownDataset(String),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid IDX file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    Checksum(Box<ChecksumMismatch>),
    #[error("{name} was not found in {dir}\n  expected the four files {expected} (gzip or decompressed without `.gz`)\n  fetch them with `harness fetch {dataset}` or download them from {mirrors}")]
    Missing { dir: PathBuf, dataset: String, name: String, expected: String, mirrors: String },
    #[error("could not download {name} of {dataset}: {attempts}\n  on a machine without network, download the files elsewhere and pass `--data-dir DIR`")]
    Download { dataset: String, name: String, attempts: String },
    #[error("{what}: labels and images disagree ({images} images, {labels} labels)")]
    Mismatch { what: String, images: usize, labels: usize },
    #[error("split `{split}` is not in dataset {dataset}: {reason}")]
    Split { dataset: String, split: String, reason: String },
    #[error("{0}")]
    Unavailable(String),
}

/// A file whose checksum is not the registry's (boxed in [`DataError`], which stays small).
#[derive(Debug, thiserror::Error)]
#[error(
    "{path} does not match the registry checksum for {name}\n  expected SHA-256 {expected} (gzip) or {expected_raw} (decompressed)\n  found    SHA-256 {found} (decompressed)\n  the file is damaged or is a different dataset; delete it and download it again (`harness fetch {dataset}`)"
)]
pub struct ChecksumMismatch {
    pub path: PathBuf,
    pub dataset: String,
    pub name: String,
    pub expected: String,
    pub expected_raw: String,
    pub found: String,
}
