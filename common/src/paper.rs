//! What a paper crate provides to the harness. Every paper implements [`Paper`], the harness's
//! whole view of it (list, train, reproduce, compare, report, replay); a paper of image
//! classifiers implements [`ImagePaper`] instead (its files and models) and gets [`Paper`] from
//! the one generic image experiment in [`crate::images`]. A new paper is its crate plus one line in
//! the harness's registry; everything else (data, engine, records, reports) is shared.

use std::path::{Path, PathBuf};

use crate::claims::Claim;
use crate::config::{ConfigError, ExperimentConfig};
use crate::data::Dataset;
use crate::data::source::HostBatch;
use crate::device::Selected;
use crate::engine::{Evaluation, TrainError, TrainSpec};
use crate::gate::Gate;
use crate::lifecycle::{LifecycleError, RunRequest};
use crate::net::{BuildNet, Net, NetRequest};
use crate::parity::{Parity, PlantedFault};
use crate::records::{Manifest, RecordError};

#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error("unknown model `{name}`; this paper has: {known}")]
    UnknownModel { name: String, known: String },
    #[error("unknown experiment `{name}`; this paper has: {known}")]
    UnknownExperiment { name: String, known: String },
    #[error("model option `{key}` {reason}")]
    BadOption { key: String, reason: String },
    /// A request the paper's runs cannot honour (a flag that would do nothing, a missing file).
    #[error("{0}")]
    Refused(String),
    /// `context` (what was being done) failed for the reason below it.
    #[error("{context}")]
    During { context: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Replay(#[from] Box<crate::replay::ReplayError>),
    /// A paper crate's own error (its trainer's, its loader's).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl PaperError {
    /// `source`, said to have happened while doing `context`.
    pub fn during(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        PaperError::During { context: context.into(), source: Box::new(source) }
    }
}

/// The recipe a training names: a shipped experiment, or a file whose `paper` is this paper.
#[derive(Debug, Clone, Copy)]
pub enum Recipe<'a> {
    Named(&'a str),
    File { origin: &'a str, text: &'a str },
}

/// What `harness reproduce` did: runs that stopped early, and a note printed after the comparison.
#[derive(Debug, Default)]
pub struct Reproduced {
    pub failures: usize,
    pub note: String,
}

/// The harness's whole view of a paper, whatever kind of runs it makes (epochs of an image
/// classifier, trials on generated sequences, a language model): the harness names no paper and
/// reaches each through this trait.
pub trait Paper: Sync {
    /// Short id used on the command line and under `results/`.
    fn id(&self) -> &'static str;
    /// `harness list`'s block for this paper: citation, models, experiments, claims.
    fn listing(&self) -> Result<String, PaperError>;
    /// Every experiment `harness train NAME` accepts for this paper.
    fn experiment_names(&self) -> Vec<String>;
    /// Every name `harness layers NAME` accepts for this paper.
    fn layer_names(&self) -> Vec<String>;
    /// The layer table of `name` (one of [`Paper::layer_names`]), as Markdown.
    fn layers(&self, name: &str) -> Result<String, PaperError>;
    /// Trains every seed `run` asks for of `recipe`; returns how many runs stopped early.
    fn train(&self, recipe: Recipe<'_>, run: &RunRequest, results: &Path) -> Result<usize, PaperError>;
    /// Trains the paper's reproduction (with `sample`, its sample-size one on bundled data).
    fn reproduce(&self, sample: bool, run: &RunRequest, results: &Path) -> Result<Reproduced, PaperError>;
    /// The paper-vs-ours text `harness compare` prints.
    fn compare_text(&self, results: &Path) -> Result<String, PaperError>;
    /// Writes `results/<id>/README.md` from the records; returns its path.
    fn write_report(&self, results: &Path) -> Result<PathBuf, PaperError>;
    /// This paper's part of the top-level README's generated results (empty without records).
    fn readme_section(&self, results: &Path) -> Result<String, PaperError>;
    /// Trains the record in `run_dir` again into `scratch`; each final number with its gate.
    fn replay(&self, run_dir: &Path, run: &RunRequest, scratch: &Path) -> Result<Vec<(Gate, f64)>, PaperError>;
    /// Rewrites the manifest of one of this paper's records in today's layout
    /// ([`crate::records::Manifest::rewrite_in_current_layout`]); true when the file changed.
    fn upgrade_record(&self, run_dir: &Path) -> Result<bool, PaperError>;
    /// `harness bench` for papers whose runs are not image-classifier epochs: a Markdown table
    /// for `experiments` (empty: the paper's defaults), `sequences` per thread where that applies.
    fn bench(&self, experiments: &[String], sequences: u64) -> Result<String, PaperError> {
        let _ = (experiments, sequences);
        Err(PaperError::Refused(format!("paper `{}` has no benchmark of its own", self.id())))
    }
    /// The image-classifier view (checkpoints to evaluate and export, parity, image benchmarks),
    /// for papers that have one.
    fn images(&self) -> Option<&dyn ImagePaper> {
        None
    }
    /// The paper's lines in the harness's `--help` examples.
    fn help_examples(&self) -> &'static [HelpExample] {
        &[]
    }
}

/// One row of a model's layer table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerRow {
    pub name: String,
    pub description: String,
    /// Output shape for one input, without the batch dimension.
    pub output: Vec<usize>,
    /// Trainable parameters of this layer.
    pub params: usize,
    /// The paper's count for this layer, where it gives one.
    pub paper_params: Option<usize>,
    /// Multiply-adds for one input (convolutions and fully connected layers); 0 when not counted.
    #[serde(skip_serializing_if = "is_zero")]
    pub macs: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A model a paper declares once: train, evaluate, parity and the layer table all build it
/// through `build`, and a name not listed is an error that lists the ones that are.
#[derive(Debug, Clone, Copy)]
pub struct ModelSpec {
    pub name: &'static str,
    pub summary: &'static str,
    /// The paper's total trainable parameter count, when it states one.
    pub published_params: Option<usize>,
    pub build: BuildNet,
}

/// What a paper crate ships, compiled in: its identity, models, recipes, claims and prose.
pub struct PaperFiles {
    /// Short id used on the command line and under `results/`.
    pub id: &'static str,
    /// Full citation.
    pub citation: &'static str,
    pub models: &'static [ModelSpec],
    /// `(path, YAML)` of each recipe, one per experiment.
    pub experiments: &'static [(&'static str, &'static str)],
    /// `(path, YAML)` of the claims file.
    pub claims: (&'static str, &'static str),
    /// Markdown: the write-up's opening.
    pub intro: &'static str,
    /// Markdown: how the implementation departs from the paper, and choices where it is silent.
    pub deviations: &'static str,
    /// Markdown: what the throughput figures of the write-up need said (no figures: those come
    /// from the bench records).
    pub bench_notes: &'static str,
    /// The paper's lines in the harness's `--help` examples.
    pub help_examples: &'static [HelpExample],
}

/// A line a paper adds to `harness <command> --help`'s examples, so that a user learns from a
/// real experiment name while the harness names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpExample {
    /// The subcommand whose help shows it (`train`, `reproduce`, `replay`, ...), or `""` for
    /// `harness --help`'s "Start here".
    pub command: &'static str,
    /// What follows `harness`, e.g. `train EXPERIMENT --dataset DATASET`.
    pub example: &'static str,
    /// What it does, shown beside it (may be empty).
    pub what: &'static str,
}

