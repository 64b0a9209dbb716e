//! Datasets: what a loaded dataset is and the dispatch by name. The registry of downloadable
//! files (`registry`), the cache and verified reads (`cache`), streaming downloads (`download`),
//! errors (`error`) and each format (`idx`, `cifar`, `imagenet`, `text`) have their own modules.

pub mod augment;
pub mod cache;
pub mod cifar;
pub mod download;
pub mod error;
pub mod idx;
pub mod imagenet;
pub mod registry;
pub mod source;
pub mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use augment::{Distortion, Preprocess};

pub use cache::{CACHE_ENV, cache_dir, ensure_cached};
pub use download::{Downloaded, download_verified};
pub use error::{ChecksumMismatch, DataError};
pub use registry::{DATASETS, DatasetSpec, FileSpec, dataset};

/// A recipe's `data:` section: which dataset and splits, and how its images are prepared.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dataset: String,
    #[serde(default = "train_split")]
    pub train_split: String,
    #[serde(default = "test_split")]
    pub eval_split: String,
    /// Use only the first N training items (short CI runs).
    #[serde(default)]
    pub train_limit: Option<usize>,
    /// Evaluate on the first N items of the evaluation split.
    #[serde(default)]
    pub eval_limit: Option<usize>,
    /// In-memory datasets (MNIST, CIFAR): scaling, mean, crop and flip.
    #[serde(default)]
    pub preprocess: Preprocess,
    /// Folder datasets (ImageNet): decoding, scale augmentation, crops, normalisation.
    #[serde(default)]
    pub folder: Option<imagenet::FolderPreprocess>,
    #[serde(default)]
    pub distortion: Option<Distortion>,
}

fn train_split() -> String {
    "train".into()
}
fn test_split() -> String {
    "test".into()
}

/// A dataset's (training, evaluation) sources.
pub type SourcePair = (Box<dyn source::ImageSource>, Box<dyn source::ImageSource>);

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
    pub fn sources(&self, data: &DataConfig) -> Result<SourcePair, DataError> {
        self.sources_with_eval_views(data, None)
    }

    /// [`Dataset::sources`], with the evaluation split of a folder dataset seen through a paper's
    /// own `eval_views` (the evaluation-views hook) instead of the standard crops.
    pub fn sources_with_eval_views(&self, data: &DataConfig, eval_views: Option<Arc<dyn imagenet::EvalViews>>) -> Result<SourcePair, DataError> {
        let classes = self.class_names.len();
        match &self.images {
            Images::InMemory { .. } if eval_views.is_some() => {
                Err(DataError::Unavailable(format!("dataset {} is held in memory: a paper's evaluation views (data.folder.eval_crops) apply to folders of images only", self.name)))
            }
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
                    Box::new(imagenet::FolderSource::new(folder.clone(), &data.train_split, setup.clone(), true, data.train_limit, None)?),
                    Box::new(imagenet::FolderSource::new(folder.clone(), &data.eval_split, setup, false, data.eval_limit, eval_views)?),
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
    idx::load_dataset(name, source)
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
        cache::read_verified(spec, &path, &f)?;
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
