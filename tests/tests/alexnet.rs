//! AlexNet: layer tables and exact parameter counts (the paper's grouped net and torchvision's),
//! LRN as the paper writes it, forward parity with PyTorch and torchvision import coverage (the
//! short training run is in `alexnet_training.rs`).

use burn::tensor::{Device, Tensor, TensorData};
use repro_alexnet::{Alexnet, AlexnetPaper, AlexnetSpec, TORCHVISION_REMAP};
use repro_common::paper::{ImagePaper, Tap};
use repro_common::report::layer_table;

fn totals(model: &str) -> (usize, u64) {
    let rows = AlexnetPaper.layer_table(model).unwrap();
    (rows.iter().map(|r| r.params).sum(), rows.iter().map(|r| r.macs).sum())
}

#[test]
fn parameter_counts_equal_the_paper_and_torchvision() {
    // Grouped conv2/4/5 as the two GPUs: 60,965,224 ("60 million parameters", §1).
    assert_eq!(totals("alexnet").0, 60_965_224);
    let (params, macs) = totals("alexnet-torchvision");
    assert_eq!(params, 61_100_840);
    assert!((macs as f64 / 1e9 - 0.714).abs() < 0.0005, "torchvision publishes 0.714 GFLOPS: {macs}");
    for model in ["alexnet", "alexnet-torchvision"] {
        insta::assert_snapshot!(format!("alexnet_layer_table_{model}"), layer_table(&AlexnetPaper.layer_table(model).unwrap()));
    }
}

#[test]
fn lrn_is_the_papers_formula_with_alpha_not_divided_by_n() {
    // b = a / (k + α Σ_{|j-i| ≤ 2} a_j²)^β with k = 2, n = 5, α = 1e-4, β = 0.75 (§3.3).
    let device = Device::flex();
    let a: Vec<f32> = (0..7).map(|i| (i as f32 - 3.0) * 9.0).collect();
    let x = Tensor::<4>::from_data(TensorData::new(a.clone(), [1, 7, 1, 1]), &device);
    let b = repro_common::nn::paper_lrn(5, 1e-4, 0.75, 2.0).forward(x).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    for i in 0..7usize {
        let sum: f32 = (i.saturating_sub(2)..=(i + 2).min(6)).map(|j| a[j] * a[j]).sum();
        let expected = a[i] / (2.0 + 1e-4 * sum).powf(0.75);
        assert!((b[i] - expected).abs() < 1e-5 * (1.0 + expected.abs()), "channel {i}: {} vs {expected}", b[i]);
    }
}

fn golden(name: &str) -> std::path::PathBuf {
    repro_tests::repo_root().join("papers/alexnet/parity").join(name)
}

/// The input both sides compute: `((i · 7919) mod 1000) / 500 − 1`, exact in float32.
fn parity_input(n: usize, side: usize, device: &Device) -> Tensor<4> {
    let v: Vec<f32> = (0..n * 3 * side * side).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    Tensor::from_data(TensorData::new(v, [n, 3, side, side]), device)
}

/// A narrow AlexNet with every mechanism of the paper's (grouped convolutions, LRN, overlapping
/// pooling, 227×227 input), weights from the PyTorch reference in `parity/make_golden.py`.
#[test]
fn narrow_alexnet_matches_pytorch() {
    let device = Device::flex();
    let spec = AlexnetSpec { widths: [8, 16, 24, 24, 16], hidden: 32, classes: 10, ..AlexnetSpec::paper(10) };
    let model = repro_common::import::load_pytorch(Alexnet::new(spec, &device), &golden("alexnet-narrow.pth"), &[] as &[(&str, &str)]).expect("the reference weights load");
    let logits = model.logits(parity_input(2, 227, &device), &mut Tap::off()).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let reference = repro_tests::read_f32(&golden("alexnet-narrow-logits.f32"));
    let worst = logits.iter().zip(&reference).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0f32, f32::max);
    eprintln!("narrow AlexNet: largest relative difference {worst:e}");
    assert!(worst < 1e-4, "{worst:e}: {logits:?} vs {reference:?}");
}

/// torchvision's alexnet state dict (names and shapes from `parity/torchvision-keys.txt`) is
/// exactly the single-tower model's tensors after the Sequential-index remapping.
#[test]
fn torchvision_alexnet_tensors_map_one_to_one() {
    let keys = std::fs::read_to_string(golden("torchvision-keys.txt")).unwrap();
    let mut expected: Vec<String> = keys
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (k, shape) = l.split_once(' ').unwrap();
            let k = TORCHVISION_REMAP.iter().fold(k.to_string(), |k, (from, to)| {
                let from = from.trim_start_matches('^').replace("\\.", ".");
                if k.starts_with(&from) { k.replacen(&from, to, 1) } else { k }
            });
            format!("{k} {shape}")
        })
        .collect();
    expected.sort();
    assert_eq!(repro_tests::pytorch_tensors(&Alexnet::new(AlexnetSpec::torchvision(1000), &Device::flex())), expected);
}
