//! Targeted checks (issue 10): each training-time augmentation of the shipped recipes changes the
//! training batch the way it should, switched off it leaves the batch alone, and evaluation
//! batches are never augmented. MNIST's affine distortions (`lenet5-distorted`), CIFAR's pad-4
//! crop and flip (`cifar10-resnet20`), ImageNet's scale augmentation, flip and PCA lighting
//! (`imagenet-resnet50`).
//!
//! Each augmentation is recognised by what it does to an image, not by comparing random draws:
//! a crop or flip is recovered exactly from the view, the ImageNet scale from the slope of a
//! linear gradient, the PCA lighting as a constant colour offset on a flat image. So a check
//! fails when its augmentation stops working, whatever else changes in the random streams.

use std::path::Path;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Int, Tensor};
use repro_common::config::ExperimentConfig;
use repro_common::data::source::{ImageSource, build_batch};
use repro_common::data::{self, DataSource, Dataset};
use repro_common::engine::{self, ImageClassifier};
use repro_lenet::LenetPaper;
use repro_resnet::ResnetPaper;
use repro_tests::{cpu, recipe, write_cifar10};

const SEED: u64 = 1;

/// Each item's training view (`Some(epoch)`: augmented as in that epoch) or plain view (`None`).
fn views(source: &dyn ImageSource, items: &[usize], epoch: Option<usize>) -> Vec<Vec<f32>> {
    let b = build_batch(source, items, epoch.map(|e| (SEED, e))).unwrap();
    let per_item = b.images.len() / items.len();
    b.images.chunks(per_item).map(|c| c.to_vec()).collect()
}

fn train_source(ds: &Dataset, config: &ExperimentConfig) -> Box<dyn ImageSource> {
    ds.sources(&config.data).unwrap().0
}

fn changed(config: &ExperimentConfig, edit: impl FnOnce(&mut ExperimentConfig)) -> ExperimentConfig {
    let mut c = config.clone();
    edit(&mut c);
    c
}

// ---------------------------------------------------------------------------------------------
// MNIST

#[test]
fn mnist_distortions_change_the_training_batch() {
    let ds = repro_tests::sample();
    let shipped = recipe(&LenetPaper, "lenet5-distorted", &["data.dataset=mnist-sample", "data.train_limit=64", "data.eval_limit=64"]);
    let probability = shipped.data.distortion.as_ref().expect("lenet5-distorted distorts").probability;
    let off = changed(&shipped, |c| c.data.distortion = None);
    let items: Vec<usize> = (0..64).collect();
    let plain = views(train_source(&ds, &shipped).as_ref(), &items, None);
    let distorted = views(train_source(&ds, &shipped).as_ref(), &items, Some(1));
    let moved = plain.iter().zip(&distorted).filter(|(p, d)| p != d).count();
    // Binomial(64, 0.9): 57.6 expected, 40 is 7 standard deviations below.
    assert!(moved >= 40, "lenet5-distorted distorts a training image with probability {probability}, but only {moved} of 64 training views differ from the plain images");
    assert_eq!(views(train_source(&ds, &off).as_ref(), &items, Some(1)), plain, "with the distortion switched off, the training views are the plain images");
}

// ---------------------------------------------------------------------------------------------
// CIFAR

fn cifar(dir: &Path) -> Dataset {
    write_cifar10(dir, 8, 8, 5);
    data::load("cifar10-layout", &DataSource::Dir(dir.to_owned())).unwrap()
}

fn cifar_recipe() -> ExperimentConfig {
    let c = recipe(&ResnetPaper, "cifar10-resnet20", &["data.dataset=cifar10-layout"]);
    assert_eq!((c.data.preprocess.random_crop_padding, c.data.preprocess.horizontal_flip), (4, true), "§4.2's augmentation");
    c
}

/// The shift `(dy, dx)` in [-4, 4]² (zeros outside the image) and mirroring that turn the plain
/// 3×32×32 `plain` view into `view`, if any does.
fn crop_and_flip_of(view: &[f32], plain: &[f32]) -> Option<(isize, isize, bool)> {
    let candidate = |dy: isize, dx: isize, flip: bool| {
        (0..3).all(|ch| {
            (0..32isize).all(|r| {
                (0..32isize).all(|c| {
                    let (y, x) = (r + dy, if flip { 31 - c } else { c } + dx);
                    let want = if (0..32).contains(&y) && (0..32).contains(&x) { plain[ch * 1024 + (y * 32 + x) as usize] } else { 0.0 };
                    view[ch * 1024 + (r * 32 + c) as usize] == want
                })
            })
        })
    };
    (-4..=4isize).flat_map(|dy| (-4..=4isize).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)])).find(|&(dy, dx, flip)| candidate(dy, dx, flip))
}

