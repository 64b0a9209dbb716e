//! Short fixed-budget trainings on the bundled MNIST sample, gated by statistical bands (never by
//! exact floats: burn-flex picks its kernels by CPU features and splits reductions by thread
//! count), and the engine's promises checked: same seed same numbers, an interrupted run resumed
//! to the same numbers, and a non-finite loss stopped cleanly.
//!
//! The short runs go through the shipped recipes' own schedules (their first four epochs), so a
//! changed learning rate moves these numbers too. Each gate rests on the recipe's held-out error
//! over seeds 1–8 on each of the four numerical paths one machine reaches (the project's kernels
//! and burn's, 1 and 2 compute threads: `repro_tests::NUMERICAL_PATHS`), measured with
//! `cargo test --release --workspace --test regression -- --ignored --nocapture`: another CPU
//! acts on a run like another seed or path, so seed 1 must land in the distinct runs' 99.73% prediction
//! interval, at least 3 binomial SE (of the 2,000 held-out digits) wide either side.
//! Two epochs were too few: some seeds had not started learning yet (lenet5-sgd seed 2 at 88.8%).

use repro_common::engine::latest_checkpoint;
use repro_common::gate::{self, Gate};
use repro_common::records::{RunStatus, load_metrics};
use repro_lenet::LenetPaper;
use repro_tests::{NUMERICAL_PATHS, NumericalPath, THREAD_COUNTS, on_this_machine, recipe, sample, train, train_on};

/// 4 epochs on the first 4,000 training digits, evaluated on the sample's 2,000 held-out ones.
const SHORT: &[&str] = &["data.dataset=mnist-sample", "epochs=4", "data.train_limit=4000"];
const HELD_OUT: usize = 2000;
const SEED: u64 = 1;

fn short(name: &str) -> repro_common::config::ExperimentConfig {
    recipe(&LenetPaper, name, SHORT)
}

/// Held-out error % after the short run of `name` with `seed` on `path`.
fn short_run_error(name: &str, seed: u64, path: NumericalPath) -> f64 {
    let ds = sample();
    let dir = tempfile::tempdir().unwrap();
    let m = train_on(path, &LenetPaper, &short(name), seed, &ds, dir.path(), false, None);
    assert_eq!(m.header.status, RunStatus::Complete);
    assert_eq!(m.header.provenance.compute_threads, path.threads, "the manifest records the compute threads");
    m.body.final_metrics.unwrap().test_error_pct
}

/// The gate of one short run, from its held-out error over seeds 1–8 × the four paths. Within a
/// seed, paths that gave the same number count once: burn's kernels at 1 and 2 threads take the
/// same trajectory, and a repeated number is not another draw (it would narrow the band).
fn short_run_gate(name: &str, samples: &[f64; 32]) -> Gate {
    let mut distinct = Vec::new();
    for seed in samples.chunks(NUMERICAL_PATHS.len()) {
        let mut seen: Vec<f64> = Vec::new();
        for &e in seed {
            if !seen.contains(&e) {
                seen.push(e);
            }
        }
        distinct.extend(seen);
    }
    let mean = distinct.iter().sum::<f64>() / distinct.len() as f64;
    let floor = 3.0 * gate::binomial_se_pct(mean, HELD_OUT);
    Gate::predicted(format!("{name}: held-out error % after 4 epochs on 4,000 digits (seed {SEED})"), &distinct, floor, CALIBRATED_OVER, true)
}

/// The short run of `name` at 1 and 2 compute threads on the project's kernels (the default
/// path), each inside the gate.
fn gated_short_run(name: &str, samples: &[f64; 32]) {
    let gate = short_run_gate(name, samples);
    let paths = THREAD_COUNTS.map(|threads| NumericalPath { kernels: repro_common::kernels::Kernels::Project, threads });
    let errors: Vec<f64> = paths.iter().map(|&p| short_run_error(name, SEED, p)).collect();
    for (path, &error) in paths.iter().zip(&errors) {
        if let Err(e) = gate.check(error) {
            panic!("{e} [{path}; errors at {THREAD_COUNTS:?} threads: {errors:?}; {}]", on_this_machine());
        }
    }
}

/// What the gates rest on, in words (a failure prints it).
const CALIBRATED_OVER: &str = "seeds 1–8 × the project's kernels and burn's at 1 and 2 compute threads, on a 2-core AMD EPYC with AVX-512";

