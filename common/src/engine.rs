//! The training engine for image classifiers: per-epoch metrics to CSV, a checkpoint each epoch,
//! exact resume, a seed that fixes every random choice, and a stop on a non-finite loss.
//!
//! All randomness during training (shuffling, distortions) is drawn from generators seeded by
//! `(seed, epoch)`, and the model's initial weights from the device seeded by `seed`, so a run
//! resumed from the checkpoint of epoch `e` continues exactly as the uninterrupted run would.
//!
//! burn-train's `Learner` was considered; it is not used because its checkpointing and metric
//! files do not give the atomic, resumable, manifest-carrying records this project needs, and the
//! loop itself is short. Its building blocks are used: modules, `ModuleOptimizer` (SGD, Adam),
//! gradients, and burnpack records for checkpoints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, Extension, OptimizerConfig};
use crate::data::source::{HostBatch, ImageSource, build_batch, for_each_batch, loader_threads, queue_depth};
use crate::data::{DataError, Dataset};
use crate::device::Selected;
use crate::progress;
use crate::records::{self, EpochMetrics, Manifest, RecordError, RunStatus};

/// A model that maps a batch of images to class scores (higher = more likely).
pub trait ImageClassifier: Module + Sized {
    /// Class scores `[batch, classes]`; the prediction is the arg-max.
    fn scores(&self, images: Tensor<4>) -> Tensor<2>;
    /// The training criterion, averaged over the batch.
    fn loss(&self, scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1>;
    /// The paper's own optimiser `optimizer` (an `optimizer.kind` other than `sgd` or `adam`) at
    /// the start of a pass: the per-weight rescaling of every gradient of this pass (a plain SGD
    /// step at the schedule's rate follows it) and a line for the log. Models whose paper
    /// defines no optimiser refuse (the default).
    fn paper_optimizer(&self, optimizer: &Extension, pass: &PassStart<'_>) -> Result<(Box<dyn GradientScaler<Self>>, String), TrainError> {
        let _ = pass;
        Err(TrainError::UnknownOptimizer(optimizer.kind().to_owned()))
    }
    /// Notes each layer on `tap` during a forward pass of `input` (a batch of one): the layer
    /// table. The default notes nothing.
    fn tabulate(&self, input: Tensor<4>, tap: &mut crate::paper::Tap<'_>) {
        let _ = (input, tap);
    }
    /// Scores and the loss to minimise for one training batch; nets with extra training-only
    /// losses (auxiliary classifiers) add them here.
    fn training_step(&self, images: Tensor<4>, targets: Tensor<1, Int>) -> (Tensor<2>, Tensor<1>) {
        let scores = self.scores(images);
        let loss = self.loss(scores.clone(), targets);
        (scores, loss)
    }
    /// The training step computed by the model's own code instead of burn's autodiff graph: the
    /// loss of [`training_step`](Self::training_step), the correct count and every parameter's
    /// gradient, for a net whose steps are too small for per-op overhead not to dominate (one
    /// sample per update). `None`, the default, trains through `training_step` and `backward`;
    /// a model that answers must give that path's numbers (to float rounding), checked by its
    /// paper's tests.
    fn own_step(&self, images: &Tensor<4>, targets: &Tensor<1, Int>) -> Option<StepGradients> {
        let _ = (images, targets);
        None
    }
}

/// One training batch's loss, correct count and gradients ([`gradients`]).
pub struct StepGradients {
    /// The training criterion averaged over the batch.
    pub loss: f64,
    /// Images whose highest score is their label.
    pub right: usize,
    /// Every trained parameter's gradient (empty when the loss is not finite: no update follows).
    pub grads: GradientsParams,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("cannot use checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("nothing to resume in {0}: no checkpoint was written yet (start the run again without --resume)")]
    NothingToResume(PathBuf),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("optimizer kind `{0}` is not one this model's paper defines (built in: sgd, adam)")]
    UnknownOptimizer(String),
}

/// A paper's optimiser for one pass ([`ImageClassifier::paper_optimizer`]): it rescales each
/// gradient before the plain SGD step.
pub trait GradientScaler<M> {
    fn scale(&self, model: &M, grads: GradientsParams) -> GradientsParams;
}

/// What a paper's optimiser sees at the start of a pass.
pub struct PassStart<'a> {
    /// 1-based.
    pub epoch: usize,
    /// The schedule's rate for the pass's first step.
    pub lr: f64,
    /// The run's folder, for records of the optimiser's own (beside `metrics.csv`).
    pub run_dir: &'a Path,
    /// The first `n` training samples of this pass, in its shuffled order, as one batch (no
    /// distortions).
    pub first_samples: &'a dyn Fn(usize) -> Result<Tensor<4>, TrainError>,
}

