//! Zaremba, Sutskever & Vinyals (2014), §3–4: a two-layer LSTM language model on the Penn
//! Treebank, dropout only on the non-recurrent connections (Fig. 2), the hidden state carried
//! across minibatches, plain SGD with global gradient-norm clipping and an epoch-wise
//! learning-rate decay. Details the paper leaves to its code follow the reference `main.lua`
//! (embedding size = hidden size, no weight tying, two biases per gate, batch-mean loss summed
//! over the unrolled steps).
//!
//! The cell is burn's `Lstm`: gates i, f, o and candidate g with sigmoid/tanh, c = f·c + i·g,
//! h = o·tanh(c), each gate an input and a hidden affine map with a bias each — the layout of
//! `main.lua`'s `nn.Linear(x) + nn.Linear(h)`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use repro_common::config::ConfigError;
use repro_common::data::text::Corpus;
use repro_common::device::Selected;
use repro_common::engine::{self, TrainError};
use repro_common::records::{self, Manifest, ManifestBody, RecordError, RunHeader, RunStatus};
use serde::{Deserialize, Serialize};

/// One PTB recipe (Table 1's rows, §4.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PtbConfig {
    pub name: String,
    pub paper: String,
    pub description: String,
    pub model: LmSpec,
    /// `ptb` (verified files; the only dataset the claims accept) or `text` (any corpus in the PTB
    /// layout).
    pub dataset: String,
    /// Train on the first N words only (smoke runs).
    #[serde(default)]
    pub train_limit: Option<usize>,
    /// Parallel streams the training text is cut into.
    pub batch_size: usize,
    /// Steps of truncated backpropagation through time.
    pub unroll: usize,
    pub learning_rate: f64,
    /// The learning rate is divided by `factor` before each epoch after `after_epoch`.
    pub decay: LrDecay,
    pub epochs: usize,
    /// Global gradient-norm clip (all parameters together), none when null.
    pub max_grad_norm: Option<f64>,
    pub seeds: Vec<u64>,
    pub sources: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LmSpec {
    pub hidden: usize,
    pub layers: usize,
    /// Dropout probability on the non-recurrent connections.
    pub dropout: f64,
    /// Every parameter starts uniform in [−init_range, init_range].
    pub init_range: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LrDecay {
    pub after_epoch: usize,
    pub factor: f64,
}

impl PtbConfig {
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let c: Self = serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
        c.validate(origin)?;
        Ok(c)
    }
    pub fn with_overrides(&self, assignments: &[String]) -> Result<Self, ConfigError> {
        let c = repro_common::config::apply_overrides(self, assignments)?;
        c.validate("after --set")?;
        Ok(c)
    }
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| Err(ConfigError::Invalid { origin: origin.into(), key: key.into(), reason: reason.into() });
        if !repro_common::data::text::TEXT_DATASETS.contains(&self.dataset.as_str()) {
            return invalid("dataset", "must be `ptb` or `text`");
        }
        if self.model.hidden == 0 || self.model.layers == 0 {
            return invalid("model", "hidden and layers must be at least 1");
        }
        if !(0.0..1.0).contains(&self.model.dropout) {
            return invalid("model.dropout", "must be in [0, 1)");
        }
        if self.batch_size == 0 || self.unroll == 0 || self.epochs == 0 {
            return invalid("batch_size/unroll/epochs", "must be at least 1");
        }
        // Written so that a NaN fails too.
        if self.learning_rate.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || self.decay.factor.partial_cmp(&1.0).is_none_or(|o| o == std::cmp::Ordering::Less) {
            return invalid("learning_rate/decay.factor", "the rate must be positive and the factor at least 1");
        }
        if self.seeds.is_empty() {
            return invalid("seeds", "must list at least one seed");
        }
        Ok(())
    }

    /// The learning rate of a 1-based epoch: `main.lua` divides it before every epoch after
    /// `after_epoch`.
    pub fn lr(&self, epoch: usize) -> f64 {
        self.learning_rate / self.decay.factor.powi(epoch.saturating_sub(self.decay.after_epoch) as i32)
    }
}

const RECIPES: &[(&str, &str)] = &[
    ("ptb-small.yaml", include_str!("../experiments/ptb-small.yaml")),
    ("ptb-medium.yaml", include_str!("../experiments/ptb-medium.yaml")),
    ("ptb-large.yaml", include_str!("../experiments/ptb-large.yaml")),
];

pub fn experiments() -> Vec<PtbConfig> {
    RECIPES.iter().map(|(f, t)| PtbConfig::from_yaml(t, &format!("papers/lstm/experiments/{f}")).unwrap_or_else(|e| panic!("shipped recipe is invalid: {e}"))).collect()
}

