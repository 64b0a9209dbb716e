//! LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998): the paper's network, the modern variant most
//! people call LeNet-5, their recipes, and the paper's published MNIST numbers.

pub mod lenet5;
pub mod modern;
pub mod rbf_codes;

use std::path::Path;

use burn::tensor::{Device, Tensor};
use repro_common::config::ExperimentConfig;
use repro_common::data::Dataset;
use repro_common::data::source::HostBatch;
use repro_common::device::Selected;
use repro_common::engine::{self, Evaluation, TrainSpec};
use repro_common::paper::{LayerRow, ModelSpec, Paper, PaperError, PaperFiles, Tap};
use repro_common::parity::{self, Parity, PlantedFault};
use repro_common::records::Manifest;

pub use lenet5::{InitRange, Lenet5};
pub use modern::Lenet5Modern;

pub const CITATION: &str = "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-Based Learning Applied to Document Recognition. Proc. IEEE 86(11):2278–2324, 1998";

const MODELS: &[ModelSpec] = &[
    ModelSpec { name: "lenet5", summary: "the paper's network (§II.B): trainable subsampling, sparse C3, scaled tanh, fixed RBF output, MAP loss", published_params: Some(60_000) },
    ModelSpec { name: "lenet5-modern", summary: "the common modern variant: ReLU, max-pool, dense C3, softmax cross-entropy", published_params: None },
];

const EXPERIMENTS: &[(&str, &str)] = &[
    ("papers/lenet/experiments/lenet5.yaml", include_str!("../experiments/lenet5.yaml")),
    ("papers/lenet/experiments/lenet5-distorted.yaml", include_str!("../experiments/lenet5-distorted.yaml")),
    ("papers/lenet/experiments/lenet5-sgd.yaml", include_str!("../experiments/lenet5-sgd.yaml")),
    ("papers/lenet/experiments/lenet5-modern.yaml", include_str!("../experiments/lenet5-modern.yaml")),
];

/// Everything the crate ships; the write-up (`results/lenet/README.md`) opens with `INTRO.md`.
pub const FILES: PaperFiles = PaperFiles {
    id: "lenet",
    citation: CITATION,
    models: MODELS,
    experiments: EXPERIMENTS,
    claims: ("papers/lenet/claims.yaml", include_str!("../claims.yaml")),
    intro: include_str!("../INTRO.md"),
    deviations: include_str!("../DEVIATIONS.md"),
};

/// The MAP criterion's `j` when a config does not set `model_options.map_j`.
pub const DEFAULT_MAP_J: f64 = 10.0;

pub struct LenetPaper;

fn options(config: &ExperimentConfig, allowed: &[&str]) -> Result<(), PaperError> {
    match config.model_options.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(PaperError::BadOption {
            key: key.clone(),
            reason: format!("is not an option of model `{}` (it takes: {})", config.model, if allowed.is_empty() { "none".into() } else { allowed.join(", ") }),
        }),
        None => Ok(()),
    }
}

/// `lenet5`'s options: the MAP criterion's `j` and the initial weight range.
pub fn lenet5_options(config: &ExperimentConfig) -> Result<(f64, InitRange), PaperError> {
    options(config, &["map_j", "init_range", "init_fan_in_power"])?;
    let get = |key: &str, default: f64| -> Result<f64, PaperError> {
        let value = config.model_options.get(key).copied().unwrap_or(default);
        if value.is_finite() { Ok(value) } else { Err(PaperError::BadOption { key: key.into(), reason: "must be a finite number".into() }) }
    };
    let init = InitRange { range: get("init_range", InitRange::PAPER.range)?, fan_in_power: get("init_fan_in_power", InitRange::PAPER.fan_in_power)? };
    if init.range <= 0.0 {
        return Err(PaperError::BadOption { key: "init_range".into(), reason: format!("must be positive, not {}", init.range) });
    }
    // The weights are f32: the bounds at the smallest and largest fan-in (S2's 4, C5's 400) must
    // stay positive and finite there, or no uniform range exists to draw from.
    if let Some(fan_in) = [4, 400].into_iter().find(|&f| !(init.bound(f) as f32 > 0.0 && (2.0 * init.bound(f) as f32).is_finite())) {
        return Err(PaperError::BadOption {
            key: "init_range/init_fan_in_power".into(),
            reason: format!("{:e}/F_i^{} gives the bound {:e} at fan-in {fan_in}, which is not a positive finite f32", init.range, init.fan_in_power, init.bound(fan_in)),
        });
    }
    Ok((get("map_j", DEFAULT_MAP_J)?, init))
}

