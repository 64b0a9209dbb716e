//! ResNet (He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image Recognition",
//! arXiv:1512.03385): the CIFAR-10 nets of §4.2, the ImageNet nets of Table 1 with the shortcut
//! options of §3.3, their recipes, the paper's published numbers, and torchvision weight import.

pub mod blocks;
pub mod cifar;
pub mod imagenet;
pub mod torchvision;

use repro_common::net::{ImageNet, NetRequest};
use repro_common::paper::{HelpExample, ImagePaper, ModelSpec, PaperError, PaperFiles, SmokeNet, SmokeTraining, width_option};

pub use blocks::{BottleneckStride, ShortcutOption};
pub use cifar::CifarResnet;
pub use imagenet::{ImagenetResnet, ImagenetSpec};

pub const CITATION: &str = "K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016 (arXiv:1512.03385, 2015)";
pub const ID: &str = "resnet";

/// Overrides of `cifar10-resnet20` for a fixed-budget run on generated data in the CIFAR-10
/// format (`repro_common::data::cifar::write_pattern_batches`, 128 per batch file and 200 test
/// images: 640 training images): 4 epochs of batch 32 (80 updates) at 0.02, then 0.002 for the
/// last 20 so the BN running statistics settle (with so few updates they otherwise lag the
/// weights). The regression test and `harness smoke` run it.
pub const SHORT_RUN: &[&str] = &["data.dataset=cifar10-layout", "epochs=4", "batch_size=32", "schedule.steps=[[0, 0.02], [60, 0.002]]"];

/// Every model, with the count it must have: the CIFAR counts are the exact ones behind the
/// paper's rounded Table 6 figures (0.27M … 19.4M); the ImageNet counts are torchvision's
/// (the paper gives none; the stride placement does not change them).
pub const MODELS: &[ModelSpec] = &[
    ModelSpec { name: "resnet20", summary: "CIFAR §4.2, n=3, option A shortcuts (Table 6: 0.27M)", published_params: Some(269_722), build },
    ModelSpec { name: "resnet32", summary: "CIFAR §4.2, n=5 (0.46M)", published_params: Some(464_154), build },
    ModelSpec { name: "resnet44", summary: "CIFAR §4.2, n=7 (0.66M)", published_params: Some(658_586), build },
    ModelSpec { name: "resnet56", summary: "CIFAR §4.2, n=9 (0.85M)", published_params: Some(853_018), build },
    ModelSpec { name: "resnet110", summary: "CIFAR §4.2, n=18 (1.7M)", published_params: Some(1_727_962), build },
    ModelSpec { name: "resnet1202", summary: "CIFAR §4.2, n=200 (19.4M)", published_params: Some(19_421_274), build },
    ModelSpec { name: "plain20", summary: "CIFAR plain net of Figure 6, 20 layers", published_params: Some(269_722), build },
    ModelSpec { name: "plain32", summary: "CIFAR plain net, 32 layers", published_params: Some(464_154), build },
    ModelSpec { name: "plain44", summary: "CIFAR plain net, 44 layers", published_params: Some(658_586), build },
    ModelSpec { name: "plain56", summary: "CIFAR plain net, 56 layers", published_params: Some(853_018), build },
    ModelSpec { name: "resnet18", summary: "ImageNet Table 1, basic blocks 2-2-2-2, option B", published_params: Some(11_689_512), build },
    ModelSpec { name: "resnet18-a", summary: "ResNet-18 with option A shortcuts (Table 2)", published_params: None, build },
    ModelSpec { name: "resnet34", summary: "ImageNet Table 1, basic blocks 3-4-6-3, option B", published_params: Some(21_797_672), build },
    ModelSpec { name: "resnet34-a", summary: "ResNet-34 with option A shortcuts (Table 2/3)", published_params: None, build },
    ModelSpec { name: "resnet34-c", summary: "ResNet-34 with option C shortcuts (Table 3)", published_params: None, build },
    ModelSpec { name: "resnet50", summary: "ImageNet Table 1, bottlenecks 3-4-6-3, option B, stride on the first 1×1 (the authors' models)", published_params: Some(25_557_032), build },
    ModelSpec { name: "resnet101", summary: "bottlenecks 3-4-23-3, option B, stride on the first 1×1", published_params: Some(44_549_160), build },
    ModelSpec { name: "resnet152", summary: "bottlenecks 3-8-36-3, option B, stride on the first 1×1", published_params: Some(60_192_808), build },
    ModelSpec { name: "resnet50-v1.5", summary: "torchvision's placement: stride on the 3×3", published_params: Some(25_557_032), build },
    ModelSpec { name: "resnet101-v1.5", summary: "torchvision's placement: stride on the 3×3", published_params: Some(44_549_160), build },
    ModelSpec { name: "resnet152-v1.5", summary: "torchvision's placement: stride on the 3×3", published_params: Some(60_192_808), build },
    ModelSpec { name: "plain18", summary: "ImageNet plain net of Figure 3 / Table 2, 18 layers", published_params: None, build },
    ModelSpec { name: "plain34", summary: "ImageNet plain net, 34 layers", published_params: None, build },
];