pub fn experiment(name: &str) -> Option<PtbConfig> {
    experiments().into_iter().find(|e| e.name == name)
}

/// The language model: embedding → dropout → (LSTM → dropout) × layers → softmax layer.
#[derive(Module, Debug)]
pub struct LanguageModel {
    embedding: Embedding,
    layers: Vec<Lstm>,
    dropout: Dropout,
    decoder: Linear,
}

impl LanguageModel {
    pub fn new(spec: &LmSpec, vocab: usize, device: &Device) -> Self {
        let init = Initializer::Uniform { min: -spec.init_range, max: spec.init_range };
        Self {
            embedding: EmbeddingConfig::new(vocab, spec.hidden).with_initializer(init.clone()).init(device),
            layers: (0..spec.layers).map(|_| LstmConfig::new(spec.hidden, spec.hidden, true).with_initializer(init.clone()).init(device)).collect(),
            dropout: DropoutConfig::new(spec.dropout).init(),
            decoder: LinearConfig::new(spec.hidden, vocab).with_initializer(init).init(device),
        }
    }

    /// Logits `[batch · steps, vocab]` for `tokens [batch, steps]`, continuing from `state` (one
    /// per layer; zeros when `None`), and the state after the last step.
    pub fn forward(&self, tokens: Tensor<2, Int>, state: Option<Vec<LstmState<2>>>) -> (Tensor<2>, Vec<LstmState<2>>) {
        let [b, t] = tokens.dims();
        let mut x = self.dropout.forward(self.embedding.forward(tokens));
        let mut states = state.map(|s| s.into_iter().map(Some).collect()).unwrap_or_else(|| vec![None; self.layers.len()]);
        let mut out_states = Vec::with_capacity(self.layers.len());
        for (layer, s) in self.layers.iter().zip(states.iter_mut()) {
            let (y, st) = layer.forward(x, s.take());
            x = self.dropout.forward(y);
            out_states.push(st);
        }
        let h = x.dims()[2];
        (self.decoder.forward(x.reshape([b * t, h])), out_states)
    }

    pub fn param_count(&self) -> usize {
        self.num_params()
    }
}

/// One epoch's numbers, as in `metrics.csv`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PtbEpoch {
    pub epoch: usize,
    pub lr: f64,
    pub train_perplexity: f64,
    pub valid_perplexity: f64,
    pub test_perplexity: f64,
    pub words_per_s: f64,
    pub epoch_s: f64,
    pub elapsed_s: f64,
}

/// `results/lstm/<experiment>/<dataset>/<run>/manifest.yaml`: the shared header, then this body.
pub type PtbManifest = Manifest<LanguageModelRun>;

/// What a language-model run records beside the shared header.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LanguageModelRun {
    pub backend: String,
    pub device: String,
    pub dataset_origin: String,
    pub dataset_sha256: BTreeMap<String, String>,
    pub vocabulary: usize,
    pub parameters: usize,
    pub epochs_completed: usize,
    pub train_time_s: f64,
    pub final_metrics: Option<PtbEpoch>,
    pub config: PtbConfig,
}

impl ManifestBody for LanguageModelRun {}

fn save_metrics(run_dir: &Path, rows: &[PtbEpoch]) -> Result<(), RecordError> {
    records::save_csv(&run_dir.join("metrics.csv"), rows)
}

pub fn load_metrics(run_dir: &Path) -> Result<Vec<PtbEpoch>, RecordError> {
    records::load_csv(&run_dir.join("metrics.csv"))
}

/// The word stream cut into `streams` rows (the remainder dropped, as `main.lua` does).
pub fn streams(words: &[u32], streams: usize) -> Vec<Vec<u32>> {
    let len = words.len() / streams;
    (0..streams).map(|i| words[i * len..(i + 1) * len].to_vec()).collect()
}

/// The `i`-th (inputs, targets) window of `unroll` steps over the streams, as tensors.
fn window(rows: &[Vec<u32>], start: usize, unroll: usize, device: &Device) -> (Tensor<2, Int>, Tensor<1, Int>) {
    let b = rows.len();
    let mut x = Vec::with_capacity(b * unroll);
    let mut y = Vec::with_capacity(b * unroll);
    for row in rows {
        x.extend(row[start..start + unroll].iter().map(|&w| w as i64));
        y.extend(row[start + 1..start + unroll + 1].iter().map(|&w| w as i64));
    }
    (Tensor::from_data(TensorData::new(x, [b, unroll]), device), Tensor::from_data(TensorData::new(y, [b * unroll]), device))
}

fn detach(states: Vec<LstmState<2>>) -> Vec<LstmState<2>> {
    states.into_iter().map(|s| LstmState::new(s.cell.detach(), s.hidden.detach())).collect()
}

