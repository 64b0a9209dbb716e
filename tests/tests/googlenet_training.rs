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
// The recipe's 0.01 is for batches of 32: scaled linearly to 0.005 for these 16, and a tenth of
// it for the last two epochs (the recipe's 4 % decay every 8 epochs is nothing in 12 epochs).
// Width 1/16 rather than 1/8: each step costs 60 % as much and the net learns in fewer seconds.
//
// What it asks: that the net leave chance (`Criterion::LeavesChance`), not where it ends. GoogLeNet
// here has no normalisation (LRN only) and falls back towards chance now and then after leaving
// it, on seeds and paths alike. The previous test (0.01 for 10 epochs, final epoch gated) passed at
// its own task seed but, over task seeds 12 and 1–6, failed at seed 6 on the project's kernels at
// 2 threads (71.9%: it left chance at epoch 5, then died), and its finals reached 46.9% elsewhere.
// At 0.005 the falls are fewer but remain (a final of 56.2% against a gate of 58.8% at seed 6, one
// thread), so the final epoch is not a gate; leaving chance is what an untrained net, or one
// whose gradients or data are broken, never does: under `REPRO_GATE_SELF_CHECK=shuffled-labels`
// (run once) its best epoch was 78.1%.
const OVERRIDES: [&str; 7] =
    ["model_options.width=0.0625", "epochs=12", "batch_size=16", "schedule.steps=[[1, 0.005], [11, 0.0005]]", PAPER_PIXEL_SCALE, "data.folder.train_scale=[224, 256]", "data.folder.eval_resize=224"];
/// Over which task seeds and numerical paths the gate was calibrated, and how they ended
/// (`calibrate_narrow_googlenet`, 2-core AMD EPYC Zen 4 with AVX-512).
const CALIBRATED: &str = "task seeds 12 and 1-7 x the project's kernels and burn's at 1 and 2 compute threads (32 runs), on a 2-core AMD EPYC: \
every run left chance, the worst at its best epoch at 37.5% validation error against a gate of 58.8% (3.9 binomial SE of margin); \
final errors 0-56.2%; burn's kernels give the same numbers at 1 and 2 threads";

#[test]
fn narrow_googlenet_learns_the_pattern_task() {
    // The training loss adds 0.3 × each auxiliary head's loss.
    assert_learns(&GooglenetPaper, "imagenet-googlenet", &OVERRIDES, &TASK, (1.0 + 2.0 * AUX_WEIGHT) * 4f64.ln(), Criterion::LeavesChance, CALIBRATED);
}

/// Prints what the gate rests on: the test at its task seed and 1–7 on each numerical path.
#[test]
#[ignore = "calibration: run with --ignored --nocapture to re-derive what the gate rests on"]
fn calibrate_narrow_googlenet() {
    calibrate(&GooglenetPaper, "imagenet-googlenet", &OVERRIDES, &TASK, (1.0 + 2.0 * AUX_WEIGHT) * 4f64.ln(), Criterion::LeavesChance, &[TASK.seed, 1, 2, 3, 4, 5, 6, 7]);
}
