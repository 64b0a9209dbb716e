//! Learning gates for the ImageNet nets: a generated task that a net must learn (not merely run
//! on) through the shipped recipe's optimiser and augmentation, and a check that its final
//! validation error is clearly below chance (`repro_common::gate::Gate::below_chance`).
//!
//! The task: four classes defined by spatial pattern only: horizontal stripes, vertical stripes,
//! a checkerboard and a centred disc, each in two random colours, at a random period (or radius)
//! and phase (or offset), under a random brightness ramp and pixel noise. Colour and mean
//! brightness carry no label; the patterns survive the recipes' flips, scale augmentation and
//! crops. The files are written in ImageNet's layout (`train/<wnid>/`, `val/<wnid>/`).
//!
//! The gate's own check: `REPRO_GATE_SELF_CHECK=untrained` trains at a learning rate of 1e-9,
//! `REPRO_GATE_SELF_CHECK=shuffled-labels` writes every image into a random class folder; each
//! training test must then fail its gate.

// Each training test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use repro_common::config::ExperimentConfig;
use repro_common::data::{self, DataSource};
use repro_common::gate::Gate;
use repro_common::kernels::Kernels;
use repro_common::paper::ImagePaper;
use repro_common::records::{RunStatus, load_metrics};
use repro_tests::{NUMERICAL_PATHS, NumericalPath};

/// The papers' pixel scale: cuda-convnet and Caffe fed the nets 0-255 values minus the mean,
/// while the recipes scale pixels to [0, 1] (`std: [1, 1, 1]`). With the papers' fixed-std
/// initialisations (AlexNet's and VGG's N(0, 0.01²), GoogLeNet's Xavier without BN) that leaves
/// 255 times less signal: at initialisation a narrow AlexNet's logits differ between images by
/// about 2e-5 and VGG-A's by 8e-7, and neither learns at all in a test's budget. Nets with BN
/// (ResNet) do not care.
pub const PAPER_PIXEL_SCALE: &str = "data.folder.std=[0.00392156862745098, 0.00392156862745098, 0.00392156862745098]";

/// The classes in ImageNet's sorted synset order.
const CLASSES: [(&str, Pattern); 4] = [("n01000000", Pattern::HorizontalStripes), ("n02000000", Pattern::VerticalStripes), ("n03000000", Pattern::Checkerboard), ("n04000000", Pattern::Disc)];

#[derive(Debug, Clone, Copy)]
enum Pattern {
    HorizontalStripes,
    VerticalStripes,
    Checkerboard,
    Disc,
}

/// How much of the generated task to write.
#[derive(Debug, Clone, Copy)]
pub struct Task {
    /// Shorter side of each image in pixels (the longer is up to 25 % longer).
    pub side: u32,
    pub train_per_class: usize,
    pub val_per_class: usize,
    pub seed: u64,
}

impl Task {
    pub fn val_images(&self) -> usize {
        self.val_per_class * CLASSES.len()
    }
}

fn self_check() -> Option<String> {
    std::env::var("REPRO_GATE_SELF_CHECK").ok().filter(|v| !v.is_empty())
}

/// Two colours at least `min_distance` apart (RGB Euclidean), so every pattern is visible.
fn two_colours(rng: &mut ChaCha8Rng, min_distance: f32) -> ([f32; 3], [f32; 3]) {
    loop {
        let a: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..255.0));
        let b: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..255.0));
        if a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt() >= min_distance {
            return (a, b);
        }
    }
}