/// What to run.
pub struct TrainSpec<'a> {
    pub config: &'a ExperimentConfig,
    pub seed: u64,
    pub selected: &'a Selected,
    pub dataset: &'a Dataset,
    pub run_dir: PathBuf,
    /// Continue from the run directory's checkpoint instead of starting afresh.
    pub resume: bool,
    pub command: String,
    /// Stop after this epoch (tests use it to simulate an interruption).
    pub stop_after_epoch: Option<usize>,
}

/// `checkpoint/latest.yaml`: which epoch the checkpoint files hold. Every kind of run that
/// trains by epochs writes it through [`save_checkpoint`] and reads it through
/// [`read_checkpoint`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointIndex {
    pub epoch: usize,
    /// Optimizer steps so far (0 in records of runs that do not count them).
    #[serde(default)]
    pub iteration: u64,
    /// The weights file, beside the index.
    pub model: String,
    /// The optimizer state file, for optimizers that have state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<String>,
}

fn checkpoint_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

/// Path of the model weights of the run's latest checkpoint; `None` when there is none or its
/// index cannot be read (use [`checkpoint_weights`] to learn which).
pub fn latest_checkpoint(run_dir: &Path) -> Option<PathBuf> {
    checkpoint_weights(run_dir).ok().flatten()
}

/// Path of the model weights of the run's latest checkpoint: `None` when the run wrote no
/// checkpoint index, an error naming `latest.yaml` when it cannot be read or parsed or names
/// files that are not there.
pub fn checkpoint_weights(run_dir: &Path) -> Result<Option<PathBuf>, TrainError> {
    Ok(read_checkpoint(run_dir)?.map(|index| checkpoint_dir(run_dir).join(index.model)))
}

/// `checkpoint/latest.yaml`, checked to name files that exist; `None` when it does not exist.
pub fn read_checkpoint(run_dir: &Path) -> Result<Option<CheckpointIndex>, TrainError> {
    let path = checkpoint_dir(run_dir).join("latest.yaml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrainError::Checkpoint { path, reason: e.to_string() }),
    };
    let index: CheckpointIndex = serde_yaml_ng::from_str(&text).map_err(|e| TrainError::Checkpoint { path: path.clone(), reason: e.to_string() })?;
    if let Some(absent) = std::iter::once(&index.model).chain(&index.optimizer).find(|f| !checkpoint_dir(run_dir).join(f).is_file()) {
        return Err(TrainError::Checkpoint { path, reason: format!("it names {absent}, which is not in the checkpoint folder") });
    }
    Ok(Some(index))
}

pub(crate) fn make_optimizer(config: &OptimizerConfig) -> burn::optim::ModuleOptimizer {
    match *config {
        OptimizerConfig::Sgd { momentum, weight_decay } => {
            // burn's momentum defaults to dampening 0.1; the papers (and PyTorch) use none.
            let momentum = (momentum > 0.0).then_some(MomentumConfig { momentum, dampening: 0.0, nesterov: false });
            let decay = (weight_decay > 0.0).then_some(WeightDecayConfig { penalty: weight_decay as f32 });
            SgdConfig::new().with_momentum(momentum).with_weight_decay(decay).init()
        }
        // A paper's optimiser rescales each gradient first (`GradientScaler`), then steps plainly.
        OptimizerConfig::Paper(_) => SgdConfig::new().init(),
        OptimizerConfig::Adam { weight_decay } => {
            let decay = (weight_decay > 0.0).then_some(WeightDecayConfig { penalty: weight_decay as f32 });
            AdamConfig::new().with_weight_decay(decay).init()
        }
    }
}

