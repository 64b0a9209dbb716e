//! ImageNet (ILSVRC-2012) from a folder: the training images in one folder per synset, the
//! validation images with their labels, in the standard class order; JPEG decoding, scale
//! augmentation, random crops, flips and colour augmentation on loader threads; 1-crop and
//! 10-crop evaluation, and the hook through which a paper defines other views ([`EvalViews`]).
//!
//! **Class order.** Class `k` is the `k`-th synset id (`n01440764`, …) in sorted order, the
//! order of the training folders and of torchvision's and Caffe's released weights. The devkit's
//! `ILSVRC2012_validation_ground_truth.txt` numbers classes in a *different* (devkit) order, and
//! using it as if it were the sorted order silently gives ~0.1% accuracy; so validation labels
//! must name synset ids: `val/<wnid>/` folders (the common `valprep.sh` layout), Kaggle's
//! `LOC_val_solution.csv`, or a `val_labels.txt` of `<file> <wnid>` lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::imageops::FilterType;
use image::{RgbImage, imageops};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::source::ImageSource;
use super::{DataError, Dataset, Images, sha256_hex};

pub const NAME: &str = "imagenet";
/// ILSVRC-2010, whose test labels were released: the same folder layout,
/// with an optional `test/` split labelled like `val/`.
pub const NAME_2010: &str = "ilsvrc2010";
pub const NO_DOWNLOAD: &str = "ImageNet cannot be downloaded automatically (its licence requires an account at image-net.org); \
    download ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar, unpack them into DIR/train/<wnid>/ and DIR/val/ \
    (with val/<wnid>/ folders, LOC_val_solution.csv or val_labels.txt), and pass `--data-dir DIR`";

/// First and last synset of the 1000 ILSVRC-2012 classes in the standard (sorted) order.
pub const FIRST_SYNSET: &str = "n01440764";
pub const LAST_SYNSET: &str = "n15075141";

/// How folder images become inputs. Pixels are scaled to [0, 1] before `mean`/`std`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FolderPreprocess {
    /// Side of the square crop the network sees (224).
    pub crop: usize,
    /// Training: the shorter side is resized to a random length in `[min, max]` (scale augmentation, e.g. [256, 480]).
    pub train_scale: [usize; 2],
    /// Training: mirror with probability 1/2.
    #[serde(default)]
    pub horizontal_flip: bool,
    /// Training: PCA colour augmentation (Krizhevsky et al. 2012, §4.1) with this standard deviation (0.1), or none.
    #[serde(default)]
    pub color_pca_std: Option<f32>,
    /// Per-channel mean and standard deviation (RGB) subtracted and divided.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Evaluation: the shorter side is resized to this length (256) before cropping.
    pub eval_resize: usize,
    /// Evaluation views per image: 1 (centre crop) or 10 (four corners and centre, and their
    /// mirrors) of the image resized to `eval_resize`; a paper may define other counts through
    /// its own [`EvalViews`].
    pub eval_crops: usize,
    /// A whole-image test protocol instead of `eval_crops`, defined and run by the paper crate
    /// whose nets support it (`kind` names it); other papers refuse a recipe that sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<crate::extension::Extension>,
}

/// The ImageNet folder: file lists of both splits with their class indices.
#[derive(Debug)]
pub struct ImageFolder {
    pub root: PathBuf,
    /// Synset ids in class order (sorted).
    pub synsets: Vec<String>,
    pub train: Vec<(PathBuf, u16)>,
    pub val: Vec<(PathBuf, u16)>,
    /// `test/`, labelled like `val/`, where the year released its test labels (ILSVRC-2010).
    pub test: Vec<(PathBuf, u16)>,
}

fn is_image(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref(), Some("jpeg" | "jpg" | "png"))
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DataError::Io { path: dir.to_owned(), source })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

fn images_in(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    Ok(list_dir(dir)?.into_iter().filter(|p| p.is_file() && is_image(p)).collect())
}

