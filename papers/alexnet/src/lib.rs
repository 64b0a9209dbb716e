//! AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification with Deep Convolutional
//! Neural Networks"): the paper's two-tower net as grouped convolutions, torchvision's single-tower
//! variant for its published weights, the recipe of §4–5 and the published numbers of Tables 1–2.

pub mod model;

use repro_common::net::{ImageNet, Net, NetRequest};
use repro_common::paper::{ImagePaper, ModelSpec, PaperError, PaperFiles, width_option};

pub use model::{Alexnet, AlexnetSpec};

pub const CITATION: &str = "A. Krizhevsky, I. Sutskever, G. E. Hinton. ImageNet Classification with Deep Convolutional Neural Networks. NIPS 2012";

pub const MODELS: &[ModelSpec] = &[
    ModelSpec { name: "alexnet", summary: "the paper's net (§3, Fig. 2): 96-256-384-384-256, two groups, LRN, 227×227 inputs", published_params: Some(60_965_224), build },
    ModelSpec { name: "alexnet-torchvision", summary: "torchvision's single tower: 64-192-384-256-256, no LRN, 224×224 inputs", published_params: Some(61_100_840), build },
];

const EXPERIMENTS: &[(&str, &str)] = &[
    ("papers/alexnet/experiments/imagenet-alexnet.yaml", include_str!("../experiments/imagenet-alexnet.yaml")),
    ("papers/alexnet/experiments/ilsvrc2010-alexnet.yaml", include_str!("../experiments/ilsvrc2010-alexnet.yaml")),
    ("papers/alexnet/experiments/ilsvrc2010-alexnet-1crop.yaml", include_str!("../experiments/ilsvrc2010-alexnet-1crop.yaml")),
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
    bench_notes: include_str!("../BENCH.md"),
    help_examples: &[],
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

/// Builds the net `request` names, at its `width` option.
fn build(request: &NetRequest<'_>) -> Result<Box<dyn Net>, PaperError> {
    let width = width_option(request)?;
    let classes = request.classes_or(1000);
    let spec = match request.model {
        "alexnet" => AlexnetSpec::paper(classes),
        _ => AlexnetSpec::torchvision(classes),
    }
    .narrowed(width);
    Ok(ImageNet::new([3, spec.input, spec.input], move |d| Alexnet::new(spec, d)).pytorch_names(&TORCHVISION_REMAP).boxed())
}

impl ImagePaper for AlexnetPaper {
    fn files(&self) -> &'static PaperFiles {
        &FILES
    }
}
