//! Whole nets' weight gradients from the project's convolution (`common/src/conv.rs`) and from
//! burn's, in f64 on the CPU: their convolutions see the strided layouts that pooling, batch norm
//! and shortcuts leave behind. In f64 because the two forward passes round differently: in f32 a
//! pre-activation a rounding error away from zero can land on the other side of a ReLU and move
//! a whole channel's weight gradient by ~1e-2 of its largest value (measured once on ResNet-20);
//! in f64 that needs a pre-activation within ~1e-15 of zero.

use std::sync::OnceLock;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, FloatDType, Int, Tensor};
use repro_common::conv::{self, Kernels};
use repro_common::engine::ImageClassifier;
use repro_common::paper::Tap;

fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let mut d = Device::flex();
            d.configure(FloatDType::F64).expect("flex computes in f64");
            d.seed(5);
            d.autodiff()
        })
        .clone()
}

/// Every weight's gradient of one loss on `net`, under the kernels `kernels`, by parameter path.
fn weight_gradients<M: Module>(net: &M, kernels: Kernels, loss: impl Fn(&M) -> Tensor<1>) -> Vec<(String, Vec<f64>)> {
    conv::use_kernels(kernels);
    let grads = GradientsParams::from_grads(loss(net).backward(), net);
    conv::use_kernels(Kernels::Project);
    repro_tests::named_gradients(net, &grads)
}

/// Whole nets' weight gradients, the project's kernels against burn's, agree to f64 rounding.
/// The only test in this binary, since it switches kernels process-wide.
#[test]
fn whole_nets_get_the_same_weight_gradients_from_either_kernels() {
    let d = device();
    // VGG-D narrowed (§2.1's 3×3 stacks, five max-pools down to 2×2 maps, Glorot's init).
    let vgg = repro_vgg::Vgg::new(repro_vgg::VggSpec { config: repro_vgg::Config::D, batch_norm: false, classes: 4, init: repro_vgg::Init::Glorot, width: 0.125 }, &d);
    let x = Tensor::<4>::random([4, 3, 64, 64], Distribution::Uniform(0.0, 255.0), &d);
    let features = |net: &repro_vgg::Vgg| {
        let f = net.features(x.clone(), &mut Tap::off());
        (f.clone() * f.clone().sin()).sum()
    };
    // ResNet-20 (§4.2: stride-2 stages, option-A shortcuts, batch norm in training mode).
    let resnet = repro_resnet::CifarResnet::new(3, true, 10, &d);
    let images = Tensor::<4>::random([8, 3, 32, 32], Distribution::Uniform(-1.0, 1.0), &d);
    let targets = Tensor::<1, Int>::from_ints([0, 1, 2, 3, 4, 5, 6, 7], &d);
    let step = |net: &repro_resnet::CifarResnet| net.training_step(images.clone(), targets.clone()).1;
    let pairs = [
        ("vgg-d", weight_gradients(&vgg, Kernels::Project, features), weight_gradients(&vgg, Kernels::Burn, features)),
        ("resnet20", weight_gradients(&resnet, Kernels::Project, step), weight_gradients(&resnet, Kernels::Burn, step)),
    ];
    for (net, ours, burns) in pairs {
        assert_eq!(ours.len(), burns.len(), "{net}: gradients for different parameters");
        assert!(ours.len() > 10, "{net}: only {} gradients", ours.len());
        for ((path, a), (_, b)) in ours.iter().zip(&burns) {
            let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
            let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f64, f64::max) / scale;
            assert!(diff < 1e-9, "{net} {path}: the project's gradient differs from burn's by {diff:e} of its largest value");
        }
    }
}