/// One training batch's loss, correct count and gradients: the model's own step
/// ([`ImageClassifier::own_step`]) when it has one, otherwise `training_step` and burn's
/// `backward`, with one read-back of the loss and the correct count. The training loop and the
/// trajectory parity with PyTorch ([`crate::parity::replay`]) both call it and [`update`], so
/// the parity checks the step and the update that training makes.
pub(crate) fn gradients<M: ImageClassifier>(model: &M, images: Tensor<4>, targets: Tensor<1, Int>) -> StepGradients {
    if let Some(step) = model.own_step(&images, &targets) {
        return step;
    }
    let items = targets.dims()[0];
    let (scores, loss) = model.training_step(images, targets.clone());
    let right = scores.detach().argmax(1).reshape([items]).equal(targets).int().sum().float();
    let stats = Tensor::cat(vec![loss.clone().detach(), right], 0).into_data().convert::<f64>().try_to_vec::<f64>().expect("two numbers");
    let (loss_value, right) = (stats[0], stats[1] as usize);
    let grads = if loss_value.is_finite() { GradientsParams::from_grads(loss.backward(), model) } else { GradientsParams::new() };
    StepGradients { loss: loss_value, right, grads }
}

/// One update as training makes it: rescales the gradients by the paper's optimiser when it has
/// one, and steps the optimizer at `lr`.
pub(crate) fn update<M: ImageClassifier>(model: M, grads: GradientsParams, optimizer: &mut burn::optim::ModuleOptimizer, scaler: Option<&dyn GradientScaler<M>>, lr: f64) -> M {
    let mut grads = grads;
    if let Some(scaler) = scaler {
        grads = scaler.scale(&model, grads);
    }
    optimizer.step(lr, model, grads)
}

/// Moves a host batch to `device`.
pub fn to_device(batch: HostBatch, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let n = batch.labels.len();
    (Tensor::from_data(TensorData::new(batch.images, batch.shape), device), Tensor::from_data(TensorData::new(batch.labels, [n]), device))
}

/// What an evaluation measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub error_pct: f64,
    /// Top-5 error, when the model has more than 5 classes.
    pub top5_error_pct: Option<f64>,
}

/// Views per evaluation batch unless set otherwise ([`set_eval_batch_views`]): 1000 views of
/// 224×224×3 floats are ~600 MB on the host.
pub const DEFAULT_EVAL_BATCH_VIEWS: usize = 1000;

static EVAL_BATCH_VIEWS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(DEFAULT_EVAL_BATCH_VIEWS);

/// Sets how many views (images, or crops of several-view protocols) one evaluation batch holds,
/// for the rest of the process (the harness's `--eval-batch-size`). It changes memory and speed,
/// not the numbers: evaluation has no batch statistics.
pub fn set_eval_batch_views(views: usize) {
    EVAL_BATCH_VIEWS.store(views.max(1), std::sync::atomic::Ordering::Relaxed);
}