/// The crop and flip of every training view of the first 40 images in epoch 1.
fn cifar_transforms(ds: &Dataset, config: &ExperimentConfig) -> Vec<(isize, isize, bool)> {
    let source = train_source(ds, config);
    let items: Vec<usize> = (0..40).collect();
    let plain = views(source.as_ref(), &items, None);
    let augmented = views(source.as_ref(), &items, Some(1));
    plain.iter().zip(&augmented).enumerate().map(|(i, (p, v))| crop_and_flip_of(v, p).unwrap_or_else(|| panic!("training view {i} is no 4-pixel shift or mirror of its image"))).collect()
}

fn assert_nothing_left_augments_cifar(ds: &Dataset, shipped: &ExperimentConfig) {
    let none = changed(shipped, |c| (c.data.preprocess.random_crop_padding, c.data.preprocess.horizontal_flip) = (0, false));
    let items: Vec<usize> = (0..40).collect();
    let source = train_source(ds, &none);
    assert_eq!(views(source.as_ref(), &items, Some(1)), views(source.as_ref(), &items, None), "with crop and flip off, the CIFAR training views are the plain images");
}

#[test]
fn cifar_pad4_crop_shifts_the_training_images() {
    let dir = tempfile::tempdir().unwrap();
    let ds = cifar(dir.path());
    let shipped = cifar_recipe();
    let shifts = cifar_transforms(&ds, &shipped).into_iter().filter(|t| (t.0, t.1) != (0, 0)).count();
    // 80 of the 81 shifts move the image: 40 views with none shifted would be a broken crop.
    assert!(shifts >= 30, "cifar10-resnet20 pads by 4 and crops at random, but only {shifts} of 40 training views are shifted");
    let no_crop = changed(&shipped, |c| c.data.preprocess.random_crop_padding = 0);
    let unshifted = cifar_transforms(&ds, &no_crop).into_iter().all(|t| (t.0, t.1) == (0, 0));
    assert!(unshifted, "with random_crop_padding 0, no training view may be shifted");
    assert_nothing_left_augments_cifar(&ds, &shipped);
}

#[test]
fn cifar_flip_mirrors_the_training_images() {
    let dir = tempfile::tempdir().unwrap();
    let ds = cifar(dir.path());
    let shipped = cifar_recipe();
    let flips = cifar_transforms(&ds, &shipped).into_iter().filter(|t| t.2).count();
    // Binomial(40, 1/2): 8 to 32 holds with probability 1 - 1e-4; the draws are fixed by the seed.
    assert!((8..=32).contains(&flips), "cifar10-resnet20 mirrors a training image with probability 1/2, but {flips} of 40 training views are mirrored");
    let no_flip = changed(&shipped, |c| c.data.preprocess.horizontal_flip = false);
    assert!(cifar_transforms(&ds, &no_flip).into_iter().all(|t| !t.2), "with horizontal_flip false, no training view may be mirrored");
    assert_nothing_left_augments_cifar(&ds, &shipped);
}

// ---------------------------------------------------------------------------------------------
// ImageNet

/// Item 0 of either split: a flat colour (class n01000000). Item 1: red rising left to right and
/// green rising top to bottom by one level per pixel (class n02000000). 256×256 PNGs (lossless).
const FLAT: usize = 0;
const GRADIENT: usize = 1;