/// A paper of image classifiers: its shipped files and models. [`crate::images`] makes it a
/// [`Paper`] (train, reproduce, compare, report, replay written once for every image paper).
pub trait ImagePaper: Sync {
    /// The crate's shipped files; the accessors below read them.
    fn files(&self) -> &'static PaperFiles;
    fn id(&self) -> &'static str {
        self.files().id
    }
    fn citation(&self) -> &'static str {
        self.files().citation
    }
    fn models(&self) -> &'static [ModelSpec] {
        self.files().models
    }
    /// The shipped recipes, one per experiment, each checked by [`ImagePaper::check_recipe`] (a
    /// recipe the crate ships and cannot run is a bug in the crate: it panics naming the file).
    fn experiments(&self) -> Vec<ExperimentConfig> {
        let recipes = shipped_experiments(self.files().experiments);
        for (recipe, (origin, _)) in recipes.iter().zip(self.files().experiments) {
            if let Err(e) = self.check_recipe(recipe) {
                panic!("shipped recipe {origin} is invalid: {e}");
            }
        }
        recipes
    }
    /// Reads what of `config` this paper's crate defines (an optimiser of its own, a test
    /// protocol), so a recipe it cannot run is refused, naming the key, before anything runs.
    /// The default accepts only what `common` runs itself.
    fn check_recipe(&self, config: &ExperimentConfig) -> Result<(), String> {
        refuse_paper_optimizer(config)?;
        refuse_paper_protocol(config)?;
        refuse_eval_crops(config, &[])
    }
    /// Sections of the paper's own in the write-up, `(title, Markdown)`, after the comparison
    /// with PyTorch, made from the complete runs' records (`runs[i].path` is under
    /// `results_root`). None by default.
    fn write_up_sections(&self, results_root: &Path, runs: &[&crate::report::RunRecord]) -> Result<Vec<(String, String)>, RecordError> {
        let _ = (results_root, runs);
        Ok(Vec::new())
    }
    /// The published numbers with their tolerances.
    fn claims(&self) -> Vec<Claim> {
        let (origin, text) = self.files().claims;
        shipped_claims(text, origin)
    }
    fn intro(&self) -> &'static str {
        self.files().intro
    }
    fn deviations(&self) -> &'static str {
        self.files().deviations
    }
    fn bench_notes(&self) -> &'static str {
        self.files().bench_notes
    }
    /// The model `request` names, built by its [`ModelSpec::build`].
    fn net(&self, request: &NetRequest<'_>) -> Result<Box<dyn Net>, PaperError> {
        let models = self.models();
        let spec = models
            .iter()
            .find(|m| m.name == request.model)
            .ok_or_else(|| PaperError::UnknownModel { name: request.model.into(), known: models.iter().map(|m| m.name).collect::<Vec<_>>().join(", ") })?;
        (spec.build)(request)
    }
    /// Layer table of a model, computed from the model itself (forward pass on one input).
    fn layer_table(&self, model: &str) -> Result<Vec<LayerRow>, PaperError> {
        Ok(self.net(&NetRequest::paper(model))?.layer_rows())
    }
    /// Trains the model `spec.config.model` names.
    fn train(&self, spec: TrainSpec<'_>) -> Result<Manifest, PaperError> {
        let net = self.net(&NetRequest::of(spec.config, spec.dataset.class_names.len()))?;
        Ok(net.train(spec)?)
    }
    /// The same weights and `batch` on `reference` and `target` ([`crate::parity::compare`]), for
    /// the net `config.model` names with `classes` outputs.
    fn parity(&self, config: &ExperimentConfig, classes: usize, devices: [&Selected; 2], batch: &HostBatch, fault: Option<PlantedFault>) -> Result<Parity, PaperError> {
        Ok(self.net(&NetRequest::of(config, classes))?.parity(config, devices, batch, fault)?)
    }
    /// Loss and errors of checkpointed (or PyTorch's) weights on `config`'s evaluation split.
    fn evaluate(&self, config: &ExperimentConfig, weights: &Path, selected: &Selected, dataset: &Dataset) -> Result<Evaluation, PaperError> {
        evaluate_on_split(self.net(&NetRequest::of(config, dataset.class_names.len()))?.as_ref(), config, weights, selected, dataset)
    }
    /// A compact parameter-count table for the write-up, for papers with too many models for
    /// one layer table each (`harness layers MODEL` prints any of them).
    fn parameter_summary(&self) -> Option<String> {
        None
    }
    /// The nets this paper puts through `harness smoke` on a device (parity with the CPU and
    /// training throughput), in the order of its tables.
    fn smoke_nets(&self) -> &'static [SmokeNet] {
        &[]
    }
    /// A short training `harness smoke` runs on the device, which must learn; at most one paper
    /// of the registry offers it.
    fn smoke_training(&self) -> Option<SmokeTraining> {
        None
    }
    /// The experiments the default reproduction on the bundled sample runs.
    fn sample_experiments(&self) -> Vec<ExperimentConfig> {
        Vec::new()
    }
}

