//! VGG-A must learn: a narrow net (width 1/8) at a reduced 64×64 input trained on the generated
//! pattern task through the ImageNet pipeline, with the recipe's optimiser (SGD, momentum 0.9,
//! weight decay 5e-4, learning rate 0.01), scale augmentation, flips and PCA lighting, ending
//! clearly below chance. Alone in its test binary: flex draws initial weights and dropout masks
//! from one process-wide generator.
//!
//! Not yet a gate (ignored). Until issue 11 the paper-initialised biases never trained (built as
//! parameters autodiff did not track; `every_weight_trains.rs` now guards that). With them
//! training, task seeds 11, 1, 2 and 3 end at 28.1, 71.9, 32.8 and 6.2% validation error: one in
//! four above the gate, so it stays ignored. Before the fix: with the recipe's N(0, 0.01²)
//! initialisation the net's logits differed between images by 8e-7 at initialisation with the
//! recipe's [0, 1] pixels (it never left chance), and by 2e-4 with the paper's 0-255 pixels, where
//! it left chance after about 200 steps but then often collapsed to constant scores (every ReLU
//! dead). Run it with `cargo test --release -p repro-tests --test vgg_training -- --ignored`.
//! torchvision's `vgg-a-bn` at the same width and budget (lr 0.01, 0.02; 16 and 30 epochs) did not
//! pass either (65.6% validation error; 0.05 diverged), unlike the narrow ResNet-18.

mod learning;

use learning::{PAPER_PIXEL_SCALE, Task, assert_learns};
use repro_vgg::VggPaper;

#[test]
#[ignore = "VGG-A from the recipe's initialisation does not learn reliably in a test's budget (see the file's comment)"]
fn narrow_vgg_a_learns_the_pattern_task() {
    let task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 11 };
    // The recipe's 0.01 (for batches of 256) until the net leaves chance, then 0.003.
    let overrides = [
        "model_options.width=0.125",
        "epochs=32",
        "batch_size=16",
        "max_iterations=null",
        "schedule.steps=[[1, 0.01], [18, 0.003]]",
        PAPER_PIXEL_SCALE,
        "data.folder.crop=64",
        "data.folder.train_scale=[64, 80]",
        "data.folder.eval_resize=64",
    ];
    assert_learns(&VggPaper, "vgg-a-s256", &overrides, &task, 4f64.ln());
}

#[test]
fn narrow_vgg_d_learns_the_pattern_task_from_glorots_initialisation() {
    // Configuration D (16 weight layers) from the shipped initialisation (Glorot's, §3.1), with
    // 0.003 and one ÷10 drop at epoch 9 (the recipe's 0.01 is for batches of 256; these are 16),
    // narrowed and at a reduced input size for a test's budget. Measured over task seeds 11 and
    // 1–7: 4.7, 7.8, 7.8, 6.2, 17.2, 39.1, 0.0 and 23.4% validation error after 12 epochs
    // (~16 s each; the gate is about 59%). At 0.01 until epoch 7 (this test before) the same
    // seeds ended between 20 and 55%, or at chance for about one seed in ten, under burn's
    // convolution gradients and the project's alike: the net left chance, then collapsed.
    // Planted: D from N(0, 0.01²) (the recipe before) stays at 75.0%, chance, every epoch.
    // Pixels on the papers' 0-255 scale: at the recipe's [0, 1] D stays at chance here too.
    let task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 11 };
    let overrides = [
        "model_options.width=0.125",
        "epochs=12",
        "batch_size=16",
        "max_iterations=null",
        "schedule.steps=[[1, 0.003], [9, 0.0003]]",
        "data.folder.crop=64",
        "data.folder.train_scale=[64, 80]",
        "data.folder.eval_resize=64",
        PAPER_PIXEL_SCALE,
    ];
    assert_learns(&VggPaper, "vgg-d-s256", &overrides, &task, 4f64.ln());
}