fn is_synset(name: &str) -> bool {
    name.len() == 9 && name.starts_with('n') && name[1..].bytes().all(|b| b.is_ascii_digit())
}

impl ImageFolder {
    /// Reads the file lists of `root/train` and `root/val` (and `root/test` when present) of
    /// ILSVRC-2012; `check_2012: false` skips the check of the 2012 synsets (other years).
    pub fn open(root: &Path) -> Result<Self, DataError> {
        Self::open_year(root, true)
    }

    pub fn open_year(root: &Path, check_2012: bool) -> Result<Self, DataError> {
        let train_dir = root.join("train");
        if !train_dir.is_dir() {
            return Err(DataError::Unavailable(format!("{} has no train/ folder. {NO_DOWNLOAD}", root.display())));
        }
        let synsets: Vec<String> = list_dir(&train_dir)?.into_iter().filter(|p| p.is_dir()).filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
        if let Some(bad) = synsets.iter().find(|s| !is_synset(s)) {
            return Err(DataError::Corrupt { path: train_dir.join(bad), reason: "is not a synset folder (expected names like n01440764)".into() });
        }
        if synsets.is_empty() {
            return Err(DataError::Corrupt { path: train_dir, reason: "has no synset folders".into() });
        }
        // `list_dir` sorts, so `synsets` is in the standard order.
        if check_2012 && synsets.len() == 1000 && (synsets[0] != FIRST_SYNSET || synsets[999] != LAST_SYNSET) {
            return Err(DataError::Corrupt {
                path: train_dir,
                reason: format!("has 1000 synsets but not ILSVRC-2012's ({} … {} instead of {FIRST_SYNSET} … {LAST_SYNSET})", synsets[0], synsets[999]),
            });
        }
        let index: BTreeMap<&str, u16> = synsets.iter().enumerate().map(|(i, s)| (s.as_str(), i as u16)).collect();
        let mut train = Vec::new();
        for (k, s) in synsets.iter().enumerate() {
            train.extend(images_in(&train_dir.join(s))?.into_iter().map(|p| (p, k as u16)));
        }
        let val = read_val(&root.join("val"), root, &index, "val")?;
        let test = if root.join("test").is_dir() { read_val(&root.join("test"), root, &index, "test")? } else { Vec::new() };
        Ok(Self { root: root.to_owned(), synsets, train, val, test })
    }

    pub fn split(&self, name: &str) -> Option<&[(PathBuf, u16)]> {
        match name {
            "train" => Some(&self.train),
            "val" => Some(&self.val),
            "test" if !self.test.is_empty() => Some(&self.test),
            _ => None,
        }
    }

    pub fn split_len(&self, name: &str) -> usize {
        self.split(name).map(|s| s.len()).unwrap_or(0)
    }

    /// SHA-256 of each split's file list (relative paths and sizes, in order) and of the label
    /// file: a cheap fingerprint for the manifest (hashing 150 GB of JPEGs is not).
    pub fn fingerprints(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, files) in [("train (file list)", &self.train), ("val (file list)", &self.val)] {
            let mut text = String::new();
            for (p, k) in files {
                let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                text.push_str(&format!("{} {size} {k}\n", p.strip_prefix(&self.root).unwrap_or(p).display()));
            }
            out.insert(name.to_string(), sha256_hex(text.as_bytes()));
        }
        out
    }
}

