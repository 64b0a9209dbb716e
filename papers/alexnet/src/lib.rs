//! AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep Convolutional
//! Neural Networks"): the paper's two-tower net as grouped convolutions, torchvision's single-tower
//! variant for its published weights, the recipe of §4–5 and the published numbers of Tables 1–2.

pub mod model;

use std::path::Path;

use burn::tensor::{Device, Tensor};
use repro_common::config::ExperimentConfig;
use repro_common::data::Dataset;
use repro_common::data::source::HostBatch;
use repro_common::device::Selected;
use repro_common::engine::{self, Evaluation, TrainSpec};
use repro_common::paper::{LayerRow, ModelSpec, Paper, PaperError, PaperFiles, Tap, width_option};
use repro_common::parity::{self, Parity, PlantedFault};
use repro_common::records::Manifest;

pub use model::{Alexnet, AlexnetSpec};

pub const CITATION: &str = "A. Krizhevsky, I. Sutskever, G. E. Hinton. ImageNet Classification with Deep Convolutional Neural Networks. NIPS 2012";

pub const MODELS: &[ModelSpec] = &[
    ModelSpec { name: "alexnet", summary: "the paper's net (§3, Fig. 2): 96-256-384-384-256, two groups, LRN, 227×227 inputs", published_params: Some(60_965_224) },
    ModelSpec { name: "alexnet-torchvision", summary: "torchvision's single tower: 64-192-384-256-256, no LRN, 224×224 inputs", published_params: Some(61_100_840) },
];

const EXPERIMENTS: &[(&str, &str)] = &[
    ("papers/alexnet/experiments/imagenet-alexnet.yaml", include_str!("../experiments/imagenet-alexnet.yaml")),
    ("papers/alexnet/experiments/ilsvrc2010-alexnet.yaml", include_str!("../experiments/ilsvrc2010-alexnet.yaml")),
    ("papers/alexnet/experiments/torchvision-alexnet.yaml", include_str!("../experiments/torchvision-alexnet.yaml")),
];

pub const FILES: PaperFiles = PaperFiles {
    id: "alexnet",
    citation: CITATION,
    models: MODELS,
    experiments: EXPERIMENTS,
    claims: ("papers/alexnet/claims.yaml", include_str!("../claims.yaml")),
    intro: include_str!("../INTRO.md"),
    deviations: include_str!("../DEVIATIONS.md"),
};

/// torchvision's `features.N` / `classifier.N` Sequential indices, named as the paper's layers.
pub const TORCHVISION_REMAP: [(&str, &str); 8] = [
    (r"^features\.0\.", "conv1."),
    (r"^features\.3\.", "conv2."),
    (r"^features\.6\.", "conv3."),
    (r"^features\.8\.", "conv4."),
    (r"^features\.10\.", "conv5."),
    (r"^classifier\.1\.", "fc6."),
    (r"^classifier\.4\.", "fc7."),
    (r"^classifier\.6\.", "fc8."),
];

pub struct AlexnetPaper;

/// The net `config` names, at its `width` option.
fn configured_spec(config: &ExperimentConfig, classes: usize) -> Result<AlexnetSpec, PaperError> {
    let width = width_option(config)?;
    Ok(spec(&config.model, classes)?.narrowed(width))
}

fn spec(model: &str, classes: usize) -> Result<AlexnetSpec, PaperError> {
    match model {
        "alexnet" => Ok(AlexnetSpec::paper(classes)),
        "alexnet-torchvision" => Ok(AlexnetSpec::torchvision(classes)),
        other => Err(PaperError::UnknownModel { name: other.into(), known: MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ") }),
    }
}

impl Paper for AlexnetPaper {
    fn files(&self) -> &'static PaperFiles {
        &FILES
    }

    fn layer_table(&self, model: &str) -> Result<Vec<LayerRow>, PaperError> {
        let spec = spec(model, 1000)?;
        let device = Device::flex();
        let mut rows = Vec::new();
        Alexnet::new(spec, &device).logits(Tensor::zeros([1, 3, spec.input, spec.input], &device), &mut Tap::on(&mut rows));
        Ok(rows)
    }

    fn parity(&self, config: &ExperimentConfig, classes: usize, [reference, target]: [&Selected; 2], batch: &HostBatch, fault: Option<PlantedFault>) -> Result<Parity, PaperError> {
        let s = configured_spec(config, classes)?;
        Ok(parity::compare(config, reference, target, batch, fault, |d| Alexnet::new(s, d))?)
    }

    fn train(&self, spec_: TrainSpec<'_>) -> Result<Manifest, PaperError> {
        let s = configured_spec(spec_.config, spec_.dataset.class_names.len())?;
        Ok(engine::train(spec_, |d| Alexnet::new(s, d))?)
    }

    fn evaluate(&self, config: &ExperimentConfig, weights: &Path, selected: &Selected, dataset: &Dataset) -> Result<Evaluation, PaperError> {
        let s = configured_spec(config, dataset.class_names.len())?;
        let (_, set) = dataset.sources(&config.data).map_err(engine::TrainError::from)?;
        let device = &selected.device;
        let model = Alexnet::new(s, device);
        let model = repro_common::import::load_weights_or_pytorch(model, weights, &TORCHVISION_REMAP)?;
        Ok(engine::evaluate(&model, set.as_ref(), device)?)
    }
}
