//! AlexNet must learn: a narrow net (width 1/8) at a reduced 67×67 input trained on the
//! generated pattern task through the ImageNet pipeline, with the recipe's optimiser (SGD,
//! momentum 0.9, weight decay 5e-4), scale augmentation, flips, PCA lighting and 10-crop
//! evaluation, ending clearly below chance. Alone in its test binary: burn's flex backend draws
//! initial weights and dropout masks from one process-wide generator.

mod learning;

use learning::{Criterion, PAPER_PIXEL_SCALE, Task, assert_learns, calibrate};
use repro_alexnet::AlexnetPaper;

const TASK: Task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 10 };
// The recipe's 0.01 is for batches of 128; at batch 16 it kills the net within a few
// epochs (every ReLU dead, constant scores), so it is scaled linearly to 0.00125, and
// divided by 10 for the last epochs as the recipe does.
const OVERRIDES: [&str; 8] = [
    "model_options.width=0.125",
    "epochs=30",
    "batch_size=16",
    "schedule.steps=[[1, 0.00125], [26, 0.000125]]",
    PAPER_PIXEL_SCALE,
    "data.folder.crop=67",
    "data.folder.train_scale=[72, 80]",
    "data.folder.eval_resize=72",
];
/// Over which task seeds and numerical paths the gate was calibrated, and how they ended
/// (`calibrate_narrow_alexnet` with `REPRO_CALIBRATE_SEEDS=10,1,2,3`, 2-core AMD EPYC Zen 4).
const CALIBRATED: &str = "task seeds 10 and 1-3 x the project's kernels and burn's at 1 and 2 compute threads (16 runs), on a 2-core AMD EPYC: \
every run passed, final validation error 0-3.1% (mean 0.6%) against a gate of 58.8%; the net leaves chance at epoch 9 on every path of seed 10";

#[test]
fn narrow_alexnet_learns_the_pattern_task() {
    assert_learns(&AlexnetPaper, "imagenet-alexnet", &OVERRIDES, &TASK, 4f64.ln(), Criterion::Final, CALIBRATED);
}

/// Prints what the gate rests on: the test at its task seed and 1–7 on each numerical path.
#[test]
#[ignore = "calibration: run with --ignored --nocapture to re-derive what the gate rests on"]
fn calibrate_narrow_alexnet() {
    calibrate(&AlexnetPaper, "imagenet-alexnet", &OVERRIDES, &TASK, 4f64.ln(), Criterion::Final, &[TASK.seed, 1, 2, 3, 4, 5, 6, 7]);
}
