//! ResNet-18 (ImageNet, option B) must learn: a narrow net (width 1/8) at a reduced 64×64 input
//! trained on the generated pattern task through the ImageNet pipeline, with the recipe's
//! optimiser (SGD, momentum 0.9, weight decay 1e-4, learning rate 0.1), scale augmentation,
//! flips, PCA lighting, pixels in [0, 1] and 10-crop evaluation, ending clearly below chance.
//! Alone in its test binary: flex draws initial weights from one process-wide generator.

mod learning;

use learning::{Criterion, Task, assert_learns, calibrate};
use repro_resnet::ResnetPaper;

const TASK: Task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 13 };
// The recipe's 0.1, divided by 10 for the last epochs as the recipe does at its plateaus.
const OVERRIDES: [&str; 8] = [
    "model_options.width=0.125",
    "epochs=24",
    "batch_size=16",
    "max_iterations=null",
    "schedule.steps=[[1, 0.1], [19, 0.01]]",
    "data.folder.crop=64",
    "data.folder.train_scale=[64, 80]",
    "data.folder.eval_resize=72",
];
/// Over which task seeds and numerical paths the gate was calibrated, and how they ended
/// (`calibrate_narrow_resnet18` with `REPRO_CALIBRATE_SEEDS=13,1,2,3`, 2-core AMD EPYC Zen 4).
const CALIBRATED: &str = "task seeds 13 and 1-3 x the project's kernels and burn's at 1 and 2 compute threads (16 runs), on a 2-core AMD EPYC: \
every run passed, final validation error 0-6.2% (mean 1.6%) against a gate of 58.8%; seed 13 on burn's kernels fell back above the gate at epoch 8 and recovered";

#[test]
fn narrow_resnet18_learns_the_pattern_task() {
    assert_learns(&ResnetPaper, "imagenet-resnet18", &OVERRIDES, &TASK, 4f64.ln(), Criterion::Final, CALIBRATED);
}

/// Prints what the gate rests on: the test at its task seed and 1–7 on each numerical path.
#[test]
#[ignore = "calibration: run with --ignored --nocapture to re-derive what the gate rests on"]
fn calibrate_narrow_resnet18() {
    calibrate(&ResnetPaper, "imagenet-resnet18", &OVERRIDES, &TASK, 4f64.ln(), Criterion::Final, &[TASK.seed, 1, 2, 3, 4, 5, 6, 7]);
}
