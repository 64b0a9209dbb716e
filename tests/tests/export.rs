//! `harness export`'s mechanics: a trained model written as PyTorch-layout safetensors under
//! PyTorch's names, which PyTorch's own loaders (and ours) read back to the same numbers.

use burn::tensor::Device;
use repro_common::engine;
use repro_common::import::{export_pytorch, load_pytorch};
use repro_common::net::NetRequest;
use repro_common::paper::{ImagePaper, named_weights};
use repro_lenet::{Lenet5Modern, LenetPaper};
use repro_resnet::{ImagenetResnet, Net};
use repro_tests::{recipe, repo_root, sample, train};

/// The names and shapes in a safetensors file's header, as `name AxB` lines, sorted.
fn file_tensors(path: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = file.tensors().into_iter().map(|(name, view)| format!("{name} {}", view.shape().iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x"))).collect();
    names.sort();
    names
}

/// torchvision's ResNet-18 state dict has exactly the exported names and shapes (BN's
/// `num_batches_tracked` aside, which PyTorch fills in on load), and the file loads back through
/// the import's name rules to the same weights.
#[test]
fn an_exported_resnet18_has_torchvisions_names_and_loads_back_unchanged() {
    let device = Device::flex();
    let model = ImagenetResnet::new(Net::parse("resnet18").unwrap().imagenet_spec(1000).unwrap(), &device);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("resnet18.safetensors");
    export_pytorch(&model, &out, &repro_resnet::torchvision::REMAP, &[("model", "resnet18".into())]).unwrap();
    let keys = std::fs::read_to_string(repo_root().join("papers/resnet/parity/torchvision-keys.txt")).unwrap();
    let mut expected: Vec<String> = keys.lines().filter_map(|l| l.strip_prefix("resnet18 ")).filter(|l| !l.contains("num_batches_tracked")).map(str::to_owned).collect();
    expected.sort();
    assert_eq!(file_tensors(&out), expected);
    assert!(!dir.path().join("resnet18.safetensors.part").exists(), "the partial file is renamed into place");

    let back = repro_resnet::torchvision::load(ImagenetResnet::new(Net::parse("resnet18").unwrap().imagenet_spec(1000).unwrap(), &device), &out).unwrap();
    assert_eq!(named_weights(&back), named_weights(&model));
}

/// A trained run exported through its paper's registered model evaluates, loaded from the
/// safetensors file, to exactly what its checkpoint gives.
#[test]
fn an_exported_run_evaluates_as_its_checkpoint() {
    let config = recipe(&LenetPaper, "lenet5-modern", &["data.dataset=mnist-sample", "epochs=1", "data.train_limit=500", "data.eval_limit=300"]);
    let dataset = sample();
    let dir = tempfile::tempdir().unwrap();
    train(&LenetPaper, &config, 1, &dataset, dir.path(), false, None);
    let checkpoint = engine::checkpoint_weights(dir.path()).unwrap().expect("a checkpoint");
    let out = dir.path().join("model.safetensors");
    LenetPaper.net(&NetRequest::of(&config, 10)).unwrap().export(&checkpoint, &out, &[]).unwrap();

    let (_, eval) = dataset.sources(&config.data).unwrap();
    let device = Device::flex();
    let from_checkpoint = engine::evaluate(&engine::load_weights(Lenet5Modern::new(&device), &checkpoint).unwrap(), eval.as_ref(), &device).unwrap();
    let none: [(&str, &str); 0] = [];
    let from_export = engine::evaluate(&load_pytorch(Lenet5Modern::new(&device), &out, &none).unwrap(), eval.as_ref(), &device).unwrap();
    assert_eq!((from_export.loss, from_export.error_pct), (from_checkpoint.loss, from_checkpoint.error_pct));
    assert!(file_tensors(&out).iter().any(|t| t.starts_with("f6.weight 84x120")), "Linear weights in PyTorch's [out, in] layout: {:?}", file_tensors(&out));
}
