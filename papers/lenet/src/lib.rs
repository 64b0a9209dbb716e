//! LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998): the paper's network, the modern variant most
//! people call LeNet-5, their recipes, and the paper's published MNIST numbers.

pub mod fused;
pub mod layers;
pub mod lenet5;
pub mod modern;
pub mod rbf_codes;
pub mod sdlm;
pub mod squash;

use repro_common::config::ExperimentConfig;
use repro_common::net::{ImageNet, Net, NetRequest};
use repro_common::paper::{HelpExample, ImagePaper, ModelSpec, PaperError, PaperFiles};

pub use lenet5::{InitRange, Lenet5};
pub use modern::Lenet5Modern;

pub const CITATION: &str = "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-Based Learning Applied to Document Recognition. Proc. IEEE 86(11):2278–2324, 1998";

/// The paper's net, the one model SDLM runs on.
pub const PAPER_MODEL: &str = "lenet5";

const MODELS: &[ModelSpec] = &[
    ModelSpec { name: PAPER_MODEL, summary: "the paper's network (§II.B): trainable subsampling, sparse C3, scaled tanh, fixed RBF output, MAP loss", published_params: Some(60_000), build },
    ModelSpec { name: "lenet5-modern", summary: "the common modern variant: ReLU, max-pool, dense C3, softmax cross-entropy", published_params: None, build },
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
    bench_notes: include_str!("../BENCH.md"),
    help_examples: HELP_EXAMPLES,
};

const HELP_EXAMPLES: &[HelpExample] = &[
    HelpExample { command: "", example: "reproduce lenet --sample", what: "LeNet-5 on the bundled MNIST sample (no download)" },
    HelpExample { command: "", example: "train lenet5 --data-dir DIR", what: "the paper's MNIST run from a folder of IDX files" },
    HelpExample { command: "", example: "train lenet5 --dataset fashion-mnist --seeds 3", what: "" },
    HelpExample { command: "train", example: "train lenet5 --dataset mnist-sample --set epochs=2", what: "" },
    HelpExample { command: "train", example: "train lenet5-modern --dataset fashion-mnist --seeds 3", what: "" },
    HelpExample { command: "train", example: "train lenet5 --data-dir ~/mnist --resume", what: "" },
    HelpExample { command: "reproduce", example: "reproduce lenet --sample", what: "bundled MNIST sample, no download (minutes on a laptop)" },
    HelpExample { command: "reproduce", example: "reproduce lenet --data-dir ~/mnist", what: "the paper's experiments on full MNIST" },
    HelpExample { command: "export", example: "export results/lenet/lenet5-modern/mnist-sample/seed1-20261123T004836Z", what: "" },
    HelpExample { command: "replay", example: "replay results/lenet/lenet5-modern/mnist-sample/seed1-20261123T004836Z", what: "" },
    HelpExample { command: "replay", example: "replay results/lenet/lenet5/mnist --data-dir ~/mnist", what: "every run in the folder, on full MNIST" },
];

/// The MAP criterion's `j` when a config does not set `model_options.map_j`.
pub const DEFAULT_MAP_J: f64 = 10.0;

pub struct LenetPaper;

/// `lenet5`'s options: the MAP criterion's `j` and the initial weight range.
pub fn lenet5_options(request: &NetRequest<'_>) -> Result<(f64, InitRange), PaperError> {
    request.only_options(&["map_j", "init_range", "init_fan_in_power"])?;
    let get = |key: &str, default: f64| -> Result<f64, PaperError> {
        let value = request.options.get(key).copied().unwrap_or(default);
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

/// Builds the net `request` names: 32×32 grey inputs (§II.B), ten classes.
fn build(request: &NetRequest<'_>) -> Result<Box<dyn Net>, PaperError> {
    if request.model == PAPER_MODEL {
        let (j, init) = lenet5_options(request)?;
        return Ok(ImageNet::new([1, 32, 32], move |d| Lenet5::new(j, init, d)).boxed());
    }
    request.only_options(&[])?;
    Ok(ImageNet::new([1, 32, 32], Lenet5Modern::new).boxed())
}

impl ImagePaper for LenetPaper {
    fn files(&self) -> &'static PaperFiles {
        &FILES
    }

    fn smoke_nets(&self) -> &'static [repro_common::paper::SmokeNet] {
        &[repro_common::paper::SmokeNet { experiment: "lenet5", name: "LeNet-5" }]
    }

    fn check_recipe(&self, config: &ExperimentConfig) -> Result<(), String> {
        sdlm::check_recipe(config)?;
        repro_common::paper::refuse_paper_protocol(config)?;
        repro_common::paper::refuse_eval_crops(config, &[])
    }

    /// SDLM's curvature estimates and step sizes per parameter tensor.
    fn write_up_sections(&self, results_root: &std::path::Path, runs: &[&repro_common::report::RunRecord]) -> Result<Vec<(String, String)>, repro_common::records::RecordError> {
        let curvature = sdlm::curvature_section(results_root, runs)?;
        Ok(if curvature.is_empty() { Vec::new() } else { vec![("SDLM: curvature and step sizes".into(), curvature)] })
    }

    fn sample_experiments(&self) -> Vec<ExperimentConfig> {
        ["lenet5", "lenet5-sgd", "lenet5-modern"]
            .iter()
            .filter_map(|name| self.experiments().into_iter().find(|e| e.name == *name))
            .map(|e| e.with_overrides(&["data.dataset=mnist-sample".to_string()]).expect("sample override is valid"))
            .collect()
    }
}
