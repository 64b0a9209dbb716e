//! The download cache and the verified reading of a registry dataset's files: from the cache
//! (downloaded when missing) or from a local folder, each checked against the registry's SHA-256
//! before it is used.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::download::download_verified;
use super::error::ChecksumMismatch;
use super::{DataError, DatasetSpec, FileSpec, idx, sha256_hex};

/// Environment variable that overrides the download cache directory.
pub const CACHE_ENV: &str = "REPRO_DATA_CACHE";

/// The download cache: `$REPRO_DATA_CACHE`, else `$XDG_CACHE_HOME/repro/datasets`, else
/// `~/.cache/repro/datasets`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache"))).unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("repro").join("datasets")
}

pub(super) fn gunzip_if_needed(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| DataError::Corrupt { path: path.to_owned(), reason: format!("the gzip stream is damaged or truncated ({e})") })?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Accepts a file whose gzip bytes match the published checksum, or whose decompressed content
/// matches the raw checksum (a re-compressed or unpacked copy).
pub(super) fn verify(spec: &DatasetSpec, f: &FileSpec, path: &Path, file_bytes: &[u8], raw: &[u8]) -> Result<(), DataError> {
    if sha256_hex(file_bytes) == f.gz_sha256 {
        return Ok(());
    }
    let found = sha256_hex(raw);
    if found == f.raw_sha256 {
        return Ok(());
    }
    Err(DataError::Checksum(Box::new(ChecksumMismatch {
        path: path.to_owned(),
        dataset: spec.name.to_owned(),
        name: f.name.to_owned(),
        expected: f.gz_sha256.to_owned(),
        expected_raw: f.raw_sha256.to_owned(),
        found,
    })))
}

pub(super) fn read_verified(spec: &DatasetSpec, path: &Path, f: &FileSpec) -> Result<(PathBuf, Vec<u8>), DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_owned(), source })?;
    let raw = gunzip_if_needed(&bytes, path)?;
    // Parse before checking the checksum so that a truncated file says "truncated", which is
    // more useful than "checksum mismatch".
    if f.name.contains("idx3") {
        idx::parse_images(&raw, path)?;
    } else {
        idx::parse_labels(&raw, path)?;
    }
    verify(spec, f, path, &bytes, &raw)?;
    Ok((path.to_owned(), raw))
}

pub(super) fn read_from_dir(spec: &DatasetSpec, dir: &Path, f: &FileSpec) -> Result<(PathBuf, Vec<u8>), DataError> {
    let unpacked = f.name.trim_end_matches(".gz");
    let candidates = [dir.join(f.name), dir.join(unpacked)];
    match candidates.iter().find(|p| p.is_file()) {
        Some(path) => read_verified(spec, path, f),
        None => Err(missing(spec, dir, f)),
    }
}

fn missing(spec: &DatasetSpec, dir: &Path, f: &FileSpec) -> DataError {
    DataError::Missing {
        dir: dir.to_owned(),
        dataset: spec.name.to_owned(),
        name: f.name.to_owned(),
        expected: spec.files().iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
        mirrors: if spec.mirrors.is_empty() { "the repository (common/data/)".into() } else { spec.mirrors.join(" or ") },
    }
}

/// Makes sure a verified copy of `f` is in `dir`, downloading it when needed. A download goes to
/// a temporary file in the same folder, is verified, and only then renamed into place, so an
/// interrupted or corrupt download never leaves a file that looks complete.
pub fn ensure_cached(spec: &DatasetSpec, dir: &Path, f: &FileSpec) -> Result<PathBuf, DataError> {
    let path = dir.join(f.name);
    if path.is_file() {
        return Ok(path);
    }
    if spec.mirrors.is_empty() {
        return Err(missing(spec, dir, f));
    }
    let urls: Vec<String> = spec.mirrors.iter().map(|m| format!("{m}{}", f.name)).collect();
    download_verified(&urls, &path, spec.name, f.name, |got| if got.sha256 == f.gz_sha256 { Ok(()) } else { Err(format!("checksum {} instead of {}", got.sha256, f.gz_sha256)) })?;
    Ok(path)
}