/// Perplexity of `words` read as `n_streams` parallel streams, state carried from the start:
/// exp of the mean per-word loss over every predicted word of the split.
pub fn perplexity(model: &LanguageModel, words: &[u32], n_streams: usize, unroll: usize, device: &Device) -> f64 {
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let rows = streams(words, n_streams);
    let len = rows[0].len();
    let ce = CrossEntropyLossConfig::new().init(&device);
    let (mut nll, mut count) = (0.0f64, 0usize);
    let mut state = None;
    let mut start = 0;
    while start + 1 < len {
        let steps = unroll.min(len - 1 - start);
        let (x, y) = window(&rows, start, steps, &device);
        let (logits, st) = model.forward(x, state);
        state = Some(st);
        nll += ce.forward(logits, y).into_scalar::<f64>() * (n_streams * steps) as f64;
        count += n_streams * steps;
        start += steps;
    }
    (nll / count.max(1) as f64).exp()
}

/// Sums the squared entries of every parameter's gradient.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.powi_scalar(2).sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

/// How a PTB run is started.
pub struct PtbSpec<'a> {
    pub config: &'a PtbConfig,
    pub seed: u64,
    pub selected: &'a Selected,
    pub corpus: &'a Corpus,
    pub run_dir: PathBuf,
    pub resume: bool,
    pub command: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PtbError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("the corpus is too short: {words} training words make no window of {unroll} steps in {streams} streams")]
    TooShort { words: usize, streams: usize, unroll: usize },
    #[error("cannot resume {0}: its recipe differs from the one requested now (compare its manifest.yaml)")]
    RecipeChanged(PathBuf),
    #[error(transparent)]
    Train(#[from] TrainError),
}

/// The epoch of the run's latest checkpoint (the engine's index, `checkpoint/latest.yaml`), if
/// it wrote one; an error naming the index when it is damaged.
pub fn checkpoint_epoch(run_dir: &Path) -> Result<Option<usize>, PtbError> {
    Ok(engine::read_checkpoint(run_dir)?.map(|i| i.epoch))
}