/// A model name, parsed.
#[derive(Debug, Clone, Copy)]
pub enum Net {
    /// `n` blocks per stage (6n + 2 layers).
    Cifar {
        n: usize,
        residual: bool,
    },
    Imagenet {
        depth: usize,
        residual: bool,
        shortcut: ShortcutOption,
        bottleneck_stride: BottleneckStride,
    },
}

impl Net {
    pub fn parse(name: &str) -> Option<Net> {
        MODELS.iter().find(|m| m.name == name)?;
        let (base, variant) = name.split_once('-').unwrap_or((name, ""));
        let (residual, depth) = match base.strip_prefix("resnet") {
            Some(d) => (true, d.parse::<usize>().ok()?),
            None => (false, base.strip_prefix("plain")?.parse::<usize>().ok()?),
        };
        if imagenet::architecture(depth).is_some() {
            let shortcut = match variant {
                "a" => ShortcutOption::A,
                "c" => ShortcutOption::C,
                _ => ShortcutOption::B,
            };
            let bottleneck_stride = if variant == "v1.5" { BottleneckStride::Middle3x3 } else { BottleneckStride::First1x1 };
            Some(Net::Imagenet { depth, residual, shortcut, bottleneck_stride })
        } else {
            Some(Net::Cifar { n: (depth - 2) / 6, residual })
        }
    }

    pub fn input_side(&self) -> usize {
        match self {
            Net::Cifar { .. } => 32,
            Net::Imagenet { .. } => 224,
        }
    }

    pub fn imagenet_spec(&self, classes: usize) -> Option<ImagenetSpec> {
        match *self {
            Net::Imagenet { depth, residual, shortcut, bottleneck_stride } => {
                Some(ImagenetSpec { architecture: imagenet::architecture(depth).expect("parsed depth is in Table 1"), residual, shortcut, bottleneck_stride, classes, width: 1.0 })
            }
            Net::Cifar { .. } => None,
        }
    }
}

/// Builds the model `request` names; `width` (ImageNet nets only: the CIFAR nets are small).
fn build(request: &NetRequest<'_>) -> Result<Box<dyn repro_common::net::Net>, PaperError> {
    let width = width_option(request)?;
    let net = Net::parse(request.model).expect("the paper lists its models");
    Ok(match net {
        Net::Cifar { n, residual } => {
            if width != 1.0 {
                return Err(PaperError::BadOption { key: "width".into(), reason: format!("applies to the ImageNet nets, not to the CIFAR net `{}`", request.model) });
            }
            let classes = request.classes_or(10);
            ImageNet::new([3, 32, 32], move |d| CifarResnet::new(n, residual, classes, d)).boxed()
        }
        Net::Imagenet { .. } => {
            let s = ImagenetSpec { width, ..net.imagenet_spec(request.classes_or(1000)).expect("imagenet net") };
            ImageNet::new([3, 224, 224], move |d| ImagenetResnet::new(s, d)).pytorch_names(&torchvision::REMAP).boxed()
        }
    })
}

