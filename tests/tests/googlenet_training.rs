//! A short GoogLeNet training (with the auxiliary classifiers and their 0.3-weighted losses) on
//! generated JPEGs through the ImageNet pipeline. GoogLeNet's fixed 7×7 and 5×5/3 poolings need
//! 224×224 inputs, so the budget is cut in images, not in size. Alone in its test binary: flex
//! draws initial weights and dropout masks from one process-wide generator.

use repro_common::data::{self, DataSource};
use repro_common::records::{RunStatus, load_metrics};
use repro_googlenet::GooglenetPaper;

#[test]
fn googlenet_short_training_with_auxiliary_classifiers() {
    let dir = tempfile::tempdir().unwrap();
    repro_tests::imagenet_tree(dir.path(), "folders");
    let ds = data::load("imagenet", &DataSource::Dir(dir.path().to_owned())).unwrap();
    let config = repro_tests::recipe(&GooglenetPaper, "imagenet-googlenet", &["epochs=2", "batch_size=3", "data.folder.train_scale=[224, 256]", "data.folder.eval_resize=224"]);
    let run = tempfile::tempdir().unwrap();
    let m = repro_tests::train(&GooglenetPaper, &config, 1, &ds, run.path(), false, None);
    assert_eq!((m.status, m.epochs_completed), (RunStatus::Complete, 2));
    let rows = load_metrics(run.path()).unwrap();
    // The training loss includes 0.3 × each auxiliary loss: near (1 + 0.6) ln 3 = 1.8 at the
    // start with three classes; the evaluation loss is the main head's alone, near ln 3 = 1.1.
    assert!(rows[0].train_loss > 1.4 && rows[0].test_loss < 1.4, "{rows:?}");
    let losses: Vec<String> = rows.iter().map(|r| format!("{:.1} / {:.1}", r.train_loss, r.test_loss)).collect();
    insta::assert_snapshot!(format!("googlenet: epochs {}, train / val loss per epoch {losses:?}", rows.len()));
}