fn unknown(name: &str) -> PaperError {
    PaperError::UnknownModel { name: name.into(), known: MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ") }
}

impl Paper for LenetPaper {
    fn files(&self) -> &'static PaperFiles {
        &FILES
    }

    fn layer_table(&self, model: &str) -> Result<Vec<LayerRow>, PaperError> {
        let device = Device::flex();
        let input = Tensor::<4>::zeros([1, 1, 32, 32], &device);
        let mut rows = Vec::new();
        match model {
            "lenet5" => {
                Lenet5::new(DEFAULT_MAP_J, InitRange::PAPER, &device).penalties(input, &mut Tap::on(&mut rows));
            }
            "lenet5-modern" => {
                Lenet5Modern::new(&device).logits(input, &mut Tap::on(&mut rows));
            }
            other => return Err(unknown(other)),
        }
        Ok(rows)
    }

    fn parity(&self, config: &ExperimentConfig, _classes: usize, [reference, target]: [&Selected; 2], batch: &HostBatch, fault: Option<PlantedFault>) -> Result<Parity, PaperError> {
        match config.model.as_str() {
            "lenet5" => {
                let (j, init) = lenet5_options(config)?;
                Ok(parity::compare(config, reference, target, batch, fault, |d| Lenet5::new(j, init, d))?)
            }
            "lenet5-modern" => {
                options(config, &[])?;
                Ok(parity::compare(config, reference, target, batch, fault, Lenet5Modern::new)?)
            }
            other => Err(unknown(other)),
        }
    }

    fn train(&self, spec: TrainSpec<'_>) -> Result<Manifest, PaperError> {
        match spec.config.model.as_str() {
            "lenet5" => {
                let (j, init) = lenet5_options(spec.config)?;
                Ok(engine::train(spec, |d| Lenet5::new(j, init, d))?)
            }
            "lenet5-modern" => {
                options(spec.config, &[])?;
                Ok(engine::train(spec, Lenet5Modern::new)?)
            }
            other => Err(unknown(other)),
        }
    }

    fn evaluate(&self, config: &ExperimentConfig, weights: &Path, selected: &Selected, dataset: &Dataset) -> Result<Evaluation, PaperError> {
        let (_, set) = dataset.sources(&config.data).map_err(engine::TrainError::from)?;
        let device = &selected.device;
        match config.model.as_str() {
            "lenet5" => {
                let (j, init) = lenet5_options(config)?;
                let model = engine::load_weights(Lenet5::new(j, init, device), weights)?;
                Ok(engine::evaluate(&model, set.as_ref(), device)?)
            }
            "lenet5-modern" => {
                let model = engine::load_weights(Lenet5Modern::new(device), weights)?;
                Ok(engine::evaluate(&model, set.as_ref(), device)?)
            }
            other => Err(unknown(other)),
        }
    }

    fn sample_experiments(&self) -> Vec<ExperimentConfig> {
        ["lenet5", "lenet5-sgd", "lenet5-modern"]
            .iter()
            .filter_map(|name| self.experiments().into_iter().find(|e| e.name == *name))
            .map(|e| e.with_overrides(&["data.dataset=mnist-sample".to_string()]).expect("sample override is valid"))
            .collect()
    }
}