/// One image of `pattern`, drawn from `rng`.
fn draw(pattern: Pattern, side: u32, rng: &mut ChaCha8Rng) -> image::RgbImage {
    let (w, h) = if rng.random_bool(0.5) { (side + rng.random_range(0..=side / 4), side) } else { (side, side + rng.random_range(0..=side / 4)) };
    let (fg, bg) = two_colours(rng, 110.0);
    let s = side as f32;
    // A period of a sixth to a third of the shorter side: still 3+ periods in a crop, and at
    // least 8 pixels in a 67-pixel input.
    let period = rng.random_range(s / 6.0..s / 3.0);
    let (phase_x, phase_y) = (rng.random_range(0.0..period), rng.random_range(0.0..period));
    let radius = rng.random_range(0.22 * s..0.34 * s);
    let (cx, cy) = (w as f32 / 2.0 + rng.random_range(-0.05 * s..0.05 * s), h as f32 / 2.0 + rng.random_range(-0.05 * s..0.05 * s));
    let ramp = [rng.random_range(-40.0..40.0f32), rng.random_range(-40.0..40.0f32)];
    let noise = rng.random_range(10.0..30.0f32);
    let band = |t: f32| (t / period).rem_euclid(1.0) < 0.5;
    let mut img = image::RgbImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32 + phase_x, y as f32 + phase_y);
        let on = match pattern {
            Pattern::HorizontalStripes => band(fy),
            Pattern::VerticalStripes => band(fx),
            Pattern::Checkerboard => band(fx) ^ band(fy),
            Pattern::Disc => (x as f32 - cx).hypot(y as f32 - cy) < radius,
        };
        let colour = if on { fg } else { bg };
        let shade = ramp[0] * (x as f32 / w as f32 - 0.5) + ramp[1] * (y as f32 / h as f32 - 0.5);
        *px = image::Rgb(std::array::from_fn(|c| (colour[c] + shade + rng.random_range(-noise..noise)).clamp(0.0, 255.0) as u8));
    }
    img
}

/// Writes the task's JPEGs under `root` in ImageNet's folder layout; deterministic from the seed.
/// Under `REPRO_GATE_SELF_CHECK=shuffled-labels` each image lands in a random class's folder.
pub fn write_pattern_imagenet(root: &Path, task: &Task) {
    let shuffled = self_check().as_deref() == Some("shuffled-labels");
    let mut rng = ChaCha8Rng::seed_from_u64(task.seed);
    for (split, per_class) in [("train", task.train_per_class), ("val", task.val_per_class)] {
        for (k, (_, pattern)) in CLASSES.iter().enumerate() {
            for i in 0..per_class {
                let img = draw(*pattern, task.side, &mut rng);
                let folder = if shuffled { CLASSES[rng.random_range(0..CLASSES.len())].0 } else { CLASSES[k].0 };
                let dir = root.join(split).join(folder);
                std::fs::create_dir_all(&dir).unwrap();
                img.save_with_format(dir.join(format!("{split}_{k}_{i:04}.JPEG")), image::ImageFormat::Jpeg).unwrap();
            }
        }
    }
}

/// What one training of the task gave.
pub struct Outcome {
    pub model: String,
    pub rows: Vec<repro_common::records::EpochMetrics>,
    pub seconds: f64,
}

impl Outcome {
    pub fn final_error(&self) -> f64 {
        self.rows.last().unwrap().test_error_pct
    }

    /// The per-epoch table, one line an epoch.
    pub fn print(&self) {
        for r in &self.rows {
            eprintln!(
                "{} epoch {}: lr {:.2e}, train loss {:.3}, train err {:.1}%, val loss {:.3}, val err {:.1}%",
                self.model, r.epoch, r.lr, r.train_loss, r.train_error_pct, r.test_loss, r.test_error_pct
            );
        }
    }
}

/// Trains `recipe` (with `overrides`) on the task on `path` (`None`: the default, the project's
/// kernels on the ambient compute threads) and returns its per-epoch rows.
pub fn train_task(paper: &dyn ImagePaper, recipe: &str, overrides: &[&str], task: &Task, path: Option<NumericalPath>) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    write_pattern_imagenet(dir.path(), task);
    let dataset = data::load("imagenet", &DataSource::Dir(dir.path().to_owned())).unwrap();
    assert_eq!(dataset.class_names.len(), CLASSES.len());
    let mut overrides: Vec<&str> = overrides.to_vec();
    if self_check().as_deref() == Some("untrained") {
        overrides.push("schedule.steps=[[1, 1e-9]]");
    }
    let config: ExperimentConfig = repro_tests::recipe(paper, recipe, &overrides);
    let run = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let manifest = match path {
        Some(path) => repro_tests::train_on(path, paper, &config, 1, &dataset, run.path(), false, None),
        None => repro_tests::train(paper, &config, 1, &dataset, run.path(), false, None),
    };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!((manifest.header.status, manifest.body.epochs_completed), (RunStatus::Complete, config.epochs), "{:?}", manifest.header.stop_reason);
    Outcome { model: config.model.clone(), rows: load_metrics(run.path()).unwrap(), seconds }
}

