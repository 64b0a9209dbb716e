//! CIFAR-10 and CIFAR-100 in their binary formats (Krizhevsky 2009, "Learning multiple layers of
//! features from tiny images"; <https://www.cs.toronto.edu/~kriz/cifar.html>).
//!
//! A CIFAR-10 record is 1 label byte and 3,072 pixel bytes (the red, green and blue 32×32 planes,
//! row-major); a CIFAR-100 record has a coarse and a fine label byte first. The archives are
//! verified against the MD5 sums the dataset's page publishes (it publishes no SHA-256); the
//! SHA-256 of every file read goes into the run manifest.
//!
//! `cifar10` / `cifar100` insist on the official files and sizes; `cifar10-layout` /
//! `cifar100-layout` read any files in the same layout (small test sets, other corpora).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::{DataError, Dataset, ImageSet, Images, cache_dir, download_verified, sha256_hex};

pub struct CifarSpec {
    pub name: &'static str,
    pub official: bool,
    pub archive: &'static str,
    pub archive_md5: &'static str,
    pub url: &'static str,
    /// Folder inside the archive.
    pub folder: &'static str,
    pub train_files: &'static [&'static str],
    pub test_file: &'static str,
    /// Label bytes before the pixels; the last one is the label used.
    pub label_bytes: usize,
    pub classes: usize,
    pub train_size: usize,
    pub test_size: usize,
}

const CIFAR10_TRAIN: &[&str] = &["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

pub const CIFAR10: CifarSpec = CifarSpec {
    name: "cifar10",
    official: true,
    archive: "cifar-10-binary.tar.gz",
    archive_md5: "c32a1d4ab5d03f1284b67883e8d87530",
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    folder: "cifar-10-batches-bin",
    train_files: CIFAR10_TRAIN,
    test_file: "test_batch.bin",
    label_bytes: 1,
    classes: 10,
    train_size: 50_000,
    test_size: 10_000,
};

pub const CIFAR100: CifarSpec = CifarSpec {
    name: "cifar100",
    official: true,
    archive: "cifar-100-binary.tar.gz",
    archive_md5: "03b5dce01913d631647c71ecec9e9cb8",
    url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    folder: "cifar-100-binary",
    train_files: &["train.bin"],
    test_file: "test.bin",
    label_bytes: 2,
    classes: 100,
    train_size: 50_000,
    test_size: 10_000,
};

pub const CIFAR10_LAYOUT: CifarSpec = CifarSpec { name: "cifar10-layout", official: false, ..CIFAR10 };
pub const CIFAR100_LAYOUT: CifarSpec = CifarSpec { name: "cifar100-layout", official: false, ..CIFAR100 };

pub const CIFAR_DATASETS: [&CifarSpec; 4] = [&CIFAR10, &CIFAR100, &CIFAR10_LAYOUT, &CIFAR100_LAYOUT];

pub const CIFAR10_CLASSES: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

pub fn spec(name: &str) -> Option<&'static CifarSpec> {
    CIFAR_DATASETS.into_iter().find(|s| s.name == name)
}

const PIXELS: usize = 3 * 32 * 32;

/// Parses one binary batch file.
pub fn parse_batch(bytes: &[u8], path: &Path, spec: &CifarSpec) -> Result<ImageSet, DataError> {
    let record = spec.label_bytes + PIXELS;
    if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
        return Err(DataError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "{} bytes is not a whole number of {record}-byte records ({} label byte(s) + 3,072 pixels); the file is truncated or not a {} binary batch",
                bytes.len(),
                spec.label_bytes,
                spec.name
            ),
        });
    }
    let n = bytes.len() / record;
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (i, r) in bytes.chunks_exact(record).enumerate() {
        let label = r[spec.label_bytes - 1];
        if label as usize >= spec.classes {
            return Err(DataError::Corrupt { path: path.to_owned(), reason: format!("record {i} has label {label}, outside 0..{}", spec.classes) });
        }
        labels.push(label);
        pixels.extend_from_slice(&r[spec.label_bytes..]);
    }
    Ok(ImageSet { pixels, labels, rows: 32, cols: 32, channels: 3 })
}

fn md5_hex(bytes: &[u8]) -> String {
    let mut h = Md5::new();
    h.update(bytes);
    format!("{:x}", h.finalize())
}

/// Reads the batch files of `spec` out of a `.tar.gz` archive.
fn files_from_archive(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, Vec<u8>>, DataError> {
    let corrupt = |e: std::io::Error| DataError::Corrupt { path: path.to_owned(), reason: format!("the archive is damaged or truncated ({e})") };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = BTreeMap::new();
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let name = entry.path().map_err(corrupt)?.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".bin") {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(corrupt)?;
            files.insert(name, data);
        }
    }
    Ok(files)
}

fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io { path: path.to_owned(), source })
}

/// Where the batch files are: an archive or the unpacked files in `dir` (or its `folder`).
fn files_from_dir(dir: &Path, spec: &CifarSpec) -> Result<(BTreeMap<String, Vec<u8>>, PathBuf), DataError> {
    let archive = dir.join(spec.archive);
    if archive.is_file() {
        let bytes = read(&archive)?;
        check_archive(&bytes, &archive, spec)?;
        return Ok((files_from_archive(&bytes, &archive)?, archive));
    }
    for folder in [dir.join(spec.folder), dir.to_owned()] {
        if folder.join(spec.test_file).is_file() {
            let mut files = BTreeMap::new();
            for name in spec.train_files.iter().chain([&spec.test_file]) {
                files.insert(name.to_string(), read(&folder.join(name))?);
            }
            return Ok((files, folder));
        }
    }
    Err(DataError::Missing {
        dir: dir.to_owned(),
        dataset: spec.name.into(),
        name: spec.test_file.into(),
        expected: format!("{} or the unpacked {} ({}, {})", spec.archive, spec.folder, spec.train_files.join(", "), spec.test_file),
        mirrors: spec.url.into(),
    })
}