/// Validation images and labels, from `val/<wnid>/` folders or a label file naming synsets.
fn read_val(val_dir: &Path, root: &Path, index: &BTreeMap<&str, u16>, split: &str) -> Result<Vec<(PathBuf, u16)>, DataError> {
    if !val_dir.is_dir() {
        return Err(DataError::Unavailable(format!("{} has no val/ folder. {NO_DOWNLOAD}", root.display())));
    }
    let unknown = |path: &Path, wnid: &str| DataError::Corrupt { path: path.to_owned(), reason: format!("synset {wnid} is not one of the training folders") };
    let subdirs: Vec<PathBuf> = list_dir(val_dir)?.into_iter().filter(|p| p.is_dir()).collect();
    if !subdirs.is_empty() {
        let mut val = Vec::new();
        for d in subdirs {
            let wnid = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let k = *index.get(wnid.as_str()).ok_or_else(|| unknown(&d, &wnid))?;
            val.extend(images_in(&d)?.into_iter().map(|p| (p, k)));
        }
        return Ok(val);
    }
    // Flat folder: labels from a file that names synsets.
    let images = images_in(val_dir)?;
    let by_stem: BTreeMap<String, &PathBuf> = images.iter().map(|p| (p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), p)).collect();
    let candidates = [root.join(format!("LOC_{split}_solution.csv")), root.join(format!("{split}_labels.txt")), val_dir.join(format!("{split}_labels.txt"))];
    let Some(label_file) = candidates.iter().find(|p| p.is_file()) else {
        let devkit = root.join("ILSVRC2012_validation_ground_truth.txt");
        let hint = if devkit.is_file() { " ILSVRC2012_validation_ground_truth.txt numbers classes in the devkit's order, not the standard sorted-synset order, so it is not used;" } else { "" };
        return Err(DataError::Unavailable(format!(
            "{} holds images but no labels:{hint} provide val/<wnid>/ folders, {}/LOC_val_solution.csv or {}/val_labels.txt (`<file> <wnid>` per line)",
            val_dir.display(),
            root.display(),
            root.display()
        )));
    };
    let text = std::fs::read_to_string(label_file).map_err(|source| DataError::Io { path: label_file.clone(), source })?;
    let csv = label_file.extension().is_some_and(|e| e == "csv");
    let mut val = Vec::new();
    let mut seen = BTreeSet::new();
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (csv && line_no == 0 && line.starts_with("ImageId")) {
            continue;
        }
        let bad = |reason: String| DataError::Corrupt { path: label_file.clone(), reason: format!("line {}: {reason}", line_no + 1) };
        let (file, rest) = if csv { line.split_once(',') } else { line.split_once(char::is_whitespace) }.ok_or_else(|| bad(format!("expected `<file>{}<wnid>`", if csv { "," } else { " " })))?;
        let wnid = rest.split_whitespace().next().unwrap_or("");
        if !is_synset(wnid) {
            return Err(bad(format!("`{wnid}` is not a synset id; numeric labels are ambiguous (the devkit and sorted orders differ), so labels must name synsets")));
        }
        let stem = Path::new(file.trim()).file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let path = by_stem.get(&stem).ok_or_else(|| bad(format!("image {file} is not in {}", val_dir.display())))?;
        let k = *index.get(wnid).ok_or_else(|| bad(format!("synset {wnid} is not one of the training folders")))?;
        if seen.insert(stem) {
            val.push(((*path).clone(), k));
        }
    }
    if val.len() != images.len() {
        return Err(DataError::Mismatch { what: format!("{} / {}", val_dir.display(), label_file.display()), images: images.len(), labels: val.len() });
    }
    val.sort();
    Ok(val)
}

/// Loads `imagenet` (ILSVRC-2012) or `ilsvrc2010` from a folder.
pub fn load(name: &str, dir: Option<&Path>) -> Result<Dataset, DataError> {
    let dir = dir.ok_or_else(|| DataError::Unavailable(NO_DOWNLOAD.into()))?;
    let folder = ImageFolder::open_year(dir, name == NAME)?;
    Ok(Dataset {
        name: name.into(),
        class_names: folder.synsets.clone(),
        official_test_split: false,
        checksums: folder.fingerprints(),
        origin: dir.display().to_string(),
        images: Images::Folder(Arc::new(folder)),
    })
}

/// Decodes a JPEG (or PNG) into RGB, naming the file on failure.
pub fn decode(path: &Path) -> Result<RgbImage, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_owned(), source })?;
    let img = image::load_from_memory(&bytes).map_err(|e| DataError::Corrupt { path: path.to_owned(), reason: format!("cannot decode the image ({e})") })?;
    Ok(img.to_rgb8())
}

