//! Reader for the IDX format of MNIST and Fashion-MNIST (LeCun's `idx3-ubyte` / `idx1-ubyte`),
//! gzip-compressed or raw.

use std::path::Path;

use super::DataError;

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