/// [`ImagePaper::evaluate`]'s default: `net` with `weights` on `config`'s evaluation split, one view
/// per image. Papers with other test protocols override `evaluate` and fall back on this.
pub fn evaluate_on_split(net: &dyn Net, config: &ExperimentConfig, weights: &Path, selected: &Selected, dataset: &Dataset) -> Result<Evaluation, PaperError> {
    let (_, set) = dataset.sources(&config.data).map_err(TrainError::from)?;
    Ok(net.evaluate(weights, set.as_ref(), &selected.device)?)
}

/// A paper crate's recipes, compiled in as `(path, YAML)`; an invalid one is a bug in the crate
/// (and a test catches it), so it panics with the file and the reason.
/// A net of `harness smoke`: its experiment and the name the tables give it.
#[derive(Debug, Clone, Copy)]
pub struct SmokeNet {
    pub experiment: &'static str,
    pub name: &'static str,
}

/// `harness smoke`'s short training: an experiment made short by `overrides`, on generated data of
/// the real format (`data.dataset=cifar10-layout`); it must end below chance with its training
/// loss below half its first epoch's. `cpu_result` says what it reaches on the CPU.
#[derive(Debug, Clone, Copy)]
pub struct SmokeTraining {
    pub experiment: &'static str,
    pub name: &'static str,
    pub overrides: &'static [&'static str],
    pub cpu_result: &'static str,
}

