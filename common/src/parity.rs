//! Device parity: the same weights and the same batch on two devices must give the same class
//! scores, the same loss and the same optimizer step, within tolerances fixed here before any
//! device ran. f32 kernels differ in summation order, and a GPU may choose other convolution and
//! matrix algorithms, so exact equality is not expected; a wrong kernel, a transfer that drops or
//! reorders data, or an optimizer state kept on the wrong device is far outside them.
//!
//! Each error is relative to the reference's own scale, so one tolerance serves a small net's
//! scores and a deep one's: scores and loss to the largest |value| of the reference, the step to the
//! largest change the reference's step made to any weight (the step itself is compared, not the
//! weights it barely moved).

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::config::{ExperimentConfig, OptimizerConfig};
use crate::data::source::HostBatch;
use crate::device::Selected;
use crate::engine::{ImageClassifier, TrainError, make_optimizer, to_device};
use crate::paper::named_weights;

/// Largest |Δ score| / largest |reference score|, in evaluation mode.
pub const SCORES_TOLERANCE: f64 = 1e-3;
/// |Δ loss| / |reference loss| of the training step.
pub const LOSS_TOLERANCE: f64 = 1e-3;
/// Largest |Δ weight after the step| / largest |reference step| over every weight. Backward
/// passes through many batch norms amplify rounding: a 50-layer residual net (width 1/8, batch 2) measured
/// 4.5e-3 between burn's two correct CPU backends (flex and ndarray), at conv1, the deepest point
/// of the backward pass; a 20-layer residual net 1.2e-6, a 16-layer plain one 8.6e-8. A frozen or wrong layer is O(1).
pub const STEP_TOLERANCE: f64 = 5e-2;

/// What a parity check measured (errors relative, as described above).
#[derive(Debug, Clone, PartialEq)]
pub struct Parity {
    pub scores_error: f64,
    pub loss_error: f64,
    pub step_error: f64,
    /// The weight (path in the module tree) whose step differs most between the devices.
    pub worst_weight: String,
    /// Weights compared after the step (buffers such as BN's running statistics included).
    pub weights: usize,
}

impl Parity {
    pub fn passes(&self) -> bool {
        // NaN fails every comparison, as it should.
        self.scores_error <= SCORES_TOLERANCE && self.loss_error <= LOSS_TOLERANCE && self.step_error <= STEP_TOLERANCE
    }

    /// Which measurements are outside their tolerance, e.g. `step 3.1e-1 > 1e-2`.
    pub fn failures(&self) -> Vec<String> {
        [("scores", self.scores_error, SCORES_TOLERANCE), ("loss", self.loss_error, LOSS_TOLERANCE), ("step", self.step_error, STEP_TOLERANCE)]
            .into_iter()
            .filter(|(_, e, tol)| e.is_nan() || e > tol)
            .map(|(what, e, tol)| if what == "step" { format!("{what} {e:.1e} > {tol:.0e} (most at `{}`)", self.worst_weight) } else { format!("{what} {e:.1e} > {tol:.0e}") })
            .collect()
    }
}

/// Planted faults, to prove the check catches what it is named after (`harness smoke
/// --self-check`): a check that passes with one of these planted is no check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedFault {
    /// The target's first layer's weights 1 % larger.
    Weight,
    /// The target's batch has its first image zeroed, as a transfer that lost it would.
    Batch,
}

