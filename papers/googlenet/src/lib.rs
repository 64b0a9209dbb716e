//! GoogLeNet (Szegedy et al. 2014, "Going Deeper with Convolutions", arXiv:1409.4842v1): the net
//! of Table 1 and Figure 3 with its auxiliary classifiers, a recipe for what §6 leaves open, the
//! 1-, 10- and 144-crop protocols of Table 3 (the last in `views`) and the published numbers.

pub mod model;
pub mod torchvision;
pub mod views;

use std::path::Path;
use std::sync::Arc;

use repro_common::config::ExperimentConfig;
use repro_common::data::Dataset;
use repro_common::device::Selected;
use repro_common::engine::{Evaluation, TrainError};
use repro_common::net::{ImageNet, Net, NetRequest};
use repro_common::paper::{ImagePaper, ModelSpec, PaperError, PaperFiles, evaluate_on_split, width_option};

pub use model::{Googlenet, Inception};

pub const CITATION: &str = "C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke, A. Rabinovich. Going Deeper with Convolutions. CVPR 2015 (arXiv:1409.4842v1)";

pub const MODELS: &[ModelSpec] = &[
    ModelSpec { name: "googlenet", summary: "Table 1 and Fig. 3 with the two auxiliary classifiers of §5 (training only)", published_params: None, build },
    ModelSpec { name: "googlenet-noaux", summary: "the same net without the auxiliary classifiers (what inference uses)", published_params: None, build },
    ModelSpec { name: "googlenet-torchvision", summary: "torchvision's net (BN, 3×3 for 5×5, no LRN), for its published weights", published_params: Some(6_624_904), build },
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
    bench_notes: include_str!("../BENCH.md"),
    help_examples: &[],
};

pub struct GooglenetPaper;

/// Builds the net `request` names; the `width` option applies to the paper's nets only
/// (torchvision's exists for its published full-width weights).
fn build(request: &NetRequest<'_>) -> Result<Box<dyn Net>, PaperError> {
    let width = width_option(request)?;
    let classes = request.classes_or(1000);
    if request.model == "googlenet-torchvision" {
        if width != 1.0 {
            return Err(PaperError::BadOption { key: "width".into(), reason: "applies to the paper's nets (googlenet, googlenet-noaux), not to googlenet-torchvision".into() });
        }
        return Ok(ImageNet::new([3, 224, 224], move |d| torchvision::TorchvisionGooglenet::new(classes, d)).pytorch_names(&torchvision::TorchvisionGooglenet::remap()).boxed());
    }
    let with_aux = request.model == "googlenet";
    Ok(ImageNet::new([3, 224, 224], move |d| Googlenet::with_width(classes, with_aux, width, d)).boxed())
}

/// Whether `config` is tested on §7's 144 crops (`data.folder.eval_crops: 144`).
fn multi_scale_test(config: &ExperimentConfig) -> bool {
    config.data.folder.as_ref().is_some_and(|f| f.eval_crops == views::MultiScaleCrops::COUNT)
}

impl ImagePaper for GooglenetPaper {
    fn files(&self) -> &'static PaperFiles {
        &FILES
    }

    /// The 144-crop test is of trained weights (`harness evaluate-pretrained`), not the check
    /// made after each training epoch.
    fn check_recipe(&self, config: &ExperimentConfig) -> Result<(), String> {
        repro_common::paper::refuse_paper_optimizer(config)?;
        repro_common::paper::refuse_paper_protocol(config)?;
        repro_common::paper::refuse_eval_crops(config, &[views::MultiScaleCrops::COUNT])?;
        if multi_scale_test(config) && config.epochs > 0 {
            return Err(format!(
                "data.folder.eval_crops {} (Table 3's test) evaluates trained weights: train with eval_crops 1 or 10, then run `harness evaluate-pretrained imagenet-googlenet-144crop --weights RUN/checkpoint/<epoch>.model.bpk`",
                views::MultiScaleCrops::COUNT
            ));
        }
        Ok(())
    }

    /// Table 3's 144-crop test where the recipe asks for it; the standard views otherwise.
    fn evaluate(&self, config: &ExperimentConfig, weights: &Path, selected: &Selected, dataset: &Dataset) -> Result<Evaluation, PaperError> {
        let net = self.net(&NetRequest::of(config, dataset.class_names.len()))?;
        if !multi_scale_test(config) {
            return evaluate_on_split(net.as_ref(), config, weights, selected, dataset);
        }
        let (_, set) = dataset.sources_with_eval_views(&config.data, Some(Arc::new(views::MultiScaleCrops))).map_err(TrainError::from)?;
        Ok(net.evaluate(weights, set.as_ref(), &selected.device)?)
    }
}