/// Loss (mean), top-1 and top-5 error (%) of `model` on `source`, without gradients. With
/// several views per item (10-crop), the views' softmax probabilities are averaged and the loss
/// is the negative log of the averaged probability of the true class.
pub fn evaluate<M: ImageClassifier>(model: &M, source: &dyn ImageSource, device: &Device) -> Result<Evaluation, TrainError> {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let n = source.len();
    let views = source.views();
    let (mut loss_sum, mut wrong, mut wrong5) = (0f64, 0usize, 0usize);
    let mut classes = 0;
    let order: Vec<usize> = (0..n).collect();
    let batch_items = (EVAL_BATCH_VIEWS.load(std::sync::atomic::Ordering::Relaxed) / views).max(1);
    let chunks: Vec<&[usize]> = order.chunks(batch_items).collect();
    let bar = progress::bar(chunks.len() as u64, "evaluating");
    for_each_batch(source, &chunks, None, loader_threads(), queue_depth(source, batch_items), |_, batch| -> Result<bool, TrainError> {
        let items = batch.labels.len();
        let (x, y) = to_device(batch, &device);
        let scores = model.scores(x);
        classes = scores.dims()[1];
        let (loss, probs) = if views == 1 {
            (model.loss(scores.clone(), y.clone()).into_scalar::<f32>() as f64, scores)
        } else {
            let probs = burn::tensor::activation::softmax(scores, 1).reshape([items, views, classes]).mean_dim(1).reshape([items, classes]);
            let picked = probs.clone().gather(1, y.clone().reshape([items, 1]));
            (picked.clamp_min(1e-12).log().neg().mean().into_scalar::<f32>() as f64, probs)
        };
        loss_sum += loss * items as f64;
        let ranks = ranks_of_truth(probs, y);
        wrong += ranks.iter().filter(|&&r| r != 0).count();
        wrong5 += ranks.iter().filter(|&&r| !(0..5).contains(&r)).count();
        bar.inc(1);
        Ok(true)
    })?;
    bar.finish_and_clear();
    let pct = |w: usize| 100.0 * w as f64 / n.max(1) as f64;
    Ok(Evaluation { loss: loss_sum / n.max(1) as f64, error_pct: pct(wrong), top5_error_pct: (classes > 5).then(|| pct(wrong5)) })
}

/// For each row of `scores`, how many *other* classes score at least as high as the true one:
/// 0 is a correct top-1 answer. A tie counts against the truth (a dead net whose scores are all
/// equal is wrong everywhere, not right), and a NaN score for the truth gives -1 (wrong at any k).
pub fn ranks_of_truth(scores: Tensor<2>, targets: Tensor<1, Int>) -> Vec<i64> {
    let [items, classes] = scores.dims();
    let truth = scores.clone().gather(1, targets.reshape([items, 1]));
    let at_least = scores.greater_equal(truth.expand([items, classes])).int().sum_dim(1).reshape([items]);
    at_least.into_data().convert::<i64>().try_to_vec::<i64>().expect("ranks").into_iter().map(|n| n - 1).collect()
}

fn rng_for(seed: u64, epoch: usize, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng.set_word_pos((epoch as u128) << 40);
    rng
}