/// Builds `init`'s net on `reference` (seeded), copies it to `target`, and runs on both: scores in
/// evaluation mode, then one training step of the recipe's optimizer at its first learning rate
/// (a paper's own optimiser: a plain SGD step, its rescaling being estimated from other samples). Dropout is
/// switched off ([`without_dropout`]): its masks come from each device's own generator.
pub fn compare<M: ImageClassifier>(
    config: &ExperimentConfig,
    reference: &Selected,
    target: &Selected,
    batch: &HostBatch,
    fault: Option<PlantedFault>,
    init: impl Fn(&Device) -> M,
) -> Result<Parity, TrainError> {
    let ref_device = reference.device.clone().autodiff();
    ref_device.seed(1);
    let model_ref = without_dropout(init(&ref_device));
    let target_device = target.device.clone().autodiff();
    // Through a checkpoint file, as a resumed run loads one: a clone would share BN's running
    // statistics with the reference (burn keeps them behind one shared cell).
    let (mut model_target, _file) = copy_through_file(&model_ref, init(&target_device))?;
    if fault == Some(PlantedFault::Weight) {
        model_target = first_layer_scaled(model_target);
    }
    let target_batch = match fault {
        Some(PlantedFault::Batch) => first_image_zeroed(batch),
        _ => batch.clone(),
    };

    let scores = |model: &M, batch: HostBatch, device: &Device| -> Vec<f32> {
        let (x, _) = to_device(batch, &device.clone().without_autodiff());
        floats(model.valid().scores(x))
    };
    let (s_ref, s_target) = (scores(&model_ref, batch.clone(), &ref_device), scores(&model_target, target_batch.clone(), &target_device));

    let lr = config.schedule.lr(1, 0);
    let before = named_weights(&model_ref);
    let step = |model: M, batch: HostBatch, device: &Device| -> (f64, Vec<(String, Vec<f32>)>) {
        let (x, y) = to_device(batch, device);
        // The step training makes on each device (a model's own step where it has one).
        let crate::engine::StepGradients { loss: value, grads, .. } = crate::engine::gradients(&model, x, y);
        let mut optimizer = make_optimizer(&config.optimizer);
        let model = optimizer.step(lr, model, grads);
        // `valid()` merges BN's pending running-statistics update, which module visitors skip.
        (value, named_weights(&model.valid()))
    };
    let (loss_ref, after_ref) = step(model_ref, batch.clone(), &ref_device);
    let (loss_target, after_target) = step(model_target, target_batch, &target_device);

    let scale = |v: &[f32]| v.iter().fold(0f64, |m, &x| m.max((x as f64).abs()));
    let largest_gap = |a: &[f32], b: &[f32]| {
        if a.len() != b.len() {
            return f64::NAN;
        }
        a.iter().zip(b).fold(0f64, |m, (&x, &y)| {
            let d = (x as f64 - y as f64).abs();
            if d.is_nan() || m.is_nan() { f64::NAN } else { m.max(d) }
        })
    };
    let relative = |gap: f64, scale: f64| gap / scale.max(f64::MIN_POSITIVE);
    let step_scale = after_ref.iter().zip(&before).fold(0f64, |m, ((_, a), (_, b))| m.max(largest_gap(a, b)));
    // The weight whose step differs most, named so a failure points at a layer.
    let (mut step_gap, mut worst_weight) = (0f64, String::new());
    for ((name, a), (_, b)) in after_ref.iter().zip(&after_target) {
        let gap = largest_gap(a, b);
        if gap.is_nan() || gap > step_gap {
            (step_gap, worst_weight) = (gap, name.clone());
        }
        if gap.is_nan() {
            break;
        }
    }
    if std::env::var_os("REPRO_PARITY_DEBUG").is_some() {
        for (((name, a), (_, b)), (_, c)) in after_ref.iter().zip(&after_target).zip(&before) {
            eprintln!("{name}: ref step {:.3e}, target step {:.3e}, gap {:.3e}", largest_gap(a, c), largest_gap(b, c), largest_gap(a, b));
        }
    }
    if after_ref.len() != after_target.len() {
        step_gap = f64::NAN;
    }
    Ok(Parity {
        scores_error: relative(largest_gap(&s_ref, &s_target), scale(&s_ref)),
        loss_error: relative((loss_ref - loss_target).abs(), loss_ref.abs()),
        step_error: relative(step_gap, step_scale),
        worst_weight,
        weights: after_ref.iter().map(|(_, w)| w.len()).sum(),
    })
}

/// One recorded training step: its batch and the 1-based epoch it belongs to (the unit of an
/// epoch schedule; an iteration schedule counts the steps themselves from 0).
#[derive(Debug, Clone)]
pub struct RecordedStep {
    pub batch: HostBatch,
    pub epoch: usize,
}

/// What replaying recorded steps gave: the trained model, and each step's training loss (before
/// its update) and learning rate.
pub struct Replayed<M> {
    pub model: M,
    pub losses: Vec<f64>,
    pub learning_rates: Vec<f64>,
}

