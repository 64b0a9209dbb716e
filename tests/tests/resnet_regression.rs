//! A short, fixed-budget ResNet-20 training on generated data in the CIFAR-10 binary format,
//! through the real loader and engine: metrics snapshotted, a floor asserted, seeds honoured.

use repro_common::data::{self, DataSource};
use repro_common::records::{RunStatus, load_metrics};
use repro_resnet::ResnetPaper;
use repro_tests::{recipe, train, write_cifar10};

/// 640 training and 200 test images, 4 epochs of batch 32 (80 updates): 0.02, then 0.002 for the
/// last 20 so the BN running statistics settle (with so few updates they otherwise lag the weights).
const SHORT: &[&str] = &["data.dataset=cifar10-layout", "epochs=4", "batch_size=32", "schedule.steps=[[0, 0.02], [60, 0.002]]"];

fn dataset() -> (tempfile::TempDir, data::Dataset) {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 128, 200, 11);
    let ds = data::load("cifar10-layout", &DataSource::Dir(dir.path().to_owned())).unwrap();
    (dir, ds)
}

#[test]
fn resnet20_short_run_on_generated_cifar_data() {
    let (_data, ds) = dataset();
    let config = recipe(&ResnetPaper, "cifar10-resnet20", SHORT);
    let dir = tempfile::tempdir().unwrap();
    let m = train(&ResnetPaper, &config, 7, &ds, dir.path(), false, None);
    assert_eq!(m.status, RunStatus::Complete);
    let f = m.final_metrics.unwrap();
    assert!(f.test_error_pct < 10.0, "test error {:.1}% is above the 10% floor (chance is 90%)", f.test_error_pct);
    let top5 = f.test_top5_error_pct.expect("10 classes: top-5 error is recorded");
    assert!(top5 <= f.test_error_pct, "top-5 error {top5} above top-1 {}", f.test_error_pct);
    insta::assert_snapshot!(format!("resnet20: epochs {} train error {:.0}% test error {:.0}%", f.epoch, f.train_error_pct, f.test_error_pct));
}

#[test]
fn resnet_max_iterations_ends_the_run_inside_an_epoch_and_seeds_repeat() {
    let (_data, ds) = dataset();
    // 20 batches per epoch; stop after 30 updates, in the middle of epoch 2.
    let mut o = SHORT.to_vec();
    o.push("max_iterations=30");
    let config = recipe(&ResnetPaper, "cifar10-resnet20", &o);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let m = train(&ResnetPaper, &config, 3, &ds, a.path(), false, None);
    assert_eq!((m.status, m.epochs_completed), (RunStatus::Complete, 2));
    train(&ResnetPaper, &config, 3, &ds, b.path(), false, None);
    let numbers = |d: &std::path::Path| load_metrics(d).unwrap().into_iter().map(|r| (r.train_loss, r.test_loss)).collect::<Vec<_>>();
    assert_eq!(numbers(a.path()), numbers(b.path()), "same seed, same numbers");
}