/// Trains `init`'s model as `spec` says, writing records into `spec.run_dir`. Returns the final
/// manifest; its status is `Stopped` when a non-finite loss ended the run.
pub fn train<M: ImageClassifier>(spec: TrainSpec<'_>, init: impl FnOnce(&Device) -> M) -> Result<Manifest, TrainError> {
    let config = spec.config;
    let device = spec.selected.device.clone().autodiff();
    device.seed(spec.seed);
    let mut model = init(&device);
    let mut optimizer = make_optimizer(&config.optimizer);
    let (train_set, eval_set) = spec.dataset.sources(&config.data)?;

    let run_dir = spec.run_dir.clone();
    let (mut manifest, mut rows, mut iteration) = if spec.resume {
        let (loaded_model, loaded_optimizer, state) = resume_from_checkpoint(&run_dir, model, optimizer)?;
        (model, optimizer) = (loaded_model, loaded_optimizer);
        state
    } else {
        (fresh_manifest(&spec), Vec::new(), 0u64)
    };
    manifest.save(&run_dir)?;
    let (session, wall_before) = (Instant::now(), manifest.header.wall_time_s);

    let n = train_set.len();
    let batches = n.div_ceil(config.batch_size);
    let label = format!("{} seed {}", config.name, spec.seed);
    for epoch in manifest.body.epochs_completed + 1..=config.epochs {
        let bar = progress::bar(batches as u64, &format!("{label} epoch {epoch}/{}", config.epochs));
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng_for(spec.seed, epoch, 0));
        let started = Instant::now();
        let (mut loss_sum, mut wrong, mut seen) = (0f64, 0usize, 0usize);
        let mut lr = config.schedule.lr(epoch, iteration);
        // A paper's optimiser is set up afresh at the start of every pass.
        let scaler = match &config.optimizer {
            OptimizerConfig::Paper(extension) => {
                let first_samples = |k: usize| -> Result<Tensor<4>, TrainError> { Ok(to_device(build_batch(train_set.as_ref(), &order[..k.min(n)], None)?, &device).0) };
                let pass = PassStart { epoch, lr, run_dir: &run_dir, first_samples: &first_samples };
                let (scaler, note) = model.paper_optimizer(extension, &pass)?;
                progress::log(Some(&bar), &format!("{label} epoch {epoch}: {note}"));
                Some(scaler)
            }
            _ => None,
        };
        let chunks: Vec<&[usize]> = order.chunks(config.batch_size).collect();
        let mut stopped = None;
        // The optimizer takes the model by value; the slot lets the per-batch closure hand it over.
        let mut slot = Some(model);
        for_each_batch(train_set.as_ref(), &chunks, Some((spec.seed, epoch)), loader_threads(), queue_depth(train_set.as_ref(), config.batch_size), |b, batch| -> Result<bool, TrainError> {
            if config.max_iterations.is_some_and(|m| iteration >= m) {
                return Ok(false);
            }
            lr = config.schedule.lr(epoch, iteration);
            let items = batch.labels.len();
            let (x, y) = to_device(batch, &device);
            let model = slot.take().expect("model is in its slot");
            let StepGradients { loss: batch_loss, right, grads } = gradients(&model, x, y);
            if !batch_loss.is_finite() {
                stopped = Some(non_finite_loss(batch_loss, epoch, &format!("batch {}", b + 1), lr));
                slot = Some(model);
                return Ok(false);
            }
            slot = Some(update(model, grads, &mut optimizer, scaler.as_deref(), lr));
            iteration += 1;
            loss_sum += batch_loss * items as f64;
            wrong += items - right;
            seen += items;
            bar.inc(1);
            if b % 10 == 0 {
                bar.set_message(format!("loss {:.4} err {:.2}%", loss_sum / seen as f64, 100.0 * wrong as f64 / seen as f64));
            }
            if progress::line_due(b + 1, batches) {
                let rate = seen as f64 / started.elapsed().as_secs_f64();
                eprintln!(
                    "{label} epoch {epoch}/{}: step {}/{batches}, lr {lr:.2e}, train loss {:.4}, err {:.2}%, {rate:.0} img/s",
                    config.epochs,
                    b + 1,
                    loss_sum / seen as f64,
                    100.0 * wrong as f64 / seen as f64
                );
            }
            Ok(true)
        })?;
        model = slot.take().expect("model is in its slot");
        if let Some(reason) = stopped {
            bar.finish_and_clear();
            manifest.header.stop(reason);
            manifest.header.wall_time_s = wall_before + session.elapsed().as_secs_f64();
            manifest.save(&run_dir)?;
            return Ok(manifest);
        }
        let epoch_s = started.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let Evaluation { loss: test_loss, error_pct: test_error_pct, top5_error_pct } = evaluate(&model, eval_set.as_ref(), &device)?;
        let elapsed_s = manifest.body.train_time_s + epoch_s;
        let row = EpochMetrics {
            epoch,
            lr,
            train_loss: loss_sum / n as f64,
            train_error_pct: 100.0 * wrong as f64 / n as f64,
            test_loss,
            test_error_pct,
            train_img_per_s: n as f64 / epoch_s,
            epoch_s,
            elapsed_s,
            test_top5_error_pct: top5_error_pct,
        };
        progress::log(
            None,
            &format!(
                "{label} epoch {epoch:>3}/{}: lr {lr:.2e}  train loss {:.4} err {:.2}%  {} loss {test_loss:.4} err {test_error_pct:.2}%  {:.0} img/s",
                config.epochs, row.train_loss, row.train_error_pct, config.data.eval_split, row.train_img_per_s
            ),
        );
        rows.push(row.clone());
        // Metrics before the checkpoint: if the process dies in between, the resumed run drops
        // the extra row (it keeps rows up to the checkpoint's epoch) and trains that epoch again.
        records::save_metrics(&run_dir, &rows)?;
        save_checkpoint(&run_dir, &model, Some(&optimizer), epoch, iteration)?;
        manifest.body.epochs_completed = epoch;
        manifest.body.train_time_s = elapsed_s;
        manifest.header.wall_time_s = wall_before + session.elapsed().as_secs_f64();
        manifest.body.final_metrics = Some(row);
        let last = epoch == config.epochs || config.max_iterations.is_some_and(|m| iteration >= m);
        if last {
            manifest.header.finish();
        }
        manifest.save(&run_dir)?;
        if last || spec.stop_after_epoch == Some(epoch) {
            break;
        }
    }
    Ok(manifest)
}