const EXPERIMENTS: &[(&str, &str)] = &[
    ("papers/resnet/experiments/cifar10-resnet20.yaml", include_str!("../experiments/cifar10-resnet20.yaml")),
    ("papers/resnet/experiments/cifar10-resnet32.yaml", include_str!("../experiments/cifar10-resnet32.yaml")),
    ("papers/resnet/experiments/cifar10-resnet44.yaml", include_str!("../experiments/cifar10-resnet44.yaml")),
    ("papers/resnet/experiments/cifar10-resnet56.yaml", include_str!("../experiments/cifar10-resnet56.yaml")),
    ("papers/resnet/experiments/cifar10-resnet110.yaml", include_str!("../experiments/cifar10-resnet110.yaml")),
    ("papers/resnet/experiments/cifar10-resnet1202.yaml", include_str!("../experiments/cifar10-resnet1202.yaml")),
    ("papers/resnet/experiments/cifar10-plain20.yaml", include_str!("../experiments/cifar10-plain20.yaml")),
    ("papers/resnet/experiments/cifar10-plain56.yaml", include_str!("../experiments/cifar10-plain56.yaml")),
    ("papers/resnet/experiments/cifar10-resnet20-val.yaml", include_str!("../experiments/cifar10-resnet20-val.yaml")),
    ("papers/resnet/experiments/fashion32-resnet20.yaml", include_str!("../experiments/fashion32-resnet20.yaml")),
    ("papers/resnet/experiments/imagenet-resnet18.yaml", include_str!("../experiments/imagenet-resnet18.yaml")),
    ("papers/resnet/experiments/imagenet-resnet18-a.yaml", include_str!("../experiments/imagenet-resnet18-a.yaml")),
    ("papers/resnet/experiments/imagenet-plain18.yaml", include_str!("../experiments/imagenet-plain18.yaml")),
    ("papers/resnet/experiments/imagenet-plain34.yaml", include_str!("../experiments/imagenet-plain34.yaml")),
    ("papers/resnet/experiments/imagenet-resnet34-a.yaml", include_str!("../experiments/imagenet-resnet34-a.yaml")),
    ("papers/resnet/experiments/imagenet-resnet34.yaml", include_str!("../experiments/imagenet-resnet34.yaml")),
    ("papers/resnet/experiments/imagenet-resnet34-c.yaml", include_str!("../experiments/imagenet-resnet34-c.yaml")),
    ("papers/resnet/experiments/imagenet-resnet50.yaml", include_str!("../experiments/imagenet-resnet50.yaml")),
    ("papers/resnet/experiments/imagenet-resnet101.yaml", include_str!("../experiments/imagenet-resnet101.yaml")),
    ("papers/resnet/experiments/imagenet-resnet152.yaml", include_str!("../experiments/imagenet-resnet152.yaml")),
    ("papers/resnet/experiments/torchvision-resnet18.yaml", include_str!("../experiments/torchvision-resnet18.yaml")),
    ("papers/resnet/experiments/torchvision-resnet34.yaml", include_str!("../experiments/torchvision-resnet34.yaml")),
    ("papers/resnet/experiments/torchvision-resnet50.yaml", include_str!("../experiments/torchvision-resnet50.yaml")),
    ("papers/resnet/experiments/torchvision-resnet101.yaml", include_str!("../experiments/torchvision-resnet101.yaml")),
    ("papers/resnet/experiments/torchvision-resnet152.yaml", include_str!("../experiments/torchvision-resnet152.yaml")),
];

