//! Datasets: registry, verified download with a cache, local folders, IDX parsing, batching.

pub mod augment;
pub mod cifar;
pub mod idx;
pub mod imagenet;
pub mod registry;
pub mod source;
pub mod text;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use registry::{DATASETS, DatasetSpec, FileSpec, dataset};

/// Environment variable that overrides the download cache directory.
pub const CACHE_ENV: &str = "REPRO_DATA_CACHE";

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

/// A dataset's (training, evaluation) sources.
pub type SourcePair = (Box<dyn source::ImageSource>, Box<dyn source::ImageSource>);

/// Reads one registry file, verified: `(where it was read, its bytes)`.
type FileReader<'a> = Box<dyn FnMut(&FileSpec) -> Result<(PathBuf, Vec<u8>), DataError> + 'a>;

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

/// True when `harness fetch` can download the dataset (ImageNet's licence needs an account).
pub fn downloadable(name: &str) -> bool {
    name != imagenet::NAME && name != imagenet::NAME_2010 && dataset(name).is_none_or(|d| d.embedded.is_none() && !d.mirrors.is_empty()) && !name.ends_with("-layout")
}

/// Every dataset name `load` accepts.
pub fn dataset_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
    names.extend(cifar::CIFAR_DATASETS.iter().map(|d| d.name));
    names.push(imagenet::NAME);
    names.push(imagenet::NAME_2010);
    names
}

/// Where dataset files come from.
#[derive(Debug, Clone, Default)]
pub enum DataSource {
    /// Embedded copy when the dataset has one, else the verified download cache.
    #[default]
    Auto,
    /// A folder prepared by hand (offline machines).
    Dir(PathBuf),
}

/// Images (`u8` pixels, channel planes of row-major rows) and labels of one split.
#[derive(Debug, Clone)]
pub struct ImageSet {
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
    pub rows: usize,
    pub cols: usize,
    pub channels: usize,
}

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// The first `n` items (the whole set when `n` is larger).
    pub fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * self.image_size());
        self
    }
    /// Items `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> Self {
        let s = self.image_size();
        Self { pixels: self.pixels[start * s..end * s].to_vec(), labels: self.labels[start..end].to_vec(), rows: self.rows, cols: self.cols, channels: self.channels }
    }
    /// Each grey image repeated into `channels` identical planes.
    pub fn repeated_channels(self, channels: usize) -> Self {
        let plane = self.rows * self.cols;
        let pixels = self.pixels.chunks(plane).flat_map(|p| std::iter::repeat_n(p, channels).flatten().copied()).collect();
        Self { pixels, channels, ..self }
    }
    /// The sets one after another (all of the same shape).
    pub fn concat(sets: Vec<Self>) -> Self {
        let mut iter = sets.into_iter();
        let mut all = iter.next().expect("at least one set");
        for s in iter {
            all.pixels.extend(s.pixels);
            all.labels.extend(s.labels);
        }
        all
    }
    pub fn image_size(&self) -> usize {
        self.channels * self.rows * self.cols
    }
    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.image_size();
        &self.pixels[i * s..(i + 1) * s]
    }
}

/// Where a dataset's images live.
#[derive(Debug, Clone)]
pub enum Images {
    /// Decoded in memory (MNIST, Fashion-MNIST, CIFAR).
    InMemory { train: ImageSet, test: ImageSet },
    /// A folder of JPEGs decoded on the fly (ImageNet).
    Folder(Arc<imagenet::ImageFolder>),
}

/// A dataset loaded and verified, with the checksums that go into the run manifest.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub class_names: Vec<String>,
    /// True when `test` is the official test split (false for the bundled sample).
    pub official_test_split: bool,
    pub images: Images,
    /// File name -> SHA-256 of its decompressed content.
    pub checksums: BTreeMap<String, String>,
    /// Human-readable origin: "embedded", a folder, or the cache.
    pub origin: String,
}

