//! ResNet-18 (ImageNet, option B) must learn: a narrow net (width 1/8) at a reduced 64×64 input
//! trained on the generated pattern task through the ImageNet pipeline, with the recipe's
//! optimiser (SGD, momentum 0.9, weight decay 1e-4, learning rate 0.1), scale augmentation,
//! flips, PCA lighting, pixels in [0, 1] and 10-crop evaluation, ending clearly below chance.
//! Alone in its test binary: flex draws initial weights from one process-wide generator.

mod learning;

use learning::{Task, assert_learns};
use repro_resnet::ResnetPaper;

#[test]
fn narrow_resnet18_learns_the_pattern_task() {
    let task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 13 };
    // The recipe's 0.1, divided by 10 for the last epochs as the recipe does at its plateaus.
    let overrides = [
        "model_options.width=0.125",
        "epochs=24",
        "batch_size=16",
        "max_iterations=null",
        "schedule.steps=[[1, 0.1], [19, 0.01]]",
        "data.folder.crop=64",
        "data.folder.train_scale=[64, 80]",
        "data.folder.eval_resize=72",
    ];
    assert_learns(&ResnetPaper, "imagenet-resnet18", &overrides, &task, 4f64.ln());
}
