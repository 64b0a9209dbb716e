//! VGG: Table 1's configurations and their parameter counts (Table 2 and torchvision), dense
//! evaluation (§3.2) against the ordinary forward pass, the protocols on JPEGs, and torchvision
//! import coverage.

use burn::tensor::{Device, Distribution, Tensor};
use repro_common::paper::{ImagePaper, Tap, trainable_params};
use repro_common::report::layer_table;
use repro_vgg::protocols::{Normalise, Protocol, grid_corners, probabilities};
use repro_vgg::{Config, Vgg, VggPaper, spec, torchvision_remap};

#[test]
fn parameter_counts_round_to_table2_and_equal_torchvision() {
    // Table 2: 133 (A, A-LRN), 133 (B), 134 (C), 138 (D), 144 (E) million. One forward pass per
    // configuration (the layer table); the BN variants are counted without one.
    for (model, exact, table2, gmacs) in [
        ("vgg-a", 132_863_336, 133, 7.609),
        ("vgg-a-lrn", 132_863_336, 133, 7.609),
        ("vgg-b", 133_047_848, 133, 11.308),
        ("vgg-c", 133_638_952, 134, 11.771),
        ("vgg-d", 138_357_544, 138, 15.470),
        ("vgg-e", 143_667_240, 144, 19.632),
    ] {
        let rows = VggPaper.layer_table(model).unwrap();
        let (params, macs): (usize, u64) = (rows.iter().map(|r| r.params).sum(), rows.iter().map(|r| r.macs).sum());
        assert_eq!(params, exact, "{model}");
        assert_eq!((params as f64 / 1e6).round() as usize, table2, "{model}");
        assert!((macs as f64 / 1e9 - gmacs).abs() < 0.0005, "{model}: {macs} vs {gmacs} G (torchvision's GFLOPS; C ours)");
        if ["vgg-a-lrn", "vgg-c", "vgg-e"].contains(&model) {
            insta::assert_snapshot!(format!("vgg_layer_table_{model}"), layer_table(&rows));
        }
    }
    for (model, exact) in [("vgg-a-bn", 132_868_840), ("vgg-b-bn", 133_053_736), ("vgg-d-bn", 138_365_992), ("vgg-e-bn", 143_678_248)] {
        assert_eq!(trainable_params(&Vgg::new(spec(model, 1000).unwrap(), &Device::flex())), exact, "{model}");
    }
    let layers: Vec<usize> = [Config::A, Config::ALrn, Config::B, Config::C, Config::D, Config::E].iter().map(|c| c.weight_layers()).collect();
    assert_eq!(layers, vec![11, 11, 13, 16, 16, 19], "Table 1's weight layers");
}

#[test]
fn dense_evaluation_on_a_224_image_is_the_ordinary_forward_pass() {
    // At 224×224 the class-score map is 1×1, so §3.2's fully convolutional net must give exactly
    // the FC net's softmax; on a larger image it gives a map, averaged.
    let device = Device::flex();
    let model = Vgg::new(spec("vgg-a", 10).unwrap(), &device);
    let model = burn::module::Module::valid(&model);
    let x = Tensor::<4>::random([1, 3, 224, 224], Distribution::Uniform(-1.0, 1.0), &device);
    let ordinary = burn::tensor::activation::softmax(model.logits(x.clone(), &mut Tap::off()), 1);
    let dense = model.dense_probabilities(x.clone(), false);
    let diff = (ordinary - dense).abs().max().into_scalar::<f32>();
    assert!(diff < 1e-5, "{diff}");
    let wide = model.dense_probabilities(Tensor::random([1, 3, 256, 320], Distribution::Uniform(-1.0, 1.0), &device), true);
    let total = wide.sum().into_scalar::<f32>();
    assert!((total - 1.0).abs() < 1e-4, "probabilities sum to one: {total}");
}

#[test]
#[rustfmt::skip] // the 5×5 grid, row by row
fn protocols_on_a_jpeg() {
    assert_eq!(grid_corners(300, 256, 224), vec![
        (0, 0), (19, 0), (38, 0), (57, 0), (76, 0),
        (0, 8), (19, 8), (38, 8), (57, 8), (76, 8),
        (0, 16), (19, 16), (38, 16), (57, 16), (76, 16),
        (0, 24), (19, 24), (38, 24), (57, 24), (76, 24),
        (0, 32), (19, 32), (38, 32), (57, 32), (76, 32),
    ]);
    let device = Device::flex();
    let model = burn::module::Module::valid(&Vgg::new(spec("vgg-a", 3).unwrap(), &device));
    let norm = Normalise { mean: [0.5; 3], std: [0.25; 3] };
    let img = image::RgbImage::from_fn(300, 224, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    // Two scales average: the result is still a distribution.
    let p = probabilities(&model, &img, &Protocol::Dense { scales: vec![224, 240] }, norm, &device);
    assert!((p.sum().into_scalar::<f32>() - 1.0).abs() < 1e-4);
}

/// Each configuration's tensors, named the PyTorch way after the index remapping, are exactly
/// torchvision's state dict (`parity/torchvision-keys.txt`, names and shapes only).
#[test]
fn torchvision_vgg_tensors_map_one_to_one() {
    let keys = std::fs::read_to_string(repro_tests::repo_root().join("papers/vgg/parity/torchvision-keys.txt")).unwrap();
    for (tv, ours) in [("vgg11", "vgg-a"), ("vgg13", "vgg-b"), ("vgg16", "vgg-d"), ("vgg19", "vgg-e"), ("vgg11_bn", "vgg-a-bn"), ("vgg16_bn", "vgg-d-bn")] {
        let s = spec(ours, 1000).unwrap();
        let remap = torchvision_remap(&s);
        let regexes: Vec<(String, String)> = remap.iter().map(|(f, t)| (f.trim_start_matches('^').replace("\\.", "."), t.clone())).collect();
        let mut expected: Vec<String> = keys
            .lines()
            .filter_map(|l| l.strip_prefix(tv)?.strip_prefix(' '))
            .filter(|l| !l.contains("num_batches_tracked"))
            .map(|l| {
                let (k, shape) = l.split_once(' ').unwrap();
                let k = regexes.iter().find(|(f, _)| k.starts_with(f.as_str())).map(|(f, t)| k.replacen(f.as_str(), t, 1)).unwrap_or_else(|| k.to_string());
                format!("{k} {shape}")
            })
            .collect();
        expected.sort();
        assert_eq!(repro_tests::pytorch_tensors(&Vgg::new(s, &Device::flex())), expected, "{ours} vs torchvision {tv}");
    }
}