/// Held-out error % of each short run at seeds 1–8 on each numerical path, in the order seed 1
/// on `NUMERICAL_PATHS`, then seed 2, ... (`calibrate_short_runs`), on a 2-core AMD EPYC (Zen 4,
/// AVX-512). Means by path (project 1 thread, 2 threads, burn 1, 2): lenet5 4.12, 4.19, 4.41,
/// 4.41; lenet5-sgd 5.22, 5.22, 5.23, 5.23; lenet5-modern 3.73, 3.76, 3.67, 3.67. The paths move a
/// run about as much as a seed does, and burn's kernels give the same numbers at 1 and 2 threads.
const LENET5_SAMPLES: [f64; 32] =
    [3.95, 4.1, 4.3, 4.3, 3.85, 4.25, 4.05, 4.05, 4.9, 4.15, 4.6, 4.6, 3.65, 4.05, 4.0, 4.0, 4.15, 4.25, 5.3, 5.3, 4.6, 4.9, 4.55, 4.55, 3.8, 3.6, 3.7, 3.7, 4.05, 4.25, 4.8, 4.8];
const LENET5_SGD_SAMPLES: [f64; 32] =
    [4.6, 4.6, 4.6, 4.6, 4.6, 4.6, 4.6, 4.6, 5.75, 5.75, 5.8, 5.8, 5.35, 5.35, 5.35, 5.35, 5.1, 5.1, 5.15, 5.15, 5.5, 5.5, 5.5, 5.5, 4.9, 4.9, 4.9, 4.9, 5.95, 5.95, 5.95, 5.95];
const LENET5_MODERN_SAMPLES: [f64; 32] =
    [4.2, 4.25, 4.0, 4.0, 4.25, 4.35, 4.35, 4.35, 3.8, 3.7, 3.65, 3.65, 3.75, 4.2, 3.75, 3.75, 3.25, 3.3, 3.2, 3.2, 3.5, 3.4, 3.4, 3.4, 3.6, 3.45, 3.6, 3.6, 3.45, 3.45, 3.45, 3.45];

/// The paper's network with SDLM and one update per sample (the `lenet5` recipe).
#[test]
fn lenet5_short_run_on_the_sample() {
    gated_short_run("lenet5", &LENET5_SAMPLES);
}

#[test]
fn lenet5_sgd_short_run_on_the_sample() {
    gated_short_run("lenet5-sgd", &LENET5_SGD_SAMPLES);
}

#[test]
fn lenet5_modern_short_run_on_the_sample() {
    gated_short_run("lenet5-modern", &LENET5_MODERN_SAMPLES);
}

/// Prints what the gates above rest on: each recipe's short-run error at seeds 1–8 on each
/// numerical path, as the arrays above, with their spread by path.
#[test]
#[ignore = "calibration: run with --ignored --nocapture to re-derive the gates' samples"]
fn calibrate_short_runs() {
    println!("on {}", on_this_machine());
    for name in ["lenet5", "lenet5-sgd", "lenet5-modern"] {
        let mut samples = Vec::new();
        for seed in 1..=8 {
            for path in NUMERICAL_PATHS {
                let error = short_run_error(name, seed, path);
                println!("{name} seed {seed}, {path}: {error:.2}%");
                samples.push(error);
            }
        }
        let shown: Vec<String> = samples.iter().map(|e| format!("{e}")).collect();
        println!("{name}: [{}]", shown.join(", "));
        for (k, path) in NUMERICAL_PATHS.iter().enumerate() {
            let on_path: Vec<f64> = samples.iter().skip(k).step_by(NUMERICAL_PATHS.len()).copied().collect();
            let mean = on_path.iter().sum::<f64>() / on_path.len() as f64;
            println!("  {path}: mean {mean:.2}% over seeds 1-8");
        }
    }
}

#[test]
fn same_seed_same_numbers() {
    let ds = sample();
    let config = short("lenet5-sgd");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train(&LenetPaper, &config, 3, &ds, a.path(), false, None);
    train(&LenetPaper, &config, 3, &ds, b.path(), false, None);
    let strip = |dir: &std::path::Path| load_metrics(dir).unwrap().into_iter().map(|m| (m.train_loss, m.train_error_pct, m.test_loss, m.test_error_pct)).collect::<Vec<_>>();
    assert_eq!(strip(a.path()), strip(b.path()));
    // And a different seed gives different numbers (the seed is really used).
    let c = tempfile::tempdir().unwrap();
    train(&LenetPaper, &config, 4, &ds, c.path(), false, None);
    assert_ne!(strip(a.path()), strip(c.path()));
}