impl Dataset {
    /// An in-memory split by name: `train`, `test`, or a range of one, `train[45000:]`,
    /// `train[:45000]` (the paper's 45k/5k train/validation split of CIFAR-10).
    pub fn split(&self, name: &str) -> Result<ImageSet, DataError> {
        let bad = |reason: String| DataError::Split { dataset: self.name.clone(), split: name.into(), reason };
        let Images::InMemory { train, test } = &self.images else {
            return Err(bad("this dataset is read from a folder; use `Dataset::source`".into()));
        };
        let (base, range) = match name.split_once('[') {
            Some((base, rest)) => (base, Some(rest.strip_suffix(']').ok_or_else(|| bad("a range is written `train[start:end]`".into()))?)),
            None => (name, None),
        };
        let set = match base {
            "train" => train,
            "test" => test,
            _ => return Err(bad("the splits are `train` and `test`, optionally with a range such as `train[:45000]`".into())),
        };
        let Some(range) = range else { return Ok(set.clone()) };
        let (a, b) = range.split_once(':').ok_or_else(|| bad("a range is written `[start:end]`".into()))?;
        let parse = |t: &str, default: usize| -> Result<usize, DataError> { if t.trim().is_empty() { Ok(default) } else { t.trim().parse().map_err(|_| bad(format!("`{t}` is not a number"))) } };
        let (a, b) = (parse(a, 0)?, parse(b, set.len())?);
        if a >= b || b > set.len() {
            return Err(bad(format!("the range {a}..{b} is empty or beyond the split's {} items", set.len())));
        }
        Ok(set.slice(a, b))
    }

    /// Number of items in a split (without copying it).
    pub fn split_len(&self, name: &str) -> usize {
        match &self.images {
            Images::InMemory { train, test } => match name {
                "train" => train.len(),
                "test" => test.len(),
                _ => self.split(name).map(|s| s.len()).unwrap_or(0),
            },
            Images::Folder(f) => f.split_len(name),
        }
    }