/// Resizes so that the shorter side is `side` (antialiased bilinear, like PIL's).
pub fn resize_shorter(img: &RgbImage, side: usize) -> RgbImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = if w <= h { (side as u32, ((h as f64 * side as f64 / w as f64).round() as u32).max(1)) } else { (((w as f64 * side as f64 / h as f64).round() as u32).max(1), side as u32) };
    imageops::resize(img, nw, nh, FilterType::Triangle)
}

/// PCA colour augmentation (Krizhevsky et al. 2012, §4.1): eigenvalues and eigenvectors of the RGB covariance of
/// ImageNet pixels in [0, 1], as used by Facebook's Torch ImageNet training code (the paper gives the method, not the
/// values). `PCA_EIGVEC[c]` is row `c` (channel R, G, B) of that code's `eigvec`; its
/// columns are the eigenvectors.
pub const PCA_EIGVAL: [f32; 3] = [0.2175, 0.0188, 0.0045];
pub const PCA_EIGVEC: [[f32; 3]; 3] = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]];

/// The RGB offset PCA lighting adds to every pixel of one image, for alphas ~ N(0, `std`²).
pub fn pca_offset(std: f32, rng: &mut impl Rng) -> [f32; 3] {
    let alpha: [f32; 3] = std::array::from_fn(|_| gaussian(rng) * std);
    pca_lighting(alpha)
}

/// The offset for given alphas: `eigvec · (alpha ⊙ eigval)`, that code's `Lighting`.
pub fn pca_lighting(alpha: [f32; 3]) -> [f32; 3] {
    std::array::from_fn(|c| (0..3).map(|j| PCA_EIGVEC[c][j] * alpha[j] * PCA_EIGVAL[j]).sum())
}

fn gaussian(rng: &mut impl Rng) -> f32 {
    // Box–Muller.
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

/// Writes a `crop × crop` window of `img` at `(x, y)`, optionally mirrored, normalised, CHW.
fn write_view(img: &RgbImage, (x, y): (u32, u32), crop: usize, flip: bool, offset: [f32; 3], setup: &FolderPreprocess, out: &mut [f32]) {
    let plane = crop * crop;
    for r in 0..crop {
        for c in 0..crop {
            let sc = if flip { crop - 1 - c } else { c };
            let p = img.get_pixel(x + sc as u32, y + r as u32).0;
            for ch in 0..3 {
                out[ch * plane + r * crop + c] = (p[ch] as f32 / 255.0 + offset[ch] - setup.mean[ch]) / setup.std[ch];
            }
        }
    }
}

/// One training view's random choices ([`FolderPreprocess::draw_train_view`]), applied by
/// [`FolderPreprocess::write_train_view`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainView {
    /// The shorter side S the image is notionally rescaled to (scale augmentation).
    pub side: usize,
    /// Top-left corner of the window in source pixels.
    pub x: u32,
    pub y: u32,
    /// Side of the square source window, `crop` pixels at scale S ([`FolderPreprocess::train_window`]).
    pub window: u32,
    /// Mirror left-right, after the resize.
    pub flip: bool,
    /// PCA lighting offset added to every pixel, in [0, 1] units ([`pca_lighting`]).
    pub offset: [f32; 3],
}

impl FolderPreprocess {
    /// The side of the source window that becomes the `crop × crop` view of a `w × h` image
    /// rescaled to shorter side `side`: round(crop · min(w, h) / side), within the image.
    pub fn train_window(&self, side: usize, (w, h): (u32, u32)) -> u32 {
        let factor = side as f64 / w.min(h) as f64;
        ((self.crop as f64 / factor).round() as u32).clamp(1, w.min(h))
    }

