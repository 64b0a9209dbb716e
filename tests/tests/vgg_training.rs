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
//! dead). Run it with `cargo test --release --workspace --test vgg_training -- --ignored narrow_vgg_a`.
//! torchvision's `vgg-a-bn` at the same width and budget (lr 0.01, 0.02; 16 and 30 epochs) did not
//! pass either (65.6% validation error; 0.05 diverged), unlike the narrow ResNet-18.

mod learning;

use learning::{Criterion, PAPER_PIXEL_SCALE, Task, assert_learns, calibrate};
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
    assert_learns(&VggPaper, "vgg-a-s256", &overrides, &task, 4f64.ln(), Criterion::Final, "not calibrated: ignored (see the file's comment)");
}

/// VGG-D's test task and its overrides of the recipe.
const D_TASK: Task = Task { side: 96, train_per_class: 64, val_per_class: 16, seed: 11 };
// Configuration D (16 weight layers) from the shipped initialisation (Glorot's, §3.1), narrowed
// and at a reduced input size for a test's budget, at batch 16 (the recipe's 0.01 is for 256):
// 0.003 for 4 epochs to leave chance, then 0.001, and 0.0001 for the last 4. Pixels on the
// papers' 0-255 scale: at the recipe's [0, 1] D stays at chance here too.
//
// What it asks, and why: that the net *leave chance* (`Criterion::LeavesChance`: at some epoch its
// validation error is 3 binomial SE below chance and its training loss below a uniform guess's),
// not where it ends. Without normalisation, at batch 16 and 0-255 inputs, this net's training loss
// spikes now and then at any rate tried (0.003, 0.002, 0.001; batch 32 at 0.003 and 0.006: each on
// task seeds 11 and 1–7, both kernel sets), sending it back towards chance for a few epochs; which
// runs spike depends on the seed and the numerical path alike. The previous test (0.003 for 8
// epochs, 0.0003 for 4; its final epoch gated) failed 4 of 32 runs here (task seed 11 and 3 on
// burn's kernels, at 68.8% and 64.1%), and on an Intel Xeon at seed 11 on the project's kernels;
// its final errors spread from 0 to 69%. A bimodal final number is not a gate. Leaving chance is
// what the test is about: the planted bug it is named after, D from N(0, 0.01²) (the recipe before
// Glorot's), never leaves chance (planted once, below). A fall back is printed, not hidden.
const D_OVERRIDES: [&str; 9] = [
    "model_options.width=0.125",
    "epochs=18",
    "batch_size=16",
    "max_iterations=null",
    "schedule.steps=[[1, 0.003], [5, 0.001], [15, 0.0001]]",
    "data.folder.crop=64",
    "data.folder.train_scale=[64, 80]",
    "data.folder.eval_resize=64",
    PAPER_PIXEL_SCALE,
];
/// Over which task seeds and numerical paths the gate was calibrated, and how they ended
/// (`calibrate_narrow_vgg_d`, 2-core AMD EPYC Zen 4 with AVX-512, L1d 32K 8-way).
const D_CALIBRATED: &str = "task seeds 11 and 1-7 x the project's kernels and burn's at 1 and 2 compute threads (32 runs), on a 2-core AMD EPYC: \
every run left chance, the worst at its best epoch at 26.6% validation error against a gate of 58.8% (5.9 binomial SE of margin), every one by epoch 8 of 18; \
final errors 0-39.1% (mean 9.1%); burn's kernels give the same numbers at 1 and 2 threads. \
With gemm blocked as on a 48K 12-way L1d (tests/with-cache-geometry 48K 12, an Intel Xeon's), task seeds 11 and 1-3 x the project's kernels at 2 threads and burn's at 1 \
took other trajectories and all 8 left chance (best at most 1.6%, final 0-1.6%)";
// The planted bug, run once (2-core AMD EPYC, project's kernels, 2 threads): D from N(0, 0.01²)
// in `spec` (papers/vgg/src/lib.rs) with this test stays at 75.0% validation error and a training
// loss of 1.386 (ln 4) every epoch of the 18, and fails "never left chance". The gate's own
// checks fail it too, each run once: `REPRO_GATE_SELF_CHECK=shuffled-labels` (best 75.0%, at
// epoch 3; the best of 18 epochs is no easier a bar for a net that learned nothing) and
// `REPRO_GATE_SELF_CHECK=untrained` (75.0% throughout).

#[test]
fn narrow_vgg_d_learns_the_pattern_task_from_glorots_initialisation() {
    assert_learns(&VggPaper, "vgg-d-s256", &D_OVERRIDES, &D_TASK, 4f64.ln(), Criterion::LeavesChance, D_CALIBRATED);
}

/// Prints what VGG-D's gate rests on: the test at task seeds 11 and 1–7 on each numerical path.
#[test]
#[ignore = "calibration: run with --ignored --nocapture to re-derive what the gate rests on"]
fn calibrate_narrow_vgg_d() {
    calibrate(&VggPaper, "vgg-d-s256", &D_OVERRIDES, &D_TASK, 4f64.ln(), Criterion::LeavesChance, &[D_TASK.seed, 1, 2, 3, 4, 5, 6, 7]);
}
