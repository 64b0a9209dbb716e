//! Forward-pass parity with the PyTorch reference: weights exported by
//! `papers/resnet/parity/make_golden.py` (random weights, non-trivial BN statistics) give the
//! same outputs on fixed inputs. Tolerance: |ours − PyTorch| / (1 + |PyTorch|) < 1e-4, float32
//! through 20 layers (observed: 1e-7 to 3e-7 on flex).

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use repro_resnet::blocks::{Block, BlockSpec};
use repro_resnet::{BottleneckStride, CifarResnet, ShortcutOption, torchvision};

fn golden(name: &str) -> PathBuf {
    repro_tests::repo_root().join("papers/resnet/parity").join(name)
}

fn floats(name: &str) -> Vec<f32> {
    repro_tests::read_f32(&golden(name))
}

fn assert_close(ours: Vec<f32>, reference: Vec<f32>, what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}");
    let worst = ours.iter().zip(&reference).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0f32, f32::max);
    eprintln!("{what}: largest relative difference {worst:e}");
    assert!(worst < 1e-4, "{what}: largest difference {worst:e} (ours {:?}… vs PyTorch {:?}…)", &ours[..4], &reference[..4]);
}

fn tensor(name: &str, shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(floats(name), shape), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn resnet20(device: &Device) -> CifarResnet {
    torchvision::load(CifarResnet::new(3, true, 10, device), Path::new(&golden("resnet20.safetensors"))).expect("PyTorch ResNet-20 weights load")
}

#[test]
fn resnet20_logits_match_pytorch_in_inference_mode() {
    let device = Device::flex();
    let model = resnet20(&device);
    let logits = model.logits(tensor("resnet20-input.f32", [2, 3, 32, 32], &device), &mut repro_common::paper::Tap::off());
    assert_close(values(logits), floats("resnet20-logits-eval.f32"), "ResNet-20, BN running statistics");
}

#[test]
fn resnet20_logits_match_pytorch_in_training_mode() {
    // Batch statistics: BN normalises with the batch's own mean and variance.
    let device = Device::flex().autodiff();
    let model = resnet20(&device);
    let logits = model.logits(tensor("resnet20-input.f32", [2, 3, 32, 32], &device), &mut repro_common::paper::Tap::off());
    assert_close(values(logits), floats("resnet20-logits-train.f32"), "ResNet-20, BN batch statistics");
}

#[test]
fn torchvision_bottleneck_block_matches_through_the_pth_import() {
    let device = Device::flex();
    let spec = BlockSpec { inputs: 32, width: 8, stride: 2, bottleneck: true, residual: true, shortcut: ShortcutOption::B, bottleneck_stride: BottleneckStride::Middle3x3 };
    let block = torchvision::load(Block::new(spec, &device), &golden("bottleneck.pth")).expect("torchvision Bottleneck loads from .pth");
    let out = block.forward(tensor("bottleneck-input.f32", [2, 32, 14, 14], &device), &mut 0);
    assert_eq!(out.dims(), [2, 32, 7, 7]);
    assert_close(values(out), floats("bottleneck-output-eval.f32"), "torchvision Bottleneck (V1.5), eval");
    // With the stride on the first 1×1 instead (the paper's models), the same weights give other
    // numbers: the parity really tests where the stride is.
    let v1 = BlockSpec { bottleneck_stride: BottleneckStride::First1x1, ..spec };
    let other = torchvision::load(Block::new(v1, &device), &golden("bottleneck.pth")).unwrap();
    let out = values(other.forward(tensor("bottleneck-input.f32", [2, 32, 14, 14], &device), &mut 0));
    let diff = out.iter().zip(floats("bottleneck-output-eval.f32")).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(diff > 1e-2, "V1 and V1.5 should differ: {diff}");
}

#[test]
fn a_truncated_weights_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("resnet20.safetensors");
    std::fs::write(&bad, &std::fs::read(golden("resnet20.safetensors")).unwrap()[..1000]).unwrap();
    let err = torchvision::load(CifarResnet::new(3, true, 10, &Device::flex()), &bad).unwrap_err().to_string();
    assert!(err.contains("resnet20.safetensors"), "{err}");
    // Weights of another architecture: missing tensors are named.
    let err = torchvision::load(CifarResnet::new(5, true, 10, &Device::flex()), &golden("resnet20.safetensors")).unwrap_err().to_string();
    assert!(err.contains("layer1.3"), "{err}");
}

/// A full torchvision import must find every tensor: the models' tensor names and shapes, written
/// the PyTorch way, equal torchvision's state dicts (`parity/torchvision-keys.txt`, names and
/// shapes only) apart from BN's `num_batches_tracked` counters, which burn does not keep.
#[test]
fn imagenet_models_have_exactly_torchvision_tensors() {
    use repro_resnet::{ImagenetResnet, Net};
    let keys = std::fs::read_to_string(golden("torchvision-keys.txt")).unwrap();
    for (tv, ours) in [("resnet18", "resnet18"), ("resnet34", "resnet34"), ("resnet50", "resnet50-v1.5"), ("resnet101", "resnet101-v1.5"), ("resnet152", "resnet152-v1.5")] {
        let mut expected: Vec<String> = keys.lines().filter_map(|l| l.strip_prefix(tv)?.strip_prefix(' ')).filter(|l| !l.contains("num_batches_tracked")).map(str::to_owned).collect();
        let model = ImagenetResnet::new(Net::parse(ours).unwrap().imagenet_spec(1000).unwrap(), &Device::flex());
        let mut found: Vec<String> = repro_tests::pytorch_tensors(&model).into_iter().map(|t| t.replace("downsample.conv.", "downsample.0.").replace("downsample.bn.", "downsample.1.")).collect();
        expected.sort();
        found.sort();
        assert_eq!(found, expected, "{ours} vs torchvision {tv}");
    }
}
