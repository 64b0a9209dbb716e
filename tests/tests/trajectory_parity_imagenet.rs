//! Optimiser-trajectory parity with PyTorch for the ImageNet-era nets without residuals, AlexNet,
//! VGG and GoogLeNet (the residual nets are in `trajectory_parity.rs`, whose conventions these
//! tests follow): from the same initial weights and the same batches, the shipped recipe's
//! optimiser (momentum 0.9 without dampening, coupled weight decay: 5e-4 for AlexNet and VGG,
//! 2e-4 for GoogLeNet) and schedule (epoch unit, compressed: two epochs of ten steps for AlexNet
//! and VGG, three of six for GoogLeNet's ×0.96 decay) give PyTorch's per-step losses and learning
//! rates and its final weights. GoogLeNet's loss is its `training_step`'s, the auxiliary heads'
//! included. Dropout is off on both sides (the replay switches ours off; the PyTorch nets have
//! none). Golden files: `papers/{alexnet,vgg,googlenet}/parity/make_golden.py --trajectories`
//! through `common/parity/trajectory.py`; the format is in `tests/src/trajectory.rs`.
//!
//! At the recipes' own rates (0.01, then 0.001) these nets stay comparable over the 18 or 20
//! steps (f32 rounding does not grow: the losses agree to ~1e-7 throughout), so unlike the
//! residual nets no tenth is needed. Tolerances leave room for other CPUs' kernels (AVX2 or
//! AVX-512, 1 or 2 threads: about 100 times the losses' measured gap, 10 to 400 times the
//! weights') and stay far below what each planted bug gave (named in each test).

use repro_alexnet::{Alexnet, AlexnetPaper, AlexnetSpec};
use repro_googlenet::{Googlenet, GooglenetPaper};
use repro_tests::trajectory::{Golden, assert_within, parity_dir, replay_gap};
use repro_vgg::{Config, Vgg, VggPaper, VggSpec};

#[test]
fn narrow_alexnet_follows_pytorch_through_the_epoch_drop() {
    // imagenet-alexnet's 0.01, ÷10 at epoch 31, compressed to epochs of 10 steps.
    let config = repro_tests::recipe(&AlexnetPaper, "imagenet-alexnet", &["schedule.steps=[[1, 0.01], [2, 0.001]]"]);
    let golden = Golden::load(&parity_dir("alexnet"), "alexnet-narrow-trajectory");
    // The net of alexnet.rs's forward parity (two groups, LRN), on 99×99 inputs.
    let spec = AlexnetSpec { widths: [8, 16, 24, 24, 16], hidden: 32, classes: 10, ..AlexnetSpec::paper(10) };
    let gap = replay_gap(&config, &golden, |d| Alexnet::new(spec, d));
    // Measured: losses 1.1e-7 apart at most, weights 1.2e-3 of their trajectory (conv1's weights,
    // which moved least: 1.9e-4 at most; every other tensor within 3e-5). Planted: momentum 0.85
    // gave 6.5e-3 and 0.15; no weight decay gave 9.9e-6 and 0.16 (at conv1's biases).
    assert_within(&gap, 1e-5, 2e-2);
}

#[test]
fn narrow_vgg_d_follows_pytorch_through_the_epoch_drop() {
    // vgg-d-s256's 0.01, ÷10 at epoch 31, compressed to epochs of 10 steps.
    let config = repro_tests::recipe(&VggPaper, "vgg-d-s256", &["schedule.steps=[[1, 0.01], [2, 0.001]]"]);
    let golden = Golden::load(&parity_dir("vgg"), "vgg-d-narrow-trajectory");
    // Configuration D at width 1/32 (2-4-8-16-16 kernels, FC 128-128-10), on 32×32 inputs; the
    // recipe's initialisation is irrelevant (the weights are PyTorch's, Glorot-uniform).
    let spec = VggSpec { width: 1.0 / 32.0, ..repro_vgg::spec("vgg-d", 10).unwrap() };
    assert_eq!((spec.config, spec.batch_norm), (Config::D, false));
    let gap = replay_gap(&config, &golden, |d| Vgg::new(spec, d));
    // Measured: losses 2.1e-7 apart at most, weights 2.6e-5 of their trajectory. Planted:
    // momentum 0.85 gave 7.0e-3 and 0.28; no weight decay gave 9.5e-5 and 0.31 (both most at
    // convs.1's weights).
    assert_within(&gap, 1e-5, 1e-2);
}

#[test]
fn narrow_googlenet_with_its_auxiliary_heads_follows_pytorch_through_the_decay() {
    // imagenet-googlenet's 0.01 ×0.96 every 8 epochs, compressed to epochs of 6 steps.
    let config = repro_tests::recipe(&GooglenetPaper, "imagenet-googlenet", &["schedule.steps=[[1, 0.01], [2, 0.0096], [3, 0.009216]]"]);
    let golden = Golden::load(&parity_dir("googlenet"), "googlenet-narrow-trajectory");
    // The whole net at width 1/16 (as googlenet_training.rs) with both auxiliary heads, whose
    // 0.3-weighted losses `training_step` adds; LRN, ceil-mode pools, 2 images of 224×224 (the
    // fixed 7×7 average pool needs them). Weights PyTorch's: Xavier-uniform convolutions.
    let gap = replay_gap(&config, &golden, |d| Googlenet::with_width(10, true, 1.0 / 16.0, d));
    // Measured: the 18 losses equal in f32, weights 1.5e-4 of their trajectory (a 3e-8 gap, one
    // rounding, at inception.5.b3_reduce's weights, which moved 2e-4; the heads' tensors within
    // 1.2e-6). Planted: momentum 0.85 gave 3.4e-2 and 0.51 (at inception.6.b3_reduce's biases);
    // no weight decay gave 3.4e-5 and 1.0 (at inception.0.b3_reduce's weights, a dead column
    // that only the decay moves); heads weighted 1, not 0.3 (recorded on PyTorch's side), 0.87
    // (step 0: 7.01 for 3.76) and 8.8.
    assert_within(&gap, 1e-5, 2e-3);
}