/// Trains (or resumes) one seed, writing `metrics.csv`, `manifest.yaml` and a checkpoint after
/// every epoch. The hidden state is reset at each epoch start, so resuming at an epoch boundary
/// continues exactly.
pub fn train(spec: PtbSpec<'_>) -> Result<PtbManifest, PtbError> {
    let config = spec.config;
    let device = spec.selected.device.clone().autodiff();
    device.seed(spec.seed);
    let corpus = spec.corpus;
    let mut model = LanguageModel::new(&config.model, corpus.vocab.len(), &device);
    let train_words = match config.train_limit {
        Some(n) => &corpus.train[..n.min(corpus.train.len())],
        None => &corpus.train[..],
    };
    let rows = streams(train_words, config.batch_size);
    let len = rows[0].len();
    if len < config.unroll + 1 {
        return Err(PtbError::TooShort { words: train_words.len(), streams: config.batch_size, unroll: config.unroll });
    }
    let windows = (len - 1) / config.unroll;
    let (mut manifest, mut metrics) = if spec.resume {
        let m = PtbManifest::load(&spec.run_dir)?;
        if &m.body.config != config {
            return Err(PtbError::RecipeChanged(spec.run_dir.clone()));
        }
        let index = engine::read_checkpoint(&spec.run_dir)?.ok_or_else(|| TrainError::NothingToResume(spec.run_dir.clone()))?;
        let weights = engine::checkpoint_weights(&spec.run_dir)?.expect("the index was read");
        model = engine::load_weights(model, &weights)?;
        let rows: Vec<PtbEpoch> = load_metrics(&spec.run_dir).unwrap_or_default().into_iter().filter(|r| r.epoch <= index.epoch).collect();
        let mut m = m;
        m.body.epochs_completed = index.epoch;
        m.header.status = RunStatus::Running;
        m.header.stop_reason = None;
        m.body.train_time_s = rows.last().map(|r| r.elapsed_s).unwrap_or(0.0);
        (m, rows)
    } else {
        let m = PtbManifest {
            header: RunHeader::start(&config.paper, &config.name, &corpus.name, spec.seed, &spec.run_dir, &spec.command),
            body: LanguageModelRun {
                backend: spec.selected.backend.clone(),
                device: spec.selected.name.clone(),
                dataset_origin: corpus.origin.clone(),
                dataset_sha256: corpus.checksums.clone(),
                vocabulary: corpus.vocab.len(),
                parameters: model.param_count(),
                epochs_completed: 0,
                train_time_s: 0.0,
                final_metrics: None,
                config: config.clone(),
            },
        };
        (m, Vec::new())
    };
    manifest.save(&spec.run_dir)?;
    let session = Instant::now();
    let wall_before = manifest.header.wall_time_s;
    let ce = CrossEntropyLossConfig::new().init(&device);
    let mut optimizer = SgdConfig::new().init();
    for epoch in manifest.body.epochs_completed + 1..=config.epochs {
        // Dropout masks of epoch e depend only on (seed, e): a resumed run draws the same ones.
        device.seed(spec.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64));
        let lr = config.lr(epoch);
        let bar = repro_common::progress::bar(windows as u64, &format!("{} seed {} epoch {epoch}/{}", config.name, spec.seed, config.epochs));
        let started = Instant::now();
        let (mut nll, mut count) = (0.0f64, 0usize);
        let mut state: Option<Vec<LstmState<2>>> = None;
        for w in 0..windows {
            let (x, y) = window(&rows, w * config.unroll, config.unroll, &device);
            let (logits, st) = model.forward(x, state);
            state = Some(detach(st));
            // main.lua: the batch-mean loss of each step, summed over the unrolled steps.
            let mean = ce.forward(logits, y);
            let loss = mean.clone() * config.unroll as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let mut scale = 1.0;
            let mut norm_sq = None;
            if config.max_grad_norm.is_some() {
                let mut v = SquaredNorm { grads: &grads, total: None };
                model.visit(&mut v);
                norm_sq = v.total;
            }
            let stats: Vec<f64> = match norm_sq {
                Some(n) => Tensor::cat(vec![mean.detach(), n], 0).into_data().convert::<f64>().try_to_vec::<f64>().expect("two numbers"),
                None => vec![mean.into_scalar::<f64>()],
            };
            if let (Some(max), Some(&sq)) = (config.max_grad_norm, stats.get(1)) {
                let norm = sq.sqrt();
                if norm > max {
                    scale = max / norm;
                }
            }
            if !stats[0].is_finite() {
                bar.finish_and_clear();
                manifest.header.stop(engine::non_finite_loss(stats[0], epoch, &format!("window {}", w + 1), lr));
                manifest.header.wall_time_s = wall_before + session.elapsed().as_secs_f64();
                manifest.save(&spec.run_dir)?;
                return Ok(manifest);
            }
            model = optimizer.step(lr * scale, model, grads);
            nll += stats[0] * (config.batch_size * config.unroll) as f64;
            count += config.batch_size * config.unroll;
            bar.inc(1);
            if w % 20 == 0 {
                bar.set_message(format!("train ppl {:.1}", (nll / count as f64).exp()));
            }
            if repro_common::progress::line_due(w + 1, windows) {
                let rate = count as f64 / started.elapsed().as_secs_f64();
                eprintln!("{} seed {} epoch {epoch}/{}: window {}/{windows}, lr {lr:.3}, train ppl {:.1}, {rate:.0} words/s", config.name, spec.seed, config.epochs, w + 1, (nll / count as f64).exp());
            }
        }
        bar.finish_and_clear();
        let epoch_s = started.elapsed().as_secs_f64();
        // main.lua evaluates valid in 20 streams and test as one stream.
        let valid = perplexity(&model, &corpus.valid, config.batch_size, config.unroll, &device);
        let test = perplexity(&model, &corpus.test, 1, config.unroll, &device);
        let row = PtbEpoch {
            epoch,
            lr,
            train_perplexity: (nll / count.max(1) as f64).exp(),
            valid_perplexity: valid,
            test_perplexity: test,
            words_per_s: count as f64 / epoch_s,
            epoch_s,
            elapsed_s: manifest.body.train_time_s + epoch_s,
        };
        eprintln!("{} seed {} epoch {epoch}: lr {lr:.4}, train ppl {:.2}, valid {:.2}, test {:.2} ({:.0} words/s)", config.name, spec.seed, row.train_perplexity, valid, test, row.words_per_s);
        metrics.push(row.clone());
        save_metrics(&spec.run_dir, &metrics)?;
        // The engine's checkpoint (plain SGD has no optimizer state to keep).
        engine::save_checkpoint(&spec.run_dir, &model, None, epoch, 0)?;
        manifest.body.epochs_completed = epoch;
        manifest.body.train_time_s = row.elapsed_s;
        manifest.body.final_metrics = Some(row);
        manifest.header.wall_time_s = wall_before + session.elapsed().as_secs_f64();
        manifest.save(&spec.run_dir)?;
    }
    manifest.header.wall_time_s = wall_before + session.elapsed().as_secs_f64();
    manifest.header.finish();
    manifest.save(&spec.run_dir)?;
    Ok(manifest)
}
