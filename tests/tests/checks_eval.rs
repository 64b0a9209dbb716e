//! Targeted check (issue 10): `engine::evaluate` is deterministic and is the inference-mode
//! forward pass — dropout off, batch norm on its running statistics — even when it is handed the
//! training (autodiff) model, as the engine does after every epoch. Checked on a dropout net
//! (a narrow AlexNet, 10-crop) and a BN net (ResNet-20 after one epoch on generated CIFAR data).
//!
//! Every test holds one lock for its whole body: burn's flex backend draws initial weights and
//! dropout masks from one process-wide generator, so a model built in a parallel test would
//! change another test's numbers.

use std::sync::{Mutex, MutexGuard};

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use repro_alexnet::{Alexnet, AlexnetPaper, AlexnetSpec};
use repro_common::data::source::{ImageSource, build_batch};
use repro_common::data::{self, DataSource};
use repro_common::engine::{self, Evaluation, ImageClassifier};
use repro_resnet::{CifarResnet, ResnetPaper};
use repro_tests::{cpu, imagenet_tree, recipe, write_cifar10};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The training device, as the engine makes it: autodiff on top of the CPU backend.
fn training_device(seed: u64) -> Device {
    let device = cpu().device.autodiff();
    device.seed(seed);
    device
}

/// Every item of `source` in one batch, as evaluation sees it (no augmentation).
fn whole_split(source: &dyn ImageSource) -> (Vec<f32>, Vec<i64>, [usize; 4], usize) {
    let indices: Vec<usize> = (0..source.len()).collect();
    let b = build_batch(source, &indices, None).unwrap();
    (b.images, b.labels, b.shape, b.views)
}

fn scores_of<M: ImageClassifier>(model: &M, images: &[f32], shape: [usize; 4], device: &Device) -> Vec<f32> {
    let x = Tensor::<4>::from_data(burn::tensor::TensorData::new(images.to_vec(), shape), device);
    model.scores(x).into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

/// Loss and top-1 error (%) of `model` on `source`, worked out here from the scores of its
/// inference copy (`valid()`, on the plain device): the softmax cross-entropy for one view; for
/// several, the negative log of the true class's softmax probability averaged over the views
/// (floored at 1e-12, as the engine does).
fn by_hand<M: ImageClassifier>(model: &M, source: &dyn ImageSource) -> (f64, f64) {
    let (images, labels, shape, views) = whole_split(source);
    let scores = scores_of(&model.valid(), &images, shape, &cpu().device);
    let classes = scores.len() / shape[0];
    let (mut loss, mut wrong) = (0f64, 0usize);
    for (item, &label) in labels.iter().enumerate() {
        let label = label as usize;
        // Log-probabilities of each view.
        let log_probs: Vec<Vec<f64>> = (0..views)
            .map(|v| {
                let s = &scores[(item * views + v) * classes..(item * views + v + 1) * classes];
                let max = s.iter().fold(f32::MIN, |m, &x| m.max(x)) as f64;
                let log_z = s.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln() + max;
                s.iter().map(|&x| x as f64 - log_z).collect()
            })
            .collect();
        let probs: Vec<f64> = (0..classes).map(|k| log_probs.iter().map(|l| l[k].exp()).sum::<f64>() / views as f64).collect();
        loss -= if views == 1 { log_probs[0][label] } else { probs[label].max(1e-12).ln() };
        // As the engine counts: a tie with the true class is wrong.
        wrong += probs.iter().enumerate().any(|(k, &p)| k != label && p >= probs[label]) as usize;
    }
    (loss / labels.len() as f64, 100.0 * wrong as f64 / labels.len() as f64)
}

fn assert_matches_by_hand(net: &str, e: &Evaluation, (loss, error): (f64, f64)) {
    assert!(
        (e.loss - loss).abs() <= 1e-4 * loss.abs().max(1.0) && e.error_pct == error,
        "{net}: engine::evaluate gave loss {} / error {}%, but the inference-mode forward pass (dropout off, BN running statistics) gives loss {loss} / error {error}%: \
         evaluation is not running the model in inference mode",
        e.loss,
        e.error_pct
    );
}

#[test]
fn evaluating_a_dropout_net_is_deterministic_and_runs_with_dropout_off() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    imagenet_tree(dir.path(), "folders");
    let ds = data::load("imagenet", &DataSource::Dir(dir.path().to_owned())).unwrap();
    let config = recipe(&AlexnetPaper, "imagenet-alexnet", &["data.folder.crop=67", "data.folder.train_scale=[72, 80]", "data.folder.eval_resize=72"]);
    let (_, eval) = ds.sources(&config.data).unwrap();
    assert_eq!(eval.views(), 10, "the recipe's 10-crop protocol");
    // The paper's layout (two groups, LRN, dropout 0.5 in FC6 and FC7), narrow enough to be quick.
    let spec = AlexnetSpec { widths: [8, 16, 16, 16, 16], hidden: 64, input: 67, paper_init: false, ..AlexnetSpec::paper(3) };
    let device = training_device(1);
    let model = Alexnet::new(spec, &device);

    let first = engine::evaluate(&model, eval.as_ref(), &device).unwrap();
    let second = engine::evaluate(&model, eval.as_ref(), &device).unwrap();
    assert_eq!(first, second, "AlexNet: two evaluations of the same model on the same data differ: dropout (or another random choice) is active during evaluation");
    assert_matches_by_hand("AlexNet", &first, by_hand(&model, eval.as_ref()));

    // The check has teeth: a training-mode forward pass of this model does drop units.
    let (images, _, shape, _) = whole_split(eval.as_ref());
    let inference = scores_of(&model.valid(), &images, shape, &cpu().device);
    let training = scores_of(&model, &images, shape, &device);
    assert_ne!(training, inference, "a training-mode forward pass should apply dropout and change the scores");
}