/// The gate on a validation error: at least 3 binomial standard errors below chance
/// (`engine::evaluate` counts a tie with the true class as wrong, so a dead net whose scores are
/// all equal sits at chance or worse, never at 0 %).
pub fn gate(model: &str, task: &Task) -> Gate {
    let chance_pct = 100.0 * (1.0 - 1.0 / CLASSES.len() as f64);
    Gate::below_chance(format!("{model} validation error % on the pattern task"), chance_pct, task.val_images(), 3.0)
}

/// What a learning test asks of a training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// The final epoch's validation error passes [`gate`], and the final training loss is below
    /// a uniform guess's and the first epoch's: for runs that learn and stay learned on every
    /// seed and path calibrated.
    Final,
    /// The net leaves chance: at some epoch the validation error passes [`gate`] and the training
    /// loss is below a uniform guess's and the first epoch's. For a run that learns on every seed
    /// and path but can fall back towards chance afterwards (a net without normalisation at a
    /// test's batch size): the fall is printed, not gated, as it is a property of the recipe at
    /// that batch, not of the code under test.
    LeavesChance,
}

/// Why a training fails its learning test, if it does.
pub fn failure(outcome: &Outcome, task: &Task, chance_train_loss: f64, criterion: Criterion) -> Option<String> {
    let first = outcome.rows.first().unwrap();
    let learned = |r: &repro_common::records::EpochMetrics| r.train_loss < first.train_loss && r.train_loss < chance_train_loss;
    let losses = || outcome.rows.iter().map(|r| r.train_loss).collect::<Vec<_>>();
    let gate = gate(&outcome.model, task);
    match criterion {
        Criterion::Final => {
            let last = outcome.rows.last().unwrap();
            if let Err(e) = gate.check(last.test_error_pct) {
                return Some(e.to_string());
            }
            (!learned(last)).then(|| format!("{}: the training loss did not fall (per epoch {:?}; a uniform guess scores {chance_train_loss:.3})", outcome.model, losses()))
        }
        Criterion::LeavesChance => {
            let best = outcome.rows.iter().min_by(|a, b| a.test_error_pct.total_cmp(&b.test_error_pct)).unwrap();
            if let Err(e) = gate.check(best.test_error_pct) {
                return Some(format!("never left chance: at its best (epoch {}) {e}", best.epoch));
            }
            (!outcome.rows.iter().any(learned)).then(|| format!("{}: the training loss never fell (per epoch {:?}; a uniform guess scores {chance_train_loss:.3})", outcome.model, losses()))
        }
    }
}

/// The epochs after the net left chance whose validation error is back above the gate, as a
/// line to print (`None` when there are none).
pub fn fall_back(outcome: &Outcome, task: &Task) -> Option<String> {
    let gate = gate(&outcome.model, task);
    let left = outcome.rows.iter().position(|r| gate.check(r.test_error_pct).is_ok())?;
    let back: Vec<String> = outcome.rows[left..].iter().filter(|r| gate.check(r.test_error_pct).is_err()).map(|r| format!("epoch {} at {:.1}%", r.epoch, r.test_error_pct)).collect();
    (!back.is_empty()).then(|| format!("{} left chance at epoch {} and fell back above the gate ({:.1}%) at {}", outcome.model, outcome.rows[left].epoch, gate.high, back.join(", ")))
}

/// Trains `recipe` (with `overrides`) on the task and asserts that it learned ([`failure`]).
/// `calibrated` says over which task seeds and numerical paths the test was calibrated, and how
/// they ended: a failure prints it, so its reader can tell a broken net from an unlucky machine.
pub fn assert_learns(paper: &dyn ImagePaper, recipe: &str, overrides: &[&str], task: &Task, chance_train_loss: f64, criterion: Criterion, calibrated: &str) {
    let outcome = train_task(paper, recipe, overrides, task, None);
    outcome.print();
    eprintln!("{}: final val error {:.1}% on {} images, {:.1} s of training", outcome.model, outcome.final_error(), task.val_images(), outcome.seconds);
    if let Some(fell) = fall_back(&outcome, task) {
        eprintln!("{fell} (reported, not gated: {criterion:?})");
    }
    if let Some(why) = failure(&outcome, task, chance_train_loss, criterion) {
        panic!("{why}\n[on {} ({}); calibrated: {calibrated}]", repro_common::device::cpu_description(), repro_common::device::cpu_features());
    }
}