#[test]
fn resume_reaches_the_same_numbers_as_an_uninterrupted_run() {
    let ds = sample();
    let mut config = short("lenet5-modern");
    config.epochs = 3;
    config.optimizer = repro_common::config::OptimizerConfig::Sgd { momentum: 0.9, weight_decay: 1e-4 };
    config.data.distortion = Some(repro_common::data::augment::Distortion { probability: 0.5, translate: 2.0, scale: 0.1, squeeze: 0.1, shear: 0.1 });
    let whole = tempfile::tempdir().unwrap();
    let full = train(&LenetPaper, &config, 5, &ds, whole.path(), false, None);
    let parts = tempfile::tempdir().unwrap();
    let first = train(&LenetPaper, &config, 5, &ds, parts.path(), false, Some(1));
    assert_eq!(first.header.status, RunStatus::Running, "stopped after epoch 1 like an interrupted run");
    assert_eq!(first.body.epochs_completed, 1);
    let resumed = train(&LenetPaper, &config, 5, &ds, parts.path(), true, None);
    assert_eq!(resumed.header.status, RunStatus::Complete);
    assert_eq!(resumed.body.resumed_at_epochs, vec![1]);
    let numbers = |dir: &std::path::Path| load_metrics(dir).unwrap().into_iter().map(|m| (m.epoch, m.train_loss, m.test_loss, m.test_error_pct)).collect::<Vec<_>>();
    assert_eq!(numbers(whole.path()), numbers(parts.path()));
    assert_eq!(full.body.final_metrics.unwrap().test_error_pct, resumed.body.final_metrics.unwrap().test_error_pct);
}

#[test]
fn a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let ds = sample();
    let mut config = short("lenet5-modern");
    config.schedule.steps = vec![(1, 0.01), (2, 1e30)];
    let dir = tempfile::tempdir().unwrap();
    let m = train(&LenetPaper, &config, 1, &ds, dir.path(), false, None);
    assert_eq!(m.header.status, RunStatus::Stopped);
    let reason = m.header.stop_reason.unwrap();
    assert!(reason.contains("epoch 2") && reason.contains("checkpoint of epoch 1"), "{reason}");
    assert_eq!(m.body.epochs_completed, 1);
    let ckpt = latest_checkpoint(dir.path()).expect("epoch 1 checkpoint kept");
    assert!(ckpt.ends_with("epoch-0001.model.bpk"));
    assert_eq!(load_metrics(dir.path()).unwrap().len(), 1, "the metrics of the good epoch are kept");
}

/// An SDLM run writes each pass's curvature statistics (`curvature.csv`), one row per parameter
/// tensor, and a resumed run replaces the rows of a pass it trains again instead of repeating them.
#[test]
fn sdlm_runs_record_each_passs_curvature_once() {
    use repro_lenet::sdlm::CurvatureStats;
    let ds = sample();
    let config = recipe(&LenetPaper, "lenet5", &["data.dataset=mnist-sample", "epochs=2", "data.train_limit=300", "optimizer.hessian_samples=100"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(repro_lenet::sdlm::CURVATURE_FILE);
    let first = train(&LenetPaper, &config, 1, &ds, dir.path(), false, Some(1));
    assert_eq!(first.body.epochs_completed, 1);
    let pass1: Vec<CurvatureStats> = repro_common::records::load_csv(&file).unwrap();
    let names: Vec<&str> = pass1.iter().map(|c| c.parameter.as_str()).collect();
    assert_eq!(names, ["c1.weight", "c1.bias", "s2.coefficient", "s2.bias", "c3.kernels", "c3.bias", "s4.coefficient", "s4.bias", "c5.weight", "c5.bias", "f6.weight", "f6.bias"]);
    assert_eq!(pass1.iter().map(|c| c.count).sum::<usize>(), 60_000, "every trainable weight has a curvature");
    for c in &pass1 {
        assert!(c.epoch == 1 && c.eta == 5e-4, "{c:?}");
        assert!(0.0 <= c.h_min && c.h_min <= c.h_median && c.h_median <= c.h_max, "{c:?}");
        assert!((c.step_max - c.eta / (0.02 + c.h_min)).abs() < 1e-12 && (c.step_min - c.eta / (0.02 + c.h_max)).abs() < 1e-12, "{c:?}");
    }
    // A crash after pass 2's curvature was written but before its checkpoint leaves a stale pass 2.
    let mut stale = pass1.clone();
    stale.extend(pass1.iter().map(|c| CurvatureStats { epoch: 2, h_median: -1.0, ..c.clone() }));
    repro_common::records::save_csv(&file, &stale).unwrap();
    train(&LenetPaper, &config, 1, &ds, dir.path(), true, None);
    let rows: Vec<CurvatureStats> = repro_common::records::load_csv(&file).unwrap();
    assert_eq!(rows.iter().map(|c| c.epoch).collect::<Vec<_>>(), [vec![1; 12], vec![2; 12]].concat());
    assert_eq!(rows[..12], pass1[..], "pass 1's rows are kept");
    assert!(rows[12..].iter().all(|c| c.h_median >= 0.0 && c.eta == 5e-4), "pass 2's rows are the resumed run's");
}