/// The refusal of a recipe whose optimiser is not built in (sgd, adam), for papers (or models)
/// that define none of their own.
pub fn refuse_paper_optimizer(config: &ExperimentConfig) -> Result<(), String> {
    match &config.optimizer {
        crate::config::OptimizerConfig::Paper(extension) => Err(format!("optimizer kind `{}` is not one that model `{}` defines (built in: sgd, adam)", extension.kind(), config.model)),
        _ => Ok(()),
    }
}

/// The refusal of a recipe naming a test protocol (`data.folder.protocol`), for papers that
/// define none.
pub fn refuse_paper_protocol(config: &ExperimentConfig) -> Result<(), String> {
    match config.data.folder.as_ref().and_then(|f| f.protocol.as_ref()) {
        Some(protocol) => Err(format!("data.folder.protocol `{}` is not one this paper defines (use data.folder.eval_crops)", protocol.kind())),
        None => Ok(()),
    }
}

/// The refusal of evaluation views other than the standard 1 or 10 crops and the counts in
/// `defined`, the paper's own [`crate::data::imagenet::EvalViews`].
pub fn refuse_eval_crops(config: &ExperimentConfig, defined: &[usize]) -> Result<(), String> {
    match config.data.folder.as_ref().map(|f| f.eval_crops) {
        Some(n) if n != 1 && n != 10 && !defined.contains(&n) => {
            let mut known = vec!["1".to_string(), "10".to_string()];
            known.extend(defined.iter().map(|n| n.to_string()));
            Err(format!("data.folder.eval_crops {n} is not a test this paper defines (it has {})", known.join(", ")))
        }
        _ => Ok(()),
    }
}

pub fn shipped_experiments(files: &[(&str, &str)]) -> Vec<ExperimentConfig> {
    files.iter().map(|(origin, text)| ExperimentConfig::from_yaml(text, origin).unwrap_or_else(|e| panic!("shipped recipe is invalid: {e}"))).collect()
}

/// A paper crate's claims file, compiled in; invalid is a bug in the crate, as above.
pub fn shipped_claims(text: &str, origin: &str) -> Vec<Claim> {
    crate::claims::parse_claims(text, origin, &[]).unwrap_or_else(|e| panic!("shipped claims are invalid: {e}"))
}

impl dyn ImagePaper {
    pub fn experiment(&self, name: &str) -> Option<ExperimentConfig> {
        self.experiments().into_iter().find(|e| e.name == name)
    }
}

/// Records each layer's output shape and parameter count during a forward pass, so the layer
/// table comes from the model itself. `Tap::off()` costs nothing.
pub struct Tap<'a>(Option<&'a mut Vec<LayerRow>>);

impl<'a> Tap<'a> {
    pub fn off() -> Self {
        Tap(None)
    }
    pub fn on(rows: &'a mut Vec<LayerRow>) -> Self {
        Tap(Some(rows))
    }
    /// Notes a layer: `output` is its output for a batch of one.
    pub fn layer<const D: usize>(&mut self, name: &str, description: &str, output: &burn::tensor::Tensor<D>, params: usize, paper_params: Option<usize>) {
        if let Some(rows) = self.0.as_mut() {
            rows.push(LayerRow { name: name.into(), description: description.into(), output: output.dims()[1..].to_vec(), params, paper_params, macs: 0 });
        }
    }
    /// Notes a row computed otherwise (a head that runs in training only, a whole net).
    pub fn row(&mut self, row: LayerRow) {
        if let Some(rows) = self.0.as_mut() {
            rows.push(row);
        }
    }
    /// Notes a layer with its multiply-adds for one input.
    pub fn layer_macs<const D: usize>(&mut self, name: &str, description: &str, output: &burn::tensor::Tensor<D>, params: usize, paper_params: Option<usize>, macs: u64) {
        if let Some(rows) = self.0.as_mut() {
            rows.push(LayerRow { name: name.into(), description: description.into(), output: output.dims()[1..].to_vec(), params, paper_params, macs });
        }
    }
}

