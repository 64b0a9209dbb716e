//! AlexNet must learn: a narrow net (width 1/8) at a reduced 67×67 input trained on the
//! generated pattern task through the ImageNet pipeline, with the recipe's optimiser (SGD,
//! momentum 0.9, weight decay 5e-4), scale augmentation, flips, PCA lighting and 10-crop
//! evaluation, ending clearly below chance. Alone in its test binary: burn's flex backend draws
//! initial weights and dropout masks from one process-wide generator.

mod learning;

use learning::{PAPER_PIXEL_SCALE, Task, assert_learns};
use repro_alexnet::AlexnetPaper;

#[test]
fn narrow_alexnet_learns_the_pattern_task() {
    let task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 10 };
    // The recipe's 0.01 is for batches of 128; at batch 16 it kills the net within a few
    // epochs (every ReLU dead, constant scores), so it is scaled linearly to 0.00125, and
    // divided by 10 for the last epochs as the recipe does.
    let overrides = [
        "model_options.width=0.125",
        "epochs=30",
        "batch_size=16",
        "schedule.steps=[[1, 0.00125], [26, 0.000125]]",
        PAPER_PIXEL_SCALE,
        "data.folder.crop=67",
        "data.folder.train_scale=[72, 80]",
        "data.folder.eval_resize=72",
    ];
    assert_learns(&AlexnetPaper, "imagenet-alexnet", &overrides, &task, 4f64.ln());
}