fn imagenet(root: &Path) -> Dataset {
    let flat = image::RgbImage::from_pixel(256, 256, image::Rgb([100, 150, 200]));
    let gradient = image::RgbImage::from_fn(256, 256, |x, y| image::Rgb([x as u8, y as u8, 128]));
    for split in ["train", "val"] {
        for (wnid, name, img) in [("n01000000", "flat", &flat), ("n02000000", "gradient", &gradient)] {
            let path = root.join(format!("{split}/{wnid}/{name}.png"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            img.save(&path).unwrap();
        }
    }
    data::load("imagenet", &DataSource::Dir(root.to_owned())).unwrap()
}

fn imagenet_recipe() -> ExperimentConfig {
    let c = recipe(&ResnetPaper, "imagenet-resnet50", &[]);
    let f = c.data.folder.as_ref().unwrap();
    assert_eq!((f.crop, f.train_scale, f.horizontal_flip, f.color_pca_std, f.std), (224, [256, 480], true, Some(0.1), [1.0; 3]), "§3.4's augmentation");
    c
}

fn folder(c: &mut ExperimentConfig) -> &mut repro_common::data::imagenet::FolderPreprocess {
    c.data.folder.as_mut().unwrap()
}

/// The mean slope of channel `ch` of a 3×224×224 view, in source levels per output pixel, across
/// the interior (rows or columns 8 to 215): `256 / S` for the gradient image at scale `S`, and
/// negative along the rows when mirrored.
fn slope(view: &[f32], ch: usize, down: bool) -> f64 {
    let n = 224;
    let plane = &view[ch * n * n..(ch + 1) * n * n];
    let (a, b) = (8, n - 9);
    let sum: f64 = (0..n).map(|k| if down { plane[b * n + k] - plane[a * n + k] } else { plane[k * n + b] - plane[k * n + a] } as f64).sum();
    sum / n as f64 / (b - a) as f64 * 255.0
}

/// The gradient image's training view in epochs 1..=24.
fn gradient_draws(ds: &Dataset, config: &ExperimentConfig) -> Vec<Vec<f32>> {
    let source = train_source(ds, config);
    (1..=24).map(|epoch| views(source.as_ref(), &[GRADIENT], Some(epoch)).remove(0)).collect()
}

#[test]
fn imagenet_scale_augmentation_resizes_the_training_images() {
    let dir = tempfile::tempdir().unwrap();
    let ds = imagenet(dir.path());
    let shipped = imagenet_recipe();
    // Green rises downwards: its slope gives the scale, whatever the crop position, flip or lighting.
    let scales: Vec<f64> = gradient_draws(&ds, &shipped).iter().map(|v| 256.0 / slope(v, 1, true)).collect();
    let (lo, hi) = scales.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    assert!(lo > 250.0 && hi < 490.0, "imagenet-resnet50 samples the shorter side in [256, 480], but the training views show sides from {lo:.0} to {hi:.0}");
    assert!(hi - lo > 60.0, "imagenet-resnet50 samples the shorter side in [256, 480], but 24 training views all show sides within {lo:.0}..{hi:.0}: the scale is not augmented");
    let fixed = changed(&shipped, |c| folder(c).train_scale = [256, 256]);
    let draws = gradient_draws(&ds, &fixed);
    assert!(draws.iter().all(|v| (slope(v, 1, true) - 1.0).abs() < 0.01), "with train_scale [256, 256], every training view is at scale 256");
    assert_ne!(draws, gradient_draws(&ds, &shipped), "switching the scale augmentation off changes the training batch");
}

#[test]
fn imagenet_flip_mirrors_the_training_images() {
    let dir = tempfile::tempdir().unwrap();
    let ds = imagenet(dir.path());
    let shipped = imagenet_recipe();
    // Red rises to the right: a mirrored view has it falling.
    let mirrored = gradient_draws(&ds, &shipped).iter().filter(|v| slope(v, 0, false) < 0.0).count();
    assert!((4..=20).contains(&mirrored), "imagenet-resnet50 mirrors a training image with probability 1/2, but {mirrored} of 24 training views are mirrored");
    let no_flip = changed(&shipped, |c| folder(c).horizontal_flip = false);
    let draws = gradient_draws(&ds, &no_flip);
    assert!(draws.iter().all(|v| slope(v, 0, false) > 0.0), "with horizontal_flip false, no training view may be mirrored");
    assert_ne!(draws, gradient_draws(&ds, &shipped), "switching the flip off changes the training batch");
}

#[test]
fn imagenet_pca_lighting_shifts_the_training_colours() {
    let dir = tempfile::tempdir().unwrap();
    let ds = imagenet(dir.path());
    let shipped = imagenet_recipe();
    let plane = 224 * 224;
    let flat_draws = |config: &ExperimentConfig| -> (Vec<Vec<f32>>, Vec<f32>) {
        let source = train_source(&ds, config);
        let plain = views(source.as_ref(), &[FLAT], None).remove(0);
        ((1..=12).map(|epoch| views(source.as_ref(), &[FLAT], Some(epoch)).remove(0)).collect(), plain)
    };
    let (draws, plain) = flat_draws(&shipped);
    assert!((0..3).all(|ch| plain[ch * plane..(ch + 1) * plane].iter().all(|&p| p == plain[ch * plane])), "item {FLAT} is the flat image");
    // Scale, crop and flip leave a flat image alone; the lighting adds one offset per channel.
    let offsets: Vec<[f32; 3]> = draws
        .iter()
        .map(|v| {
            std::array::from_fn(|ch| {
                let d = v[ch * plane] - plain[ch * plane];
                assert!(v[ch * plane..(ch + 1) * plane].iter().all(|&x| (x - plain[ch * plane] - d).abs() < 1e-5), "the lighting offset is the same at every pixel");
                d
            })
        })
        .collect();
    let lit = offsets.iter().filter(|o| o.iter().any(|d| d.abs() > 1e-4)).count();
    assert!(lit >= 10, "imagenet-resnet50 adds PCA lighting (std 0.1) to every training image, but only {lit} of 12 views of a flat image change colour: {offsets:?}");
    assert!(offsets.iter().flatten().all(|d| d.abs() < 0.25), "PCA lighting offsets are small (eigenvalues ≤ 0.22 times N(0, 0.1²)): {offsets:?}");
    let dark = changed(&shipped, |c| folder(c).color_pca_std = None);
    let (unlit, _) = flat_draws(&dark);
    assert!(unlit.iter().all(|v| v == &plain), "with color_pca_std off, a flat image's training views are the plain image");
    assert_ne!(unlit, draws, "switching the lighting off changes the training batch");
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// A linear classifier on the raw pixels: any model will do to see what evaluation is fed.
#[derive(Module, Debug)]
struct Probe {
    linear: Linear,
}

impl ImageClassifier for Probe {
    fn scores(&self, images: Tensor<4>) -> Tensor<2> {
        let [n, c, h, w] = images.dims();
        self.linear.forward(images.reshape([n, c * h * w]))
    }
    fn loss(&self, scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        repro_common::nn::cross_entropy(scores, targets)
    }
}

/// Evaluation with `shipped`'s augmentation and with all of it off must see the same batches
/// (built by the source without a generator, and as the engine builds them).
fn assert_evaluation_unaugmented(name: &str, ds: &Dataset, shipped: &ExperimentConfig, off: &ExperimentConfig) {
    let (_, eval) = ds.sources(&shipped.data).unwrap();
    let (_, eval_off) = ds.sources(&off.data).unwrap();
    let items: Vec<usize> = (0..eval.len()).collect();
    assert_eq!(views(eval.as_ref(), &items, None), views(eval_off.as_ref(), &items, None), "{name}: the evaluation views depend on the training augmentation");
    let [c, h, w] = eval.shape();
    let device = cpu().device;
    let probe = Probe { linear: LinearConfig::new(c * h * w, eval.classes()).init(&device) };
    let with = engine::evaluate(&probe, eval.as_ref(), &device).unwrap();
    let without = engine::evaluate(&probe, eval_off.as_ref(), &device).unwrap();
    assert_eq!(with, without, "{name}: engine::evaluate gives different numbers with the training augmentation on and off: evaluation batches are augmented");
}

#[test]
fn evaluation_batches_are_never_augmented() {
    let mnist = recipe(&LenetPaper, "lenet5-distorted", &["data.dataset=mnist-sample", "data.train_limit=64", "data.eval_limit=64"]);
    let mnist_off = changed(&mnist, |c| c.data.distortion = None);
    assert_evaluation_unaugmented("MNIST distortions", &repro_tests::sample(), &mnist, &mnist_off);

    let dir = tempfile::tempdir().unwrap();
    let ds = cifar(dir.path());
    let shipped = cifar_recipe();
    let off = changed(&shipped, |c| (c.data.preprocess.random_crop_padding, c.data.preprocess.horizontal_flip) = (0, false));
    assert_evaluation_unaugmented("CIFAR crop and flip", &ds, &shipped, &off);

    let dir = tempfile::tempdir().unwrap();
    let ds = imagenet(dir.path());
    let shipped = imagenet_recipe();
    let off = changed(&shipped, |c| {
        let f = folder(c);
        (f.train_scale, f.horizontal_flip, f.color_pca_std) = ([256, 256], false, None);
    });
    assert_evaluation_unaugmented("ImageNet scale, flip and lighting", &ds, &shipped, &off);
    // A folder's evaluation source ignores a generator: its views are fixed (10 crops).
    let (_, eval) = ds.sources(&shipped.data).unwrap();
    assert_eq!(views(eval.as_ref(), &[FLAT, GRADIENT], Some(3)), views(eval.as_ref(), &[FLAT, GRADIENT], None), "ImageNet evaluation views changed with a generator");
}
