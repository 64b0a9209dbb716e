//! GoogLeNet (Szegedy et al. 2014, "Going Deeper with Convolutions", arXiv:1409.4842v1): the net
//! of Table 1 and Figure 3 with its auxiliary classifiers, a recipe for what §6 leaves open, the
//! 1-, 10- and 144-crop protocols of Table 3 and the published numbers.

pub mod model;
pub mod torchvision;

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

pub use model::{Googlenet, Inception};

pub const CITATION: &str = "C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke, A. Rabinovich. Going Deeper with Convolutions. CVPR 2015 (arXiv:1409.4842v1)";

pub const MODELS: &[ModelSpec] = &[
    ModelSpec { name: "googlenet", summary: "Table 1 and Fig. 3 with the two auxiliary classifiers of §5 (training only)", published_params: None },
    ModelSpec { name: "googlenet-noaux", summary: "the same net without the auxiliary classifiers (what inference uses)", published_params: None },
    ModelSpec { name: "googlenet-torchvision", summary: "torchvision's net (BN, 3×3 for 5×5, no LRN), for its published weights", published_params: Some(6_624_904) },
];

const EXPERIMENTS: &[(&str, &str)] = &[
    ("papers/googlenet/experiments/imagenet-googlenet.yaml", include_str!("../experiments/imagenet-googlenet.yaml")),
    ("papers/googlenet/experiments/imagenet-googlenet-10crop.yaml", include_str!("../experiments/imagenet-googlenet-10crop.yaml")),
    ("papers/googlenet/experiments/imagenet-googlenet-144crop.yaml", include_str!("../experiments/imagenet-googlenet-144crop.yaml")),
    ("papers/googlenet/experiments/torchvision-googlenet.yaml", include_str!("../experiments/torchvision-googlenet.yaml")),
];

pub const FILES: PaperFiles = PaperFiles {
    id: "googlenet",
    citation: CITATION,
    models: MODELS,
    experiments: EXPERIMENTS,
    claims: ("papers/googlenet/claims.yaml", include_str!("../claims.yaml")),
    intro: include_str!("../INTRO.md"),
    deviations: include_str!("../DEVIATIONS.md"),
};

pub struct GooglenetPaper;

/// The `width` option; torchvision's net exists for its published full-width weights only.
fn width(config: &ExperimentConfig) -> Result<f64, PaperError> {
    let width = width_option(config)?;
    if config.model == "googlenet-torchvision" && width != 1.0 {
        return Err(PaperError::BadOption { key: "width".into(), reason: "applies to the paper's nets (googlenet, googlenet-noaux), not to googlenet-torchvision".into() });
    }
    Ok(width)
}

fn aux(model: &str) -> Result<bool, PaperError> {
    match model {
        "googlenet" => Ok(true),
        "googlenet-noaux" | "googlenet-torchvision" => Ok(false),
        other => Err(PaperError::UnknownModel { name: other.into(), known: MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ") }),
    }
}

impl Paper for GooglenetPaper {
    fn files(&self) -> &'static PaperFiles {
        &FILES
    }

    fn layer_table(&self, model: &str) -> Result<Vec<LayerRow>, PaperError> {
        let with_aux = aux(model)?;
        let device = Device::flex();
        if model == "googlenet-torchvision" {
            let net = torchvision::TorchvisionGooglenet::new(1000, &device);
            let out = net.logits(Tensor::zeros([1, 3, 224, 224], &device));
            let params = repro_common::paper::trainable_params(&net);
            return Ok(vec![LayerRow {
                name: "googlenet (torchvision)".into(),
                description: "BN after each convolution, 3×3 for 5×5, no LRN, dropout 0.2".into(),
                output: out.dims()[1..].to_vec(),
                params,
                paper_params: None,
                macs: 0,
            }]);
        }
        let net = Googlenet::new(1000, with_aux, &device);
        let mut rows = Vec::new();
        net.forward(Tensor::zeros([1, 3, 224, 224], &device), false, &mut Tap::on(&mut rows));
        // The auxiliary heads' parameters, as rows of their own (they run in training only).
        for (name, head) in [("aux1 (on 4a)", &net.aux1), ("aux2 (on 4d)", &net.aux2)] {
            if let Some(h) = head {
                let params = repro_common::paper::trainable_params(h);
                rows.push(LayerRow {
                    name: name.into(),
                    description: "avg pool 5×5/3, conv 1×1 128, FC-1024, dropout 70%, linear (training only, loss weight 0.3)".into(),
                    output: vec![1000],
                    params,
                    paper_params: None,
                    macs: 0,
                });
            }
        }
        Ok(rows)
    }

    fn parity(&self, config: &ExperimentConfig, classes: usize, [reference, target]: [&Selected; 2], batch: &HostBatch, fault: Option<PlantedFault>) -> Result<Parity, PaperError> {
        let width = width(config)?;
        let with_aux = aux(&config.model)?;
        if config.model == "googlenet-torchvision" {
            return Ok(parity::compare(config, reference, target, batch, fault, |d| torchvision::TorchvisionGooglenet::new(classes, d))?);
        }
        Ok(parity::compare(config, reference, target, batch, fault, |d| Googlenet::with_width(classes, with_aux, width, d))?)
    }

    fn train(&self, spec: TrainSpec<'_>) -> Result<Manifest, PaperError> {
        let width = width(spec.config)?;
        let with_aux = aux(&spec.config.model)?;
        let classes = spec.dataset.class_names.len();
        if spec.config.model == "googlenet-torchvision" {
            return Ok(engine::train(spec, |d| torchvision::TorchvisionGooglenet::new(classes, d))?);
        }
        Ok(engine::train(spec, |d| Googlenet::with_width(classes, with_aux, width, d))?)
    }

    fn evaluate(&self, config: &ExperimentConfig, weights: &Path, selected: &Selected, dataset: &Dataset) -> Result<Evaluation, PaperError> {
        let width = width(config)?;
        let with_aux = aux(&config.model)?;
        let (_, set) = dataset.sources(&config.data).map_err(engine::TrainError::from)?;
        let device = &selected.device;
        let classes = dataset.class_names.len();
        if config.model == "googlenet-torchvision" {
            let model = torchvision::TorchvisionGooglenet::new(classes, device);
            let model = repro_common::import::load_weights_or_pytorch(model, weights, &torchvision::TorchvisionGooglenet::remap())?;
            return Ok(engine::evaluate(&model, set.as_ref(), device)?);
        }
        let model = engine::load_weights(Googlenet::with_width(classes, with_aux, width, device), weights)?;
        Ok(engine::evaluate(&model, set.as_ref(), device)?)
    }
}
