//! A model declared once. Each paper lists its models as [`crate::paper::ModelSpec`]s, each with
//! a builder ([`BuildNet`]) that validates the recipe's options and returns a [`Net`]; training,
//! evaluation, the parity check and the layer table are written here once, for every image
//! classifier ([`ImageNet`]), instead of a `match` on the model name in each of them.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::Path;

use burn::tensor::{Device, Tensor};

use crate::config::ExperimentConfig;
use crate::data::source::{HostBatch, ImageSource};
use crate::device::Selected;
use crate::engine::{self, Evaluation, ImageClassifier, TrainError, TrainSpec};
use crate::paper::{LayerRow, PaperError, Tap};
use crate::parity::{self, Parity, PlantedFault};
use crate::records::Manifest;

/// What a model builder is asked for: the model's name, the recipe's `model_options`, and the
/// classes to predict.
#[derive(Debug, Clone, Copy)]
pub struct NetRequest<'a> {
    pub model: &'a str,
    pub options: &'a BTreeMap<String, f64>,
    /// The dataset's class count; `None` for a layer table, which uses the paper's own.
    pub classes: Option<usize>,
}

impl<'a> NetRequest<'a> {
    /// The model a recipe names, with its options, for a dataset of `classes` classes.
    pub fn of(config: &'a ExperimentConfig, classes: usize) -> Self {
        NetRequest { model: &config.model, options: &config.model_options, classes: Some(classes) }
    }

    /// The model with no options, as the paper describes it (for its layer table).
    pub fn paper(model: &'a str) -> Self {
        static NONE: BTreeMap<String, f64> = BTreeMap::new();
        NetRequest { model, options: &NONE, classes: None }
    }

    /// The classes asked for, or the paper's count when none were.
    pub fn classes_or(&self, paper_classes: usize) -> usize {
        self.classes.unwrap_or(paper_classes)
    }

    /// Rejects any option outside `allowed`, naming the first one and listing what the model takes.
    pub fn only_options(&self, allowed: &[&str]) -> Result<(), PaperError> {
        match self.options.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(PaperError::BadOption {
                key: key.clone(),
                reason: format!("is not an option of model `{}` (it takes: {})", self.model, if allowed.is_empty() { "none".into() } else { allowed.join(", ") }),
            }),
            None => Ok(()),
        }
    }
}

/// Builds one model for a request, or says which option is wrong.
pub type BuildNet = fn(&NetRequest<'_>) -> Result<Box<dyn Net>, PaperError>;

/// Everything the harness does with one built model.
pub trait Net {
    /// Trains it under `spec` ([`engine::train`]).
    fn train(&self, spec: TrainSpec<'_>) -> Result<Manifest, TrainError>;
    /// The same weights and batch on two devices ([`parity::compare`]).
    fn parity(&self, config: &ExperimentConfig, devices: [&Selected; 2], batch: &HostBatch, fault: Option<PlantedFault>) -> Result<Parity, TrainError>;
    /// Loss and errors on `source` of `weights`: this project's checkpoint, or PyTorch's file.
    fn evaluate(&self, weights: &Path, source: &dyn ImageSource, device: &Device) -> Result<Evaluation, TrainError>;
    /// The layer table, from a forward pass of one input ([`ImageClassifier::tabulate`]).
    fn layer_rows(&self) -> Vec<LayerRow>;
    /// `weights` (a checkpoint) written to `out` as PyTorch-layout safetensors, under the names
    /// PyTorch's copy of the net uses where the paper has one ([`crate::import::export_pytorch`]).
    fn export(&self, weights: &Path, out: &Path, metadata: &[(&str, String)]) -> Result<(), TrainError>;
}

/// An image classifier that `init` builds on a device, taking `input` (channels, height, width)
/// images; `pytorch_names` maps a PyTorch file's tensor names onto its own (regex, replacement).
pub struct ImageNet<M, F> {
    init: F,
    input: [usize; 3],
    pytorch_names: Vec<(String, String)>,
    model: PhantomData<fn() -> M>,
}

impl<M: ImageClassifier + 'static, F: Fn(&Device) -> M + 'static> ImageNet<M, F> {
    pub fn new(input: [usize; 3], init: F) -> Self {
        ImageNet { init, input, pytorch_names: Vec::new(), model: PhantomData }
    }

    /// How a PyTorch checkpoint's names (torchvision's, usually) map onto the model's.
    pub fn pytorch_names<S: ToString>(mut self, remap: &[(S, S)]) -> Self {
        self.pytorch_names = remap.iter().map(|(from, to)| (from.to_string(), to.to_string())).collect();
        self
    }

    pub fn boxed(self) -> Box<dyn Net> {
        Box::new(self)
    }
}

impl<M: ImageClassifier + 'static, F: Fn(&Device) -> M + 'static> Net for ImageNet<M, F> {
    fn train(&self, spec: TrainSpec<'_>) -> Result<Manifest, TrainError> {
        engine::train(spec, &self.init)
    }

    fn parity(&self, config: &ExperimentConfig, [reference, target]: [&Selected; 2], batch: &HostBatch, fault: Option<PlantedFault>) -> Result<Parity, TrainError> {
        parity::compare(config, reference, target, batch, fault, &self.init)
    }

    fn evaluate(&self, weights: &Path, source: &dyn ImageSource, device: &Device) -> Result<Evaluation, TrainError> {
        let model = crate::import::load_weights_or_pytorch((self.init)(device), weights, &self.pytorch_names)?;
        engine::evaluate(&model, source, device)
    }

    fn export(&self, weights: &Path, out: &Path, metadata: &[(&str, String)]) -> Result<(), TrainError> {
        let model = crate::import::load_weights_or_pytorch((self.init)(&Device::flex()), weights, &self.pytorch_names)?;
        crate::import::export_pytorch(&model, out, &self.pytorch_names, metadata)
    }

    fn layer_rows(&self) -> Vec<LayerRow> {
        let device = Device::flex();
        let [channels, height, width] = self.input;
        let mut rows = Vec::new();
        (self.init)(&device).tabulate(Tensor::zeros([1, channels, height, width], &device), &mut Tap::on(&mut rows));
        rows
    }
}