fn check_archive(bytes: &[u8], path: &Path, spec: &CifarSpec) -> Result<(), DataError> {
    if !spec.official {
        return Ok(());
    }
    let found = md5_hex(bytes);
    if found == spec.archive_md5 {
        return Ok(());
    }
    Err(DataError::Corrupt {
        path: path.to_owned(),
        reason: format!("MD5 {found} does not match the published {} of {}; delete it and download it again (`harness fetch {}`)", spec.archive_md5, spec.archive, spec.name),
    })
}

/// The cached archive, downloaded (and MD5-checked) when missing.
pub fn fetch(spec: &CifarSpec) -> Result<PathBuf, DataError> {
    let path = cache_dir().join(spec.name).join(spec.archive);
    if !path.is_file() {
        download_verified(
            &[spec.url.to_string()],
            &path,
            spec.name,
            spec.archive,
            |got| {
                if got.md5 == spec.archive_md5 { Ok(()) } else { Err(format!("MD5 {} instead of {}", got.md5, spec.archive_md5)) }
            },
        )?;
    }
    Ok(path)
}

pub fn load(spec: &'static CifarSpec, dir: Option<&Path>) -> Result<Dataset, DataError> {
    let (files, origin) = match dir {
        Some(dir) => files_from_dir(dir, spec)?,
        None => {
            let archive = fetch(spec)?;
            files_from_dir(archive.parent().expect("cache file has a folder"), spec)?
        }
    };
    let mut checksums = BTreeMap::new();
    let mut part = |names: &[&str]| -> Result<ImageSet, DataError> {
        let mut sets = Vec::new();
        for name in names {
            let path = origin.join(name);
            let bytes = files.get(*name).ok_or_else(|| DataError::Missing {
                dir: origin.clone(),
                dataset: spec.name.into(),
                name: name.to_string(),
                expected: spec.train_files.iter().chain([&spec.test_file]).copied().collect::<Vec<_>>().join(", "),
                mirrors: spec.url.into(),
            })?;
            checksums.insert(name.to_string(), sha256_hex(bytes));
            sets.push(parse_batch(bytes, &path, spec)?);
        }
        Ok(ImageSet::concat(sets))
    };
    let train = part(spec.train_files)?;
    let test = part(&[spec.test_file])?;
    if spec.official && (train.len(), test.len()) != (spec.train_size, spec.test_size) {
        return Err(DataError::Corrupt {
            path: origin,
            reason: format!(
                "{} has {} training and {} test images, not the official {} and {}; use `{}-layout` for other files in this format",
                spec.name,
                train.len(),
                test.len(),
                spec.train_size,
                spec.test_size,
                spec.name
            ),
        });
    }
    let class_names = if spec.classes == 10 { CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect() } else { (0..spec.classes).map(|i| format!("class {i}")).collect() };
    Ok(Dataset { name: spec.name.into(), class_names, official_test_split: spec.official, images: Images::InMemory { train, test }, checksums, origin: origin.display().to_string() })
}

/// Writes CIFAR-10 binary batches (tests, the GPU smoke check) (`data_batch_1..5.bin`, `test_batch.bin`) into `dir`: records
/// of 1 label byte and 3,072 pixels (R, G, B planes). Each class is a learnable pattern: a
/// class-specific colour in a class-specific quadrant-and-stripe layout, plus noise, so short
/// trainings have something to find. `per_batch` records per training batch file.
pub fn write_pattern_batches(dir: &Path, per_batch: usize, test: usize, seed: u64) -> std::io::Result<()> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut record = |label: u8| -> Vec<u8> {
        let mut r = vec![label];
        let hue = [[230u8, 40, 40], [40, 230, 40], [40, 40, 230], [230, 230, 40], [230, 40, 230], [40, 230, 230], [240, 240, 240], [120, 60, 20], [20, 60, 120], [90, 90, 90]][label as usize];
        for (c, &h) in hue.iter().enumerate() {
            for y in 0..32usize {
                for x in 0..32usize {
                    let inside = match label % 5 {
                        0 => y < 16,
                        1 => x < 16,
                        2 => (x + y) % 8 < 4,
                        3 => (x / 4) % 2 == 0,
                        _ => (y / 4) % 2 == 0,
                    };
                    let base = if inside { h as i32 } else { 128 - (c as i32 * 20) };
                    r.push((base + rng.random_range(-40..=40)).clamp(0, 255) as u8);
                }
            }
        }
        r
    };
    let mut n = 0usize;
    let mut batch = |count: usize| -> Vec<u8> {
        let mut bytes = Vec::new();
        for _ in 0..count {
            bytes.extend(record((n % 10) as u8));
            n += 1;
        }
        bytes
    };
    std::fs::create_dir_all(dir)?;
    for i in 1..=5 {
        std::fs::write(dir.join(format!("data_batch_{i}.bin")), batch(per_batch))?;
    }
    std::fs::write(dir.join("test_batch.bin"), batch(test))
}