/// Loads the run's latest checkpoint into `model` and `optimizer`, and the records up to it.
#[allow(clippy::type_complexity)]
fn resume_from_checkpoint<M: Module>(run_dir: &Path, model: M, optimizer: burn::optim::ModuleOptimizer) -> Result<(M, burn::optim::ModuleOptimizer, (Manifest, Vec<EpochMetrics>, u64)), TrainError> {
    let ckpt = checkpoint_dir(run_dir);
    let index = read_checkpoint(run_dir)?.ok_or_else(|| TrainError::NothingToResume(run_dir.to_owned()))?;
    let bad = |path: PathBuf, e: burn::store::RecordError| TrainError::Checkpoint { path, reason: e.to_string() };
    let model = model.try_load_file(ckpt.join(&index.model)).map_err(|e| bad(ckpt.join(&index.model), e))?;
    let optimizer_file = index.optimizer.as_ref().ok_or_else(|| TrainError::Checkpoint { path: ckpt.join("latest.yaml"), reason: "it names no optimizer state".into() })?;
    let optimizer = optimizer.load(ckpt.join(optimizer_file)).map_err(|e| bad(ckpt.join(optimizer_file), e))?;
    let mut manifest: Manifest = Manifest::load(run_dir)?;
    // Rows after the checkpoint (written just before a crash) are dropped and trained again.
    let rows = records::load_metrics_through(run_dir, index.epoch)?;
    manifest.body.resumed_at_epochs.push(index.epoch);
    manifest.header.status = RunStatus::Running;
    manifest.header.stop_reason = None;
    manifest.body.epochs_completed = index.epoch;
    manifest.body.train_time_s = rows.last().map(|r| r.elapsed_s).unwrap_or(0.0);
    Ok((model, optimizer, (manifest, rows, index.iteration)))
}

/// The manifest of a new run: everything known before training starts.
fn fresh_manifest(spec: &TrainSpec<'_>) -> Manifest {
    let config = spec.config;
    Manifest {
        header: records::RunHeader::start(&config.paper, &config.name, &config.data.dataset, spec.seed, &spec.run_dir, &spec.command),
        body: records::EpochRun {
            eval_split: config.data.eval_split.clone(),
            backend: spec.selected.backend.clone(),
            device: spec.selected.name.clone(),
            dataset_origin: spec.dataset.origin.clone(),
            dataset_sha256: spec.dataset.checksums.clone(),
            epochs_completed: 0,
            train_time_s: 0.0,
            resumed_at_epochs: vec![],
            final_metrics: None,
            imported_weights: None,
            config: config.clone(),
        },
    }
}

/// Why a run trained by epochs stopped: its loss became `loss` (NaN or infinite) at `step` of
/// `epoch`; the checkpoint of the epoch before is kept, and resuming starts from it.
pub fn non_finite_loss(loss: f64, epoch: usize, step: &str, lr: f64) -> String {
    format!("the training loss became {loss} at epoch {epoch}, {step} (learning rate {lr}); the run was stopped and the checkpoint of epoch {} kept", epoch - 1)
}

