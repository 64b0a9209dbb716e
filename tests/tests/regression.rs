//! Short fixed-budget trainings on the bundled MNIST sample: metrics snapshotted (rounded to what
//! is stable), a floor asserted, and the engine's promises checked: same seed same numbers, an
//! interrupted run resumed to the same numbers, and a non-finite loss stopped cleanly.

use repro_common::records::{RunStatus, load_metrics};
use repro_common::engine::latest_checkpoint;
use repro_lenet::LenetPaper;
use repro_tests::{recipe, sample, train};

/// 2 epochs on the first 2,000 training digits, evaluated on the first 1,000 held-out ones.
const SHORT: &[&str] = &["data.dataset=mnist-sample", "epochs=2", "data.train_limit=2000", "data.eval_limit=1000"];

fn short(name: &str, lr: f64) -> repro_common::config::ExperimentConfig {
    let lr = format!("schedule.steps=[[1, {lr}]]");
    let mut o = SHORT.to_vec();
    o.push(&lr);
    recipe(&LenetPaper, name, &o)
}

fn final_numbers(name: &str, lr: f64, floor_pct: f64) -> String {
    let ds = sample();
    let dir = tempfile::tempdir().unwrap();
    let m = train(&LenetPaper, &short(name, lr), 7, &ds, dir.path(), false, None);
    assert_eq!(m.status, RunStatus::Complete);
    let f = m.final_metrics.unwrap();
    assert!(f.test_error_pct < floor_pct, "{name}: held-out error {:.2}% is above the floor {floor_pct}%", f.test_error_pct);
    // Rounded to one decimal: the same seed gives the same numbers on one machine, but another
    // CPU's float kernels may differ in the last bits.
    format!("{name}: epochs {} train error {:.1}% held-out error {:.1}%", f.epoch, f.train_error_pct, f.test_error_pct)
}

/// The paper's network with SDLM and one update per sample (the `lenet5` recipe).
#[test]
fn lenet5_short_run_on_the_sample() {
    insta::assert_snapshot!(final_numbers("lenet5", 5.0e-5, 25.0));
}

#[test]
fn lenet5_sgd_short_run_on_the_sample() {
    insta::assert_snapshot!(final_numbers("lenet5-sgd", 0.01, 25.0));
}

#[test]
fn lenet5_modern_short_run_on_the_sample() {
    insta::assert_snapshot!(final_numbers("lenet5-modern", 0.01, 15.0));
}

#[test]
fn same_seed_same_numbers() {
    let ds = sample();
    let config = short("lenet5-sgd", 0.01);
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
    let mut config = short("lenet5-modern", 0.01);
    config.epochs = 3;
    config.optimizer = repro_common::config::OptimizerConfig::Sgd { momentum: 0.9, weight_decay: 1e-4 };
    config.data.distortion = Some(repro_common::data::augment::Distortion { probability: 0.5, translate: 2.0, scale: 0.1, squeeze: 0.1, shear: 0.1 });
    let whole = tempfile::tempdir().unwrap();
    let full = train(&LenetPaper, &config, 5, &ds, whole.path(), false, None);
    let parts = tempfile::tempdir().unwrap();
    let first = train(&LenetPaper, &config, 5, &ds, parts.path(), false, Some(1));
    assert_eq!(first.status, RunStatus::Running, "stopped after epoch 1 like an interrupted run");
    assert_eq!(first.epochs_completed, 1);
    let resumed = train(&LenetPaper, &config, 5, &ds, parts.path(), true, None);
    assert_eq!(resumed.status, RunStatus::Complete);
    assert_eq!(resumed.resumed_at_epochs, vec![1]);
    let numbers = |dir: &std::path::Path| load_metrics(dir).unwrap().into_iter().map(|m| (m.epoch, m.train_loss, m.test_loss, m.test_error_pct)).collect::<Vec<_>>();
    assert_eq!(numbers(whole.path()), numbers(parts.path()));
    assert_eq!(full.final_metrics.unwrap().test_error_pct, resumed.final_metrics.unwrap().test_error_pct);
}

#[test]
fn a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let ds = sample();
    let mut config = short("lenet5-modern", 0.01);
    config.schedule.steps = vec![(1, 0.01), (2, 1e30)];
    let dir = tempfile::tempdir().unwrap();
    let m = train(&LenetPaper, &config, 1, &ds, dir.path(), false, None);
    assert_eq!(m.status, RunStatus::Stopped);
    let reason = m.stop_reason.unwrap();
    assert!(reason.contains("epoch 2") && reason.contains("checkpoint of epoch 1"), "{reason}");
    assert_eq!(m.epochs_completed, 1);
    let ckpt = latest_checkpoint(dir.path()).expect("epoch 1 checkpoint kept");
    assert!(ckpt.ends_with("epoch-0001.model.bpk"));
    assert_eq!(load_metrics(dir.path()).unwrap().len(), 1, "the metrics of the good epoch are kept");
}