    /// Draws a training view of a `w × h` image in the fixed order the seeded streams rely on:
    /// S, x, y, then the flip (when `horizontal_flip`), then the three lighting alphas (when
    /// `color_pca_std`).
    pub fn draw_train_view(&self, (w, h): (u32, u32), rng: &mut impl Rng) -> TrainView {
        let side = rng.random_range(self.train_scale[0]..=self.train_scale[1]);
        let window = self.train_window(side, (w, h));
        let x = rng.random_range(0..=w - window);
        let y = rng.random_range(0..=h - window);
        let flip = self.horizontal_flip && rng.random_bool(0.5);
        let offset = self.color_pca_std.map(|std| pca_offset(std, rng)).unwrap_or([0.0; 3]);
        TrainView { side, x, y, window, flip, offset }
    }

    /// Writes `view` of `img` into `out` (`3 × crop × crop`, normalised). Only the window is
    /// cut from the source and resized (antialiased bilinear), which costs far less than
    /// rescaling the whole image to S first and gives the same view up to the resampling.
    pub fn write_train_view(&self, img: &RgbImage, view: &TrainView, out: &mut [f32]) {
        let crop = self.crop as u32;
        let patch = imageops::crop_imm(img, view.x, view.y, view.window, view.window).to_image();
        let patch = imageops::resize(&patch, crop, crop, FilterType::Triangle);
        write_view(&patch, (0, 0), self.crop, view.flip, view.offset, self, out);
    }
}

/// The top-left corners of the 10-crop views' five windows: four corners, then the centre.
pub fn ten_crop_corners(w: u32, h: u32, crop: u32) -> [(u32, u32); 5] {
    [(0, 0), (w - crop, 0), (0, h - crop), (w - crop, h - crop), ((w - crop) / 2, (h - crop) / 2)]
}

impl FolderPreprocess {
    /// Writes the `crop × crop` window of `img` at `(x, y)`, mirrored if `flip`, normalised, CHW,
    /// into `out` (`3 × crop × crop`): the piece [`EvalViews`] are made of.
    pub fn write_window(&self, img: &RgbImage, at: (u32, u32), flip: bool, out: &mut [f32]) {
        write_view(img, at, self.crop, flip, [0.0; 3], self, out);
    }
}

/// How one evaluation image becomes the views the net sees (their predictions are averaged): the
/// evaluation-views hook. `common` defines the centre crop and the ten crops
/// (`data.folder.eval_crops` 1 and 10); a paper whose test uses other views defines them and
/// passes them to [`crate::data::Dataset::sources_with_eval_views`].
pub trait EvalViews: Send + Sync {
    /// Views per image; the recipe's `data.folder.eval_crops` must say the same.
    fn count(&self) -> usize;
    /// Writes the views of the decoded image `img` into `out` (`count × 3 × crop × crop`).
    fn write(&self, img: &RgbImage, setup: &FolderPreprocess, out: &mut [f32]);
}

/// The centre crop (1) or the four corners and the centre and their mirrors (10), of the image
/// resized to shorter side `eval_resize`.
struct StandardCrops(usize);

impl EvalViews for StandardCrops {
    fn count(&self) -> usize {
        self.0
    }

    fn write(&self, img: &RgbImage, setup: &FolderPreprocess, out: &mut [f32]) {
        let img = resize_shorter(img, setup.eval_resize);
        let (w, h) = img.dimensions();
        let per_view = 3 * setup.crop * setup.crop;
        let corners = ten_crop_corners(w, h, setup.crop as u32);
        if self.0 == 1 {
            setup.write_window(&img, corners[4], false, out);
            return;
        }
        for (v, flip) in [false, true].into_iter().enumerate() {
            for (i, &at) in corners.iter().enumerate() {
                let start = (v * 5 + i) * per_view;
                setup.write_window(&img, at, flip, &mut out[start..start + per_view]);
            }
        }
    }
}

/// One split of the folder with the config's preprocessing.
pub struct FolderSource {
    folder: Arc<ImageFolder>,
    files: Vec<(PathBuf, u16)>,
    setup: FolderPreprocess,
    training: bool,
    eval_views: Arc<dyn EvalViews>,
}