/// Writes epoch-numbered weight (and optimizer) files into `run_dir/checkpoint/`, then points
/// `latest.yaml` at them (the atomic step), then removes older epochs. A crash at any point
/// leaves a usable checkpoint.
pub fn save_checkpoint<M: Module>(run_dir: &Path, model: &M, optimizer: Option<&burn::optim::ModuleOptimizer>, epoch: usize, iteration: u64) -> Result<(), TrainError> {
    let dir = &checkpoint_dir(run_dir);
    std::fs::create_dir_all(dir).map_err(|source| RecordError::Write { path: dir.to_owned(), source })?;
    let model_name = format!("epoch-{epoch:04}.model.bpk");
    let optim_name = optimizer.map(|_| format!("epoch-{epoch:04}.optimizer.bpk"));
    let bad = |path: PathBuf, e: burn::store::RecordError| TrainError::Checkpoint { path, reason: e.to_string() };
    model.clone().save_file(dir.join(&model_name)).map_err(|e| bad(dir.join(&model_name), e))?;
    if let (Some(optimizer), Some(name)) = (optimizer, &optim_name) {
        optimizer.save(dir.join(name)).map_err(|e| bad(dir.join(name), e))?;
    }
    let index = CheckpointIndex { epoch, iteration, model: model_name.clone(), optimizer: optim_name.clone() };
    records::write_atomic(&dir.join("latest.yaml"), serde_yaml_ng::to_string(&index).expect("index serializes").as_bytes())?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("epoch-") && name != model_name && Some(&name) != optim_name.as_ref() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// Loads model weights from a checkpoint file into `model`.
pub fn load_weights<M: Module>(model: M, path: &Path) -> Result<M, TrainError> {
    model.try_load_file(path).map_err(|e| TrainError::Checkpoint { path: path.to_owned(), reason: e.to_string() })
}

/// Records an evaluation of imported weights as a complete run with no training epochs: the
/// manifest (with the weights file's SHA-256) and a one-row `metrics.csv` (epoch 0).
pub fn record_evaluation(spec: &TrainSpec<'_>, weights: &Path, trained_by: Option<records::TrainedBy>, evaluation: Evaluation, seconds: f64) -> Result<Manifest, TrainError> {
    let bytes = std::fs::read(weights).map_err(|e| TrainError::Checkpoint { path: weights.to_owned(), reason: e.to_string() })?;
    let mut manifest = fresh_manifest(spec);
    let row = EpochMetrics {
        epoch: 0,
        lr: 0.0,
        train_loss: f64::NAN,
        train_error_pct: f64::NAN,
        test_loss: evaluation.loss,
        test_error_pct: evaluation.error_pct,
        train_img_per_s: 0.0,
        epoch_s: seconds,
        elapsed_s: 0.0,
        test_top5_error_pct: evaluation.top5_error_pct,
    };
    records::save_metrics(&spec.run_dir, std::slice::from_ref(&row))?;
    manifest.body.imported_weights = Some(records::ImportedWeights { file: weights.display().to_string(), sha256: crate::data::sha256_hex(&bytes), trained_by });
    manifest.body.final_metrics = Some(row);
    manifest.header.wall_time_s = seconds;
    manifest.header.finish();
    manifest.save(&spec.run_dir)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tie_with_the_truth_is_wrong_and_nan_is_never_right() {
        let device = Device::flex();
        let scores = Tensor::<2>::from_floats([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [1.0, 1.0, 1.0], [f32::NAN, 0.2, 0.3], [0.3, 0.3, 0.9]], &device);
        let targets = Tensor::<1, Int>::from_ints([1, 0, 2, 0, 2], &device);
        assert_eq!(ranks_of_truth(scores, targets), vec![0, 1, 2, -1, 0]);
    }
}
