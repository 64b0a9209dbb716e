//! LeNet-5's own training step (`papers/lenet/src/fused.rs`) beside burn's graph of the same
//! net: `tests/lenet_fused.rs` compares them in f32, `tests/gradcheck.rs` in f64 (one float
//! type per test process: flex's is set once).

use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use repro_common::engine::{ImageClassifier, StepGradients};
use repro_lenet::Lenet5;
use repro_lenet::lenet5::InitRange;

/// LeNet-5's own step and burn's graph on one batch of random images on `device`: the losses,
/// the correct counts, and the largest gap between the two gradients of each parameter relative to the largest entry of
/// burn's.
pub fn compare(device: &Device, batch: usize) -> Gaps {
    let model = Lenet5::new(10.0, InitRange { range: 3f64.sqrt(), fan_in_power: 0.5 }, device);
    let images = Tensor::<4>::random([batch, 1, 32, 32], Distribution::Uniform(-0.1, 1.175), device);
    let labels: Vec<i64> = (0..batch as i64).map(|k| (k * 7 + 3) % 10).collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), device);

    let StepGradients { loss, right, grads } = model.own_step(&images, &targets).expect("the net's own step runs on flex under autodiff");
    let (scores, burn_loss) = model.training_step(images, targets.clone());
    let burn_right = scores.argmax(1).reshape([batch]).equal(targets).int().sum().into_scalar::<i64>() as usize;
    let burn_loss_value = burn_loss.clone().into_scalar::<f64>();
    let burn_grads = GradientsParams::from_grads(burn_loss.backward(), &model);

    let ours = crate::named_gradients(&model, &grads);
    let theirs = crate::named_gradients(&model, &burn_grads);
    assert_eq!(ours.len(), 12, "C1, S2, C3, S4, C5 and F6, weights and biases");
    assert_eq!(ours.iter().map(|(name, _)| name).collect::<Vec<_>>(), theirs.iter().map(|(name, _)| name).collect::<Vec<_>>(), "the same parameters");
    let gaps = ours
        .iter()
        .zip(&theirs)
        .map(|((name, a), (_, b))| {
            let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
            let gap = a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
            (name.clone(), gap / scale)
        })
        .collect();
    Gaps { loss, burn_loss: burn_loss_value, right, burn_right, gradients: gaps }
}

/// What [`compare`] found.
pub struct Gaps {
    pub loss: f64,
    pub burn_loss: f64,
    pub right: usize,
    pub burn_right: usize,
    /// Each parameter's path and its largest gradient gap relative to burn's largest entry.
    pub gradients: Vec<(String, f64)>,
}