#[test]
fn evaluating_a_batch_norm_net_is_deterministic_and_uses_the_running_statistics() {
    let _serial = serial();
    let data_dir = tempfile::tempdir().unwrap();
    write_cifar10(data_dir.path(), 32, 64, 11);
    let ds = data::load("cifar10-layout", &DataSource::Dir(data_dir.path().to_owned())).unwrap();
    let config = recipe(&ResnetPaper, "cifar10-resnet20", &["data.dataset=cifar10-layout", "epochs=1", "batch_size=32"]);
    // One epoch, so the running statistics are the training's, not the initial 0 and 1.
    let run = tempfile::tempdir().unwrap();
    let manifest = repro_tests::train(&ResnetPaper, &config, 1, &ds, run.path(), false, None);
    let recorded = manifest.body.final_metrics.expect("one epoch recorded");
    let (_, eval) = ds.sources(&config.data).unwrap();
    let device = training_device(1);
    let checkpoint = engine::latest_checkpoint(run.path()).expect("epoch 1 checkpoint");
    let model = engine::load_weights(CifarResnet::new(3, true, 10, &device), &checkpoint).unwrap();

    let first = engine::evaluate(&model, eval.as_ref(), &device).unwrap();
    let second = engine::evaluate(&model, eval.as_ref(), &device).unwrap();
    assert_eq!(first, second, "ResNet-20: two evaluations of the same model on the same data differ");
    // Same process, same code path: the engine's own end-of-epoch evaluation saw these numbers.
    assert_eq!((first.loss, first.error_pct), (recorded.test_loss, recorded.test_error_pct), "ResNet-20: evaluating the checkpoint differs from the recorded epoch-1 evaluation");
    assert_matches_by_hand("ResNet-20", &first, by_hand(&model, eval.as_ref()));

    // The check has teeth: in training mode BN normalises with the batch's own statistics.
    // (Last: a training-mode pass also moves the model's running statistics.)
    let (images, _, shape, _) = whole_split(eval.as_ref());
    let inference = scores_of(&model.valid(), &images, shape, &cpu().device);
    let training = scores_of(&model, &images, shape, &device);
    assert_ne!(training, inference, "a training-mode forward pass should normalise with batch statistics and change the scores");
}
