//! Targeted checks (issue 10) of batch norm's running statistics, on ResNet-20 and tiny generated
//! CIFAR-format data: training moves them, the checkpoint carries them, and a run killed after
//! epoch 1 and resumed ends with the statistics and the metrics of an uninterrupted run.
//!
//! Every test holds one lock for its whole body: burn's flex backend draws initial weights from
//! one process-wide generator, so a model built in a parallel test would change another test's
//! numbers (the resume comparison is exact: same process, same code path).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use burn::module::Module;
use repro_common::config::ExperimentConfig;
use repro_common::data::{self, DataSource, Dataset};
use repro_common::engine;
use repro_common::paper::named_weights;
use repro_common::records::{RunStatus, load_metrics};
use repro_resnet::{CifarResnet, ResnetPaper};
use repro_tests::{cpu, recipe, train, write_cifar10};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// 160 training images (5 batches of 32) and 64 test images in the CIFAR-10 layout.
fn tiny_cifar(dir: &Path) -> Dataset {
    write_cifar10(dir, 32, 64, 21);
    data::load("cifar10-layout", &DataSource::Dir(dir.to_owned())).unwrap()
}

/// The shipped ResNet-20 recipe (momentum, weight decay, crop and flip), short.
fn short_resnet20(epochs: usize) -> ExperimentConfig {
    recipe(&ResnetPaper, "cifar10-resnet20", &["data.dataset=cifar10-layout", &format!("epochs={epochs}"), "batch_size=32"])
}

/// Every BN layer's running mean and variance, by module path (`layer1.0.bn1.running_var`).
fn running_statistics<M: Module>(model: &M) -> Vec<(String, Vec<f32>)> {
    let found: Vec<_> = named_weights(model).into_iter().filter(|(path, _)| path.ends_with("running_mean") || path.ends_with("running_var")).collect();
    assert!(!found.is_empty(), "the model has BN running statistics");
    found
}

/// The running statistics a run's latest checkpoint holds.
fn checkpointed_statistics(run_dir: &Path) -> Vec<(String, Vec<f32>)> {
    let checkpoint = engine::latest_checkpoint(run_dir).expect("a checkpoint");
    running_statistics(&engine::load_weights(CifarResnet::new(3, true, 10, &cpu().device), &checkpoint).unwrap())
}

#[test]
fn training_updates_the_batch_norm_running_statistics() {
    let _serial = serial();
    let data_dir = tempfile::tempdir().unwrap();
    let ds = tiny_cifar(data_dir.path());
    let run = tempfile::tempdir().unwrap();
    train(&ResnetPaper, &short_resnet20(1), 1, &ds, run.path(), false, None);
    let initial = running_statistics(&CifarResnet::new(3, true, 10, &cpu().device));
    let trained = checkpointed_statistics(run.path());
    assert_eq!(initial.len(), trained.len());
    let unmoved: Vec<&str> = initial.iter().zip(&trained).filter(|(a, b)| a.1 == b.1).map(|(a, _)| a.0.as_str()).collect();
    assert!(
        unmoved.is_empty(),
        "after one epoch (5 steps) of training, {} of {} BN running statistics still hold their initial values (mean 0, variance 1), e.g. {:?}: training does not update them (or the checkpoint does not save them)",
        unmoved.len(),
        initial.len(),
        &unmoved[..unmoved.len().min(4)]
    );
}

#[test]
fn a_resumed_batch_norm_net_ends_where_an_uninterrupted_one_does() {
    let _serial = serial();
    let data_dir = tempfile::tempdir().unwrap();
    let ds = tiny_cifar(data_dir.path());
    let config = short_resnet20(3);
    let whole = tempfile::tempdir().unwrap();
    train(&ResnetPaper, &config, 2, &ds, whole.path(), false, None);
    let parts = tempfile::tempdir().unwrap();
    let first = train(&ResnetPaper, &config, 2, &ds, parts.path(), false, Some(1));
    assert_eq!((first.header.status, first.body.epochs_completed), (RunStatus::Running, 1), "stopped after epoch 1 like a killed run");
    let resumed = train(&ResnetPaper, &config, 2, &ds, parts.path(), true, None);
    assert_eq!((resumed.header.status, resumed.body.resumed_at_epochs.as_slice()), (RunStatus::Complete, &[1][..]));

    let (a, b) = (checkpointed_statistics(whole.path()), checkpointed_statistics(parts.path()));
    let differing: Vec<&str> = a.iter().zip(&b).filter(|(x, y)| x.1 != y.1).map(|(x, _)| x.0.as_str()).collect();
    assert!(
        differing.is_empty(),
        "after resuming at epoch 1, {} of {} BN running statistics end different from the uninterrupted run's, e.g. {:?}: the checkpoint does not restore them",
        differing.len(),
        a.len(),
        &differing[..differing.len().min(4)]
    );
    // Exact: the same process and code path. Evaluation uses the running statistics.
    let numbers = |dir: &Path| load_metrics(dir).unwrap().into_iter().map(|m| (m.epoch, m.train_loss, m.train_error_pct, m.test_loss, m.test_error_pct)).collect::<Vec<_>>();
    assert_eq!(numbers(parts.path()), numbers(whole.path()), "per-epoch metrics (epoch, train loss, train error, test loss, test error) of the resumed run vs the uninterrupted one");
}
