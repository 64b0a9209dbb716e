//! A short VGG-A training at reduced input size (64×64) on generated JPEGs through the ImageNet
//! pipeline. Alone in its test binary: flex draws initial weights and dropout masks from one
//! process-wide generator, so a model built by a parallel test would change the numbers.

use repro_common::data::{self, DataSource};
use repro_common::records::{RunStatus, load_metrics};
use repro_vgg::VggPaper;

#[test]
fn vgg_a_short_training_at_reduced_input_size() {
    let dir = tempfile::tempdir().unwrap();
    repro_tests::imagenet_tree(dir.path(), "txt");
    let ds = data::load("imagenet", &DataSource::Dir(dir.path().to_owned())).unwrap();
    let config = repro_tests::recipe(
        &VggPaper,
        "vgg-a-s256",
        &["epochs=2", "batch_size=3", "max_iterations=null", "schedule.steps=[[1, 0.001]]", "data.folder.crop=64", "data.folder.train_scale=[64, 80]", "data.folder.eval_resize=64"],
    );
    let run = tempfile::tempdir().unwrap();
    let m = repro_tests::train(&VggPaper, &config, 1, &ds, run.path(), false, None);
    assert_eq!((m.status, m.epochs_completed), (RunStatus::Complete, 2));
    let rows = load_metrics(run.path()).unwrap();
    assert!(rows.iter().all(|r| r.train_loss.is_finite() && r.test_loss.is_finite()), "{rows:?}");
    // Rounded, for other CPUs' float kernels: a check of the pipeline and of stable numbers.
    let losses: Vec<String> = rows.iter().map(|r| format!("{:.1}", r.train_loss)).collect();
    insta::assert_snapshot!(format!("vgg-a: epochs {}, train loss per epoch {losses:?}", rows.len()));
}