/// Every float parameter and buffer of a module with its path in the module tree
/// (`layer1.0.bn1.running_var`), in visiting order, copied to the host.
pub fn named_weights<M: burn::module::Module>(module: &M) -> Vec<(String, Vec<f32>)> {
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl burn::module::ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            let values = param.val().into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 data");
            self.out.push((self.path.join("."), values));
        }
    }
    let mut collect = Collect { path: Vec::new(), out: Vec::new() };
    module.visit(&mut collect);
    collect.out
}

/// Trainable parameters of a module: burn's `num_params` also counts buffers such as BN's
/// running mean and variance, which the papers (and torchvision's counts) do not.
pub fn trainable_params<M: burn::module::Module>(module: &M) -> usize {
    struct Count {
        path: Vec<String>,
        total: usize,
    }
    impl burn::module::ModuleVisitor for Count {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            if !matches!(self.path.last().map(String::as_str), Some("running_mean" | "running_var")) {
                self.total += param.lazy_shape().num_elements();
            }
        }
    }
    let mut count = Count { path: Vec::new(), total: 0 };
    module.visit(&mut count);
    count.total
}

/// The `width` model option: a multiplier in (0, 1] of every layer's width (channels and FC
/// units), 1 (the default) being the paper's net. Narrow nets are a test instrument: they let CI
/// check that the big nets learn in seconds. Any other option is rejected, naming its key.
pub fn width_option(request: &NetRequest<'_>) -> Result<f64, PaperError> {
    if let Some(key) = request.options.keys().find(|k| k.as_str() != "width") {
        return Err(PaperError::BadOption { key: key.clone(), reason: format!("is not an option of model `{}` (it takes: width, a multiplier in (0, 1] of its layer widths)", request.model) });
    }
    let width = request.options.get("width").copied().unwrap_or(1.0);
    if !(width > 0.0 && width <= 1.0) {
        return Err(PaperError::BadOption { key: "width".into(), reason: format!("must be a multiplier in (0, 1] of the layer widths (1 is the paper's net), not {width}") });
    }
    Ok(width)
}

/// `channels` scaled by a width multiplier, rounded, and at least 1 (`multiple` for grouped
/// convolutions, whose widths must divide by the group count): the paper's count at width 1.
pub fn narrowed(channels: usize, width: f64, multiple: usize) -> usize {
    (((channels as f64 * width) / multiple as f64).round() as usize).max(1) * multiple
}

/// Multiply-adds of one convolution for one image, given its output.
pub fn conv_macs(conv: &burn::nn::conv::Conv2d, output: &burn::tensor::Tensor<4>) -> u64 {
    let [_, c, h, w] = output.dims();
    let [_, per_group_inputs, kh, kw] = conv.weight.dims();
    (c * h * w * per_group_inputs * kh * kw) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_option_takes_only_width_in_its_range() {
        let recipe = "name: net\npaper: any\ndescription: a net\nmodel: net\ndata: {dataset: mnist}\noptimizer: {kind: sgd}\nschedule: {unit: epoch, steps: [[1, 0.1]]}\nepochs: 1\nbatch_size: 8\nseeds: [1]\nsources: {}\n";
        let base = ExperimentConfig::from_yaml(recipe, "test").unwrap();
        assert_eq!(width_option(&NetRequest::of(&base, 1000)).unwrap(), 1.0);
        let with = |key: &str, value: f64| {
            let mut c = base.clone();
            c.model_options.insert(key.into(), value);
            width_option(&NetRequest::of(&c, 1000))
        };
        assert_eq!(with("width", 0.125).unwrap(), 0.125);
        for bad in [0.0, -0.5, 1.5, f64::NAN] {
            let e = with("width", bad).unwrap_err().to_string();
            assert!(e.contains("`width`") && e.contains("(0, 1]"), "{e}");
        }
        let e = with("depth", 2.0).unwrap_err().to_string();
        assert!(e.contains("`depth`") && e.contains("width"), "{e}");
        assert_eq!((narrowed(96, 1.0, 2), narrowed(96, 0.125, 2), narrowed(4096, 0.125, 1), narrowed(16, 0.01, 1)), (96, 12, 512, 1));
    }
}