impl FolderSource {
    /// One split; an evaluation split (`training` false) is seen through `eval_views`, or through
    /// the standard 1 or 10 crops the recipe's `eval_crops` names when none is given.
    pub fn new(folder: Arc<ImageFolder>, split: &str, setup: FolderPreprocess, training: bool, limit: Option<usize>, eval_views: Option<Arc<dyn EvalViews>>) -> Result<Self, DataError> {
        let files = folder.split(split).ok_or_else(|| DataError::Split {
            dataset: NAME.into(),
            split: split.into(),
            reason: "the splits are `train`, `val`, and `test` where a test/ folder with labels exists".into(),
        })?;
        let eval_views = match eval_views {
            Some(views) if views.count() != setup.eval_crops => {
                let n = views.count();
                return Err(DataError::Unavailable(format!("data.folder.eval_crops is {}, but the paper's evaluation views are {n} per image: set data.folder.eval_crops: {n}", setup.eval_crops)));
            }
            Some(views) => views,
            // A training split is seen through its augmentation, or its centre crop without one.
            None if training => Arc::new(StandardCrops(1)),
            None if [1, 10].contains(&setup.eval_crops) => Arc::new(StandardCrops(setup.eval_crops)),
            None => {
                return Err(DataError::Unavailable(format!(
                    "data.folder.eval_crops must be 1 or 10, not {}, here: other views are a paper's own test, run by its `harness evaluate-pretrained` experiments",
                    setup.eval_crops
                )));
            }
        };
        if setup.train_scale[0] < setup.crop || setup.train_scale[0] > setup.train_scale[1] || setup.eval_resize < setup.crop {
            return Err(DataError::Unavailable(format!(
                "data.folder: train_scale {:?} and eval_resize {} must be at least the crop {} (and train_scale increasing)",
                setup.train_scale, setup.eval_resize, setup.crop
            )));
        }
        let mut files = files.to_vec();
        if let Some(n) = limit {
            // A limit keeps every class represented: take files round-robin over classes.
            files = take_balanced(files, n);
        }
        Ok(Self { folder, files, setup, training, eval_views })
    }

    pub fn folder(&self) -> &ImageFolder {
        &self.folder
    }
}

fn take_balanced(files: Vec<(PathBuf, u16)>, n: usize) -> Vec<(PathBuf, u16)> {
    let mut by_class: BTreeMap<u16, std::collections::VecDeque<(PathBuf, u16)>> = BTreeMap::new();
    for f in files {
        by_class.entry(f.1).or_default().push_back(f);
    }
    let mut out = Vec::new();
    while out.len() < n && by_class.values().any(|q| !q.is_empty()) {
        for q in by_class.values_mut() {
            if out.len() < n
                && let Some(f) = q.pop_front()
            {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

impl ImageSource for FolderSource {
    fn len(&self) -> usize {
        self.files.len()
    }
    fn shape(&self) -> [usize; 3] {
        [3, self.setup.crop, self.setup.crop]
    }
    fn views(&self) -> usize {
        if self.training { 1 } else { self.eval_views.count() }
    }
    fn classes(&self) -> usize {
        self.folder.synsets.len()
    }

    fn write(&self, index: usize, out: &mut [f32], rng: Option<&mut ChaCha8Rng>) -> Result<usize, DataError> {
        let (path, label) = &self.files[index];
        let img = decode(path)?;
        let s = &self.setup;
        match rng {
            Some(rng) if self.training => {
                // Scale augmentation: shorter side S ∈ [min, max]; a random crop×crop window
                // of the rescaled image is cut from the source first and only it is resized.
                let view = s.draw_train_view(img.dimensions(), rng);
                s.write_train_view(&img, &view, out);
            }
            // A training split read without augmentation: its centre crop.
            _ if self.training => StandardCrops(1).write(&img, s, out),
            _ => self.eval_views.write(&img, s, out),
        }
        Ok(*label as usize)
    }
}
