//! GoogLeNet must learn: a narrow net (width 1/16) with its auxiliary classifiers (0.3-weighted
//! losses) trained on the generated pattern task through the ImageNet pipeline, with the
//! recipe's optimiser (SGD, momentum 0.9, weight decay 2e-4), scale augmentation, flips and PCA
//! lighting, ending clearly below chance. Its fixed 7×7 and 5×5/3 poolings need 224×224 inputs,
//! so the budget is cut in width, not in size. Alone in its test binary: flex draws initial
//! weights and dropout masks from one process-wide generator.

mod learning;

use learning::{Criterion, PAPER_PIXEL_SCALE, Task, assert_learns, calibrate};
use repro_googlenet::GooglenetPaper;
use repro_googlenet::model::AUX_WEIGHT;

const TASK: Task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 12 };
// The recipe's 0.01 (for batches of 32) learns at batch 16; the last two epochs at a tenth of
// it settle the final error (the recipe's 4 % decay every 8 epochs is nothing in 12 epochs).
// Width 1/16 rather than 1/8: each step costs 60 % as much and the net learns in fewer seconds.
const OVERRIDES: [&str; 7] =
    ["model_options.width=0.0625", "epochs=12", "batch_size=16", "schedule.steps=[[1, 0.01], [11, 0.001]]", PAPER_PIXEL_SCALE, "data.folder.train_scale=[224, 256]", "data.folder.eval_resize=224"];
/// Over which task seeds and numerical paths the gate was calibrated, and how they ended.
const CALIBRATED: &str = "TBD";

#[test]
fn narrow_googlenet_learns_the_pattern_task() {
    // The training loss adds 0.3 × each auxiliary head's loss.
    assert_learns(&GooglenetPaper, "imagenet-googlenet", &OVERRIDES, &TASK, (1.0 + 2.0 * AUX_WEIGHT) * 4f64.ln(), Criterion::Final, CALIBRATED);
}

/// Prints what the gate rests on: the test at its task seed and 1–7 on each numerical path.
#[test]
#[ignore = "calibration: run with --ignored --nocapture to re-derive what the gate rests on"]
fn calibrate_narrow_googlenet() {
    calibrate(&GooglenetPaper, "imagenet-googlenet", &OVERRIDES, &TASK, (1.0 + 2.0 * AUX_WEIGHT) * 4f64.ln(), Criterion::Final, &[TASK.seed, 1, 2, 3, 4, 5, 6, 7]);
}