/// Everything the crate ships; the write-up (`results/resnet/README.md`) opens with `INTRO.md`.
pub const FILES: PaperFiles = PaperFiles {
    id: ID,
    citation: CITATION,
    models: MODELS,
    experiments: EXPERIMENTS,
    claims: ("papers/resnet/claims.yaml", include_str!("../claims.yaml")),
    intro: include_str!("../INTRO.md"),
    deviations: include_str!("../DEVIATIONS.md"),
    bench_notes: include_str!("../BENCH.md"),
    help_examples: &[
        HelpExample { command: "", example: "train cifar10-resnet20 --data-dir ~/cifar", what: "ResNet-20, §4.2's recipe (a GPU job: --features vulkan, --device vulkan)" },
        HelpExample { command: "", example: "layers resnet50", what: "a layer table with parameters and multiply-adds" },
        HelpExample {
            command: "evaluate-pretrained",
            example: "evaluate-pretrained torchvision-resnet50 --weights resnet50-0676ba61.pth --data-dir /data/imagenet --device cuda",
            what: "torchvision's ResNet-50 weights on ImageNet val, 1 crop",
        },
    ],
};

pub struct ResnetPaper;

impl ImagePaper for ResnetPaper {
    fn files(&self) -> &'static PaperFiles {
        &FILES
    }

    fn parameter_summary(&self) -> Option<String> {
        Some(parameter_summary())
    }

    fn smoke_nets(&self) -> &'static [SmokeNet] {
        &[SmokeNet { experiment: "cifar10-resnet20", name: "ResNet-20" }, SmokeNet { experiment: "imagenet-resnet50", name: "ResNet-50" }]
    }

    fn smoke_training(&self) -> Option<SmokeTraining> {
        Some(SmokeTraining { experiment: "cifar10-resnet20", name: "ResNet-20", overrides: SHORT_RUN, cpu_result: "On the CPU it ends at 0 errors (the regression test)." })
    }
}

/// The paper's rounded parameter counts (Table 6) and multiply-adds (Table 1), and torchvision's
/// published counts and GFLOPS, beside ours, for every model.
pub fn parameter_summary() -> String {
    let paper_params = |m: &str| match m {
        "resnet20" | "plain20" => "0.27M (Table 6)",
        "resnet32" | "plain32" => "0.46M",
        "resnet44" | "plain44" => "0.66M",
        "resnet56" | "plain56" => "0.85M",
        "resnet110" => "1.7M",
        "resnet1202" => "19.4M",
        _ => "–",
    };
    let torchvision = |m: &str| match m {
        "resnet18" => "11,689,512 / 1.814 G",
        "resnet34" => "21,797,672 / 3.664 G",
        "resnet50-v1.5" => "25,557,032 / 4.089 G",
        "resnet101-v1.5" => "44,549,160 / 7.801 G",
        "resnet152-v1.5" => "60,192,808 / 11.514 G",
        _ => "–",
    };
    let mut s = String::from(
        "Trainable parameters (BN's γ and β counted, its running statistics not) and multiply-adds per image \
         (convolutions and the FC layer; 32×32 inputs for CIFAR, 224×224 for ImageNet), computed from the models. \
         `harness layers MODEL` prints any model's layer table.\n\n\
         | model | what | params (ours) | params (paper) | mult-adds (ours) | mult-adds (Table 1) | torchvision params / GFLOPS |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for m in MODELS {
        let Ok(rows) = ResnetPaper.layer_table(m.name) else { continue };
        let params: usize = rows.iter().map(|r| r.params).sum();
        let macs: u64 = rows.iter().map(|r| r.macs).sum();
        let table1 = match Net::parse(m.name) {
            Some(Net::Imagenet { depth, residual: true, bottleneck_stride: BottleneckStride::First1x1, shortcut: ShortcutOption::B }) => {
                imagenet::architecture(depth).map(|a| format!("{} G", a.paper_gmacs)).unwrap_or_default()
            }
            _ => "–".into(),
        };
        let macs = if macs >= 1_000_000_000 { format!("{:.3} G", macs as f64 / 1e9) } else { format!("{:.1} M", macs as f64 / 1e6) };
        s.push_str(&format!("| `{}` | {} | {} | {} | {} | {} | {} |\n", m.name, m.summary, repro_common::report::group_digits(params), paper_params(m.name), macs, table1, torchvision(m.name)));
    }
    s
}

/// Total trainable parameters of a model.
pub fn param_count(model: &str) -> Result<usize, PaperError> {
    Ok(ResnetPaper.layer_table(model)?.iter().map(|r| r.params).sum())
}