/// Trains `model` through `steps` as the engine trains: the recipe's optimizer
/// ([`make_optimizer`]), its schedule read at each step's epoch and iteration, and the engine's
/// step and update ([`crate::engine::gradients`], [`crate::engine::update`]: a model's own
/// step when it has one, as in training). Dropout is switched off, as
/// the reference's masks cannot be shared. This is the trajectory parity with PyTorch: the same
/// initial weights and batches must give the reference framework's losses and weights. A paper's
/// own optimiser has no reference implementation to compare with and is refused.
pub fn replay<M: ImageClassifier>(config: &ExperimentConfig, model: M, steps: &[RecordedStep], device: &Device) -> Result<Replayed<M>, TrainError> {
    if let OptimizerConfig::Paper(extension) = &config.optimizer {
        return Err(TrainError::Unsupported(format!("`{}`: trajectory replay of the paper's own optimiser `{}` (no reference framework has it)", config.name, extension.kind())));
    }
    let mut optimizer = make_optimizer(&config.optimizer);
    let mut model = without_dropout(model);
    let (mut losses, mut learning_rates) = (Vec::new(), Vec::new());
    for (iteration, step) in steps.iter().enumerate() {
        let lr = config.schedule.lr(step.epoch, iteration as u64);
        let (x, y) = to_device(step.batch.clone(), device);
        let step = crate::engine::gradients(&model, x, y);
        losses.push(step.loss);
        learning_rates.push(lr);
        model = crate::engine::update(model, step.grads, &mut optimizer, None, lr);
    }
    Ok(Replayed { model, losses, learning_rates })
}

/// `model` with every dropout layer's training flag cleared (it then passes its input through);
/// batch norm and everything else keep training behaviour.
pub fn without_dropout<M: Module>(model: M) -> M {
    struct Off(Vec<String>);
    impl burn::module::ModuleMapper for Off {
        fn enter_module(&mut self, _name: &str, container_type: &str) {
            self.0.push(container_type.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.0.pop();
        }
        fn map_flag(&mut self, flag: Param<burn::module::Flag>) -> Param<burn::module::Flag> {
            if self.0.last().is_some_and(|c| c == "Struct:Dropout") { flag.with_value(false) } else { flag }
        }
    }
    model.map(&mut Off(Vec::new()))
}

/// A checkpoint file that is removed when dropped: burn may read a loaded file's tensors lazily,
/// so it must outlive the model loaded from it.
struct TempCheckpoint(std::path::PathBuf);

impl Drop for TempCheckpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn copy_through_file<M: Module>(from: &M, onto: M) -> Result<(M, TempCheckpoint), TrainError> {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = TempCheckpoint(std::env::temp_dir().join(format!("repro-parity-{}-{n}.bpk", std::process::id())));
    let bad = |e: burn::store::RecordError| TrainError::Checkpoint { path: file.0.clone(), reason: e.to_string() };
    from.clone().save_file(&file.0).map_err(bad)?;
    let model = onto.try_load_file(&file.0).map_err(bad)?;
    Ok((without_dropout(model), file))
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 data")
}

fn first_layer_scaled<M: Module>(model: M) -> M {
    struct ScaleFirst(bool);
    impl burn::module::ModuleMapper for ScaleFirst {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if std::mem::replace(&mut self.0, true) {
                return param;
            }
            param.map(|tensor| tensor.mul_scalar(1.01).detach().require_grad())
        }
    }
    model.map(&mut ScaleFirst(false))
}

fn first_image_zeroed(batch: &HostBatch) -> HostBatch {
    let mut out = batch.clone();
    let per = out.images.len() / out.shape[0].max(1);
    out.images[..per].fill(0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Dropout, DropoutConfig};

    #[derive(burn::module::Module, Debug)]
    struct Net {
        dropout: Dropout,
    }

    #[test]
    fn without_dropout_passes_the_input_through_on_an_autodiff_device() {
        let device = Device::flex().autodiff();
        let net = Net { dropout: DropoutConfig::new(0.5).init() };
        let x = Tensor::<2>::ones([8, 64], &device);
        let dropped = floats(net.dropout.forward(x.clone()));
        assert!(dropped.contains(&0.0), "dropout is on before");
        let net = without_dropout(net);
        assert_eq!(floats(net.dropout.forward(x)), vec![1.0; 8 * 64]);
    }
}