/// Calibration of a learning test: trains it at each task seed on each numerical path and prints
/// a line per run (final and best validation error, pass or the reason it fails) and a summary.
/// `REPRO_CALIBRATE_SEEDS` (`1,2,3`), `REPRO_CALIBRATE_PATHS` (`project:1,burn:2`) and
/// `REPRO_CALIBRATE_SET` (extra overrides, `;`-separated) change what is measured without a
/// rebuild, to try a recipe before writing it into the test.
pub fn calibrate(paper: &dyn ImagePaper, recipe: &str, overrides: &[&str], task: &Task, chance_train_loss: f64, criterion: Criterion, seeds: &[u64]) {
    let seeds: Vec<u64> = match std::env::var("REPRO_CALIBRATE_SEEDS") {
        Ok(v) if !v.is_empty() => v.split(',').map(|s| s.trim().parse().expect("REPRO_CALIBRATE_SEEDS: comma-separated integers")).collect(),
        _ => seeds.to_vec(),
    };
    let paths: Vec<NumericalPath> = match std::env::var("REPRO_CALIBRATE_PATHS") {
        Ok(v) if !v.is_empty() => v
            .split(',')
            .map(|p| {
                NUMERICAL_PATHS
                    .into_iter()
                    .find(|n| p.trim() == format!("{}:{}", if n.kernels == Kernels::Project { "project" } else { "burn" }, n.threads))
                    .expect("REPRO_CALIBRATE_PATHS: project:1, project:2, burn:1 or burn:2")
            })
            .collect(),
        _ => NUMERICAL_PATHS.to_vec(),
    };
    let extra = std::env::var("REPRO_CALIBRATE_SET").unwrap_or_default();
    let overrides: Vec<&str> = overrides.iter().copied().chain(extra.split(';').map(str::trim).filter(|s| !s.is_empty())).collect();
    println!("calibrating {recipe} with {overrides:?} on {} ({})", repro_common::device::cpu_description(), repro_common::device::cpu_features());
    let mut failed = Vec::new();
    let mut finals = Vec::new();
    let mut bests = Vec::new();
    for &seed in &seeds {
        for &path in &paths {
            let outcome = train_task(paper, recipe, &overrides, &Task { seed, ..*task }, Some(path));
            let best = outcome.rows.iter().min_by(|a, b| a.test_error_pct.total_cmp(&b.test_error_pct)).unwrap();
            let verdict = failure(&outcome, task, chance_train_loss, criterion);
            let errors: Vec<String> = outcome.rows.iter().map(|r| format!("{:.1}", r.test_error_pct)).collect();
            println!(
                "task seed {seed:>2}, {path}: final val error {:.1}% (best {:.1}% at epoch {}), {:.0} s; per epoch [{}]: {}{}",
                outcome.final_error(),
                best.test_error_pct,
                best.epoch,
                outcome.seconds,
                errors.join(", "),
                verdict.as_deref().unwrap_or("passes"),
                fall_back(&outcome, task).map(|f| format!("; {f}")).unwrap_or_default()
            );
            finals.push(outcome.final_error());
            bests.push(best.test_error_pct);
            if verdict.is_some() {
                failed.push(format!("seed {seed} ({path})"));
            }
        }
    }
    let mean = finals.iter().sum::<f64>() / finals.len() as f64;
    let worst = finals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let worst_best = bests.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "{recipe} ({criterion:?}): {} of {} runs pass (task seeds {seeds:?} × {} paths); final val error mean {mean:.1}%, worst {worst:.1}%; best epoch's worst {worst_best:.1}%; gate {:.1}%; failing: {failed:?}",
        finals.len() - failed.len(),
        finals.len(),
        paths.len(),
        gate("", task).high
    );
}
