//! The IDX format of MNIST and Fashion-MNIST (LeCun's `idx3-ubyte` / `idx1-ubyte`), gzip-compressed
//! or raw, and the loading of a registry dataset stored in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::cache::{cache_dir, ensure_cached, gunzip_if_needed, read_from_dir, read_verified, verify};
use super::{DataError, DataSource, Dataset, FileSpec, ImageSet, Images, dataset, sha256_hex};

const MAGIC_IMAGES: u32 = 0x0000_0803; // unsigned byte, 3 dimensions
const MAGIC_LABELS: u32 = 0x0000_0801; // unsigned byte, 1 dimension

fn header(bytes: &[u8], path: &Path, words: usize, magic: u32, kind: &str) -> Result<Vec<u32>, DataError> {
    // The magic number first: a file of the wrong kind should say so, whatever its length.
    if bytes.len() >= 4 {
        let found = u32::from_be_bytes(bytes[..4].try_into().unwrap());
        if found != magic {
            return Err(DataError::Corrupt { path: path.to_owned(), reason: format!("magic number {found:#010x}, expected {magic:#010x} (an {kind} file)") });
        }
    }
    if bytes.len() < 4 * words {
        return Err(DataError::Corrupt { path: path.to_owned(), reason: format!("{} bytes is too short for an IDX header of {} bytes", bytes.len(), 4 * words) });
    }
    Ok((0..words).map(|i| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap())).collect())
}

/// Images of an `idx3-ubyte` file: `(count, rows, cols, pixels)`, pixels row-major.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let h = header(bytes, path, 4, MAGIC_IMAGES, "idx3-ubyte image")?;
    let (n, rows, cols) = (h[1] as usize, h[2] as usize, h[3] as usize);
    let expected = 16 + n * rows * cols;
    if bytes.len() != expected {
        return Err(DataError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "the header announces {n} images of {rows}x{cols} ({expected} bytes) but the file has {} bytes{}",
                bytes.len(),
                if bytes.len() < expected { ": it is truncated" } else { "" }
            ),
        });
    }
    Ok((n, rows, cols, bytes[16..].to_vec()))
}

/// Labels of an `idx1-ubyte` file.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    let h = header(bytes, path, 2, MAGIC_LABELS, "idx1-ubyte label")?;
    let n = h[1] as usize;
    if bytes.len() != 8 + n {
        return Err(DataError::Corrupt { path: path.to_owned(), reason: format!("the header announces {n} labels but the file has {} bytes after the header", bytes.len() - 8) });
    }
    Ok(bytes[8..].to_vec())
}

/// Writes IDX files (used by tests and by anyone preparing a subset by hand).
pub fn encode_images(rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let n = pixels.len() / (rows * cols);
    let mut out = Vec::with_capacity(16 + pixels.len());
    for w in [MAGIC_IMAGES, n as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// See [`encode_images`].
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    for w in [MAGIC_LABELS, labels.len() as u32] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out.extend_from_slice(labels);
    out
}

/// Reads one registry file, verified: `(where it was read, its bytes)`.
type FileReader<'a> = Box<dyn FnMut(&FileSpec) -> Result<(PathBuf, Vec<u8>), DataError> + 'a>;

/// Loads an IDX dataset of the registry (MNIST, Fashion-MNIST, the bundled sample) from `source`,
/// verifying every file.
pub(super) fn load_dataset(name: &str, source: &DataSource) -> Result<Dataset, DataError> {
    let spec = dataset(name).ok_or_else(|| DataError::UnknownDataset(name.to_owned()))?;
    let mut checksums = BTreeMap::new();
    let (origin, mut get): (String, FileReader) = match source {
        DataSource::Dir(dir) => (dir.display().to_string(), Box::new(move |f: &FileSpec| read_from_dir(spec, dir, f))),
        DataSource::Auto => match spec.embedded {
            Some(files) => (
                "embedded in the binary".into(),
                Box::new(move |f: &FileSpec| {
                    let bytes = files.iter().find(|(n, _)| *n == f.name).map(|(_, b)| *b).expect("embedded file list matches spec");
                    let path = PathBuf::from(format!("<embedded {}>/{}", spec.name, f.name));
                    let raw = gunzip_if_needed(bytes, &path)?;
                    verify(spec, f, &path, bytes, &raw)?;
                    Ok((path, raw))
                }),
            ),
            None => {
                let dir = cache_dir().join(spec.name);
                (
                    dir.display().to_string(),
                    Box::new(move |f: &FileSpec| {
                        let path = ensure_cached(spec, &dir, f)?;
                        read_verified(spec, &path, f)
                    }),
                )
            }
        },
    };
    let mut split = |images: FileSpec, labels: FileSpec, checksums: &mut BTreeMap<String, String>| -> Result<ImageSet, DataError> {
        let (ipath, ibytes) = get(&images)?;
        let (lpath, lbytes) = get(&labels)?;
        checksums.insert(images.name.to_owned(), sha256_hex(&ibytes));
        checksums.insert(labels.name.to_owned(), sha256_hex(&lbytes));
        let (n, rows, cols, pixels) = parse_images(&ibytes, &ipath)?;
        let labels = parse_labels(&lbytes, &lpath)?;
        if labels.len() != n {
            return Err(DataError::Mismatch { what: format!("{} / {}", ipath.display(), lpath.display()), images: n, labels: labels.len() });
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= spec.class_names.len()) {
            return Err(DataError::Corrupt { path: lpath, reason: format!("label {bad} is outside 0..{}", spec.class_names.len()) });
        }
        Ok(ImageSet { pixels, labels, rows, cols, channels: 1 })
    };
    let train = split(spec.train_images, spec.train_labels, &mut checksums)?;
    let test = split(spec.test_images, spec.test_labels, &mut checksums)?;
    Ok(Dataset {
        name: spec.name.into(),
        class_names: spec.class_names.iter().map(|s| s.to_string()).collect(),
        official_test_split: spec.official_test_split,
        images: Images::InMemory { train, test },
        checksums,
        origin,
    })
}