    /// The training and evaluation sources of `data`: its splits with its preprocessing (the
    /// mean, when subtracted, comes from the training split).
    pub fn sources(&self, data: &crate::config::DataConfig) -> Result<SourcePair, DataError> {
        let classes = self.class_names.len();
        match &self.images {
            Images::InMemory { .. } => {
                let limit = |set: ImageSet, n: Option<usize>| match n {
                    Some(n) => set.truncated(n),
                    None => set,
                };
                let rgb = |set: ImageSet| -> Result<ImageSet, DataError> {
                    match (data.preprocess.grey_to_rgb, set.channels) {
                        (false, _) => Ok(set),
                        (true, 1) => Ok(set.repeated_channels(3)),
                        (true, c) => Err(DataError::Unavailable(format!("data.preprocess.grey_to_rgb: dataset {} already has {c} channels (it applies to grey images)", self.name))),
                    }
                };
                let train = rgb(limit(self.split(&data.train_split)?, data.train_limit))?;
                let eval = rgb(limit(self.split(&data.eval_split)?, data.eval_limit))?;
                let mean = data.preprocess.mean_image(&train).map(Arc::new);
                Ok((Box::new(source::InMemorySource::new(train, data, mean.clone(), classes)), Box::new(source::InMemorySource::new(eval, data, mean, classes))))
            }
            Images::Folder(folder) => {
                let setup = data
                    .folder
                    .clone()
                    .ok_or_else(|| DataError::Unavailable(format!("dataset {} is a folder of JPEGs: the config needs a `data.folder` section (scale augmentation, crop, normalisation)", self.name)))?;
                Ok((
                    Box::new(imagenet::FolderSource::new(folder.clone(), &data.train_split, setup.clone(), true, data.train_limit)?),
                    Box::new(imagenet::FolderSource::new(folder.clone(), &data.eval_split, setup, false, data.eval_limit)?),
                ))
            }
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    format!("{:x}", h.finalize())
}

/// The download cache: `$REPRO_DATA_CACHE`, else `$XDG_CACHE_HOME/repro/datasets`, else
/// `~/.cache/repro/datasets`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache"))).unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("repro").join("datasets")
}

/// Loads a dataset by name from the given source, verifying every file.
pub fn load(name: &str, source: &DataSource) -> Result<Dataset, DataError> {
    let dir = match source {
        DataSource::Dir(d) => Some(d.as_path()),
        DataSource::Auto => None,
    };
    if let Some(spec) = cifar::spec(name) {
        return cifar::load(spec, dir);
    }
    if name == imagenet::NAME || name == imagenet::NAME_2010 {
        return imagenet::load(name, dir);
    }
    load_idx(name, source)
}

fn load_idx(name: &str, source: &DataSource) -> Result<Dataset, DataError> {
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
        let (n, rows, cols, pixels) = idx::parse_images(&ibytes, &ipath)?;
        let labels = idx::parse_labels(&lbytes, &lpath)?;
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

fn gunzip_if_needed(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
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
fn verify(spec: &DatasetSpec, f: &FileSpec, path: &Path, file_bytes: &[u8], raw: &[u8]) -> Result<(), DataError> {
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

fn read_verified(spec: &DatasetSpec, path: &Path, f: &FileSpec) -> Result<(PathBuf, Vec<u8>), DataError> {
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

fn read_from_dir(spec: &DatasetSpec, dir: &Path, f: &FileSpec) -> Result<(PathBuf, Vec<u8>), DataError> {
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
    download_verified(&urls, &path, spec.name, f.name, |bytes| {
        let found = sha256_hex(bytes);
        if found == f.gz_sha256 { Ok(()) } else { Err(format!("checksum {found} instead of {}", f.gz_sha256)) }
    })?;
    Ok(path)
}

/// Downloads the first URL that answers with bytes `check` accepts into `path`: to a temporary
/// file in the same folder, then a rename, so an interrupted or corrupt download never leaves a
/// file that looks complete.
pub fn download_verified(urls: &[String], path: &Path, dataset: &str, name: &str, check: impl Fn(&[u8]) -> Result<(), String>) -> Result<(), DataError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| DataError::Io { path: dir.to_owned(), source })?;
    let mut attempts = Vec::new();
    for url in urls {
        match download(url) {
            Ok(bytes) => {
                if let Err(e) = check(&bytes) {
                    attempts.push(format!("{url}: {e}"));
                    continue;
                }
                let tmp = dir.join(format!(".{name}.part-{}", std::process::id()));
                let write = || -> std::io::Result<()> {
                    let mut file = std::fs::File::create(&tmp)?;
                    file.write_all(&bytes)?;
                    file.sync_all()?;
                    std::fs::rename(&tmp, path)
                };
                return write().map_err(|source| {
                    let _ = std::fs::remove_file(&tmp);
                    DataError::Io { path: path.to_owned(), source }
                });
            }
            Err(e) => attempts.push(format!("{url}: {e}")),
        }
    }
    Err(DataError::Download { dataset: dataset.to_owned(), name: name.to_owned(), attempts: attempts.join("; ") })
}

fn download(url: &str) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(300))).build().into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let len = response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let bar = crate::progress::bytes_bar(len, &format!("downloading {url}"));
    let mut reader = response.body_mut().as_reader();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Downloads (or verifies the cached copy of) every file of a dataset.
pub fn fetch(name: &str) -> Result<PathBuf, DataError> {
    if let Some(spec) = cifar::spec(name) {
        return cifar::fetch(spec).map(|p| p.parent().expect("cache file has a folder").to_owned());
    }
    if name == imagenet::NAME || name == imagenet::NAME_2010 {
        return Err(DataError::Unavailable(imagenet::NO_DOWNLOAD.into()));
    }
    let spec = dataset(name).ok_or_else(|| DataError::UnknownDataset(name.to_owned()))?;
    let dir = cache_dir().join(spec.name);
    if spec.embedded.is_some() {
        return Ok(PathBuf::from(registry::sample_dir()));
    }
    for f in spec.files() {
        let path = ensure_cached(spec, &dir, &f)?;
        read_verified(spec, &path, &f)?;
    }
    Ok(dir)
}

/// A dataset of deterministic pseudo-random images (benchmarks: throughput does not depend on
/// the pixels). `shape` is `[channels, rows, cols]`.
pub fn synthetic(name: &str, classes: usize, shape: [usize; 3], train: usize, test: usize) -> Dataset {
    let [channels, rows, cols] = shape;
    let make = |n: usize, salt: usize| ImageSet {
        pixels: (0..n * channels * rows * cols).map(|i| ((i + salt) * 37 % 251) as u8).collect(),
        labels: (0..n).map(|i| ((i + salt) % classes) as u8).collect(),
        rows,
        cols,
        channels,
    };
    Dataset {
        name: name.into(),
        class_names: (0..classes).map(|i| i.to_string()).collect(),
        official_test_split: false,
        images: Images::InMemory { train: make(train, 0), test: make(test, 7) },
        checksums: BTreeMap::new(),
        origin: "synthetic (bench)".into(),
    }
}
