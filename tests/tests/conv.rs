//! The project's convolution (`common/src/conv.rs`) against burn's own, in f32 on the CPU: the
//! same output and the same gradients (input, kernel, bias) on the shapes the papers' nets use,
//! and the same gradients for every weight of whole nets, whose convolutions see the strided
//! layouts that pooling, batch norm and shortcuts leave behind. Its finite-difference check is in
//! gradcheck.rs.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Int, Tensor};
use repro_common::conv::{self, Kernels};
use repro_common::engine::ImageClassifier;
use repro_common::paper::Tap;

fn device() -> Device {
    let d = Device::flex();
    d.seed(5);
    d.autodiff()
}

fn largest_relative_difference<const D: usize>(ours: &Tensor<D>, burns: &Tensor<D>) -> f32 {
    let a = ours.to_data().try_to_vec::<f32>().unwrap();
    let b = burns.to_data().try_to_vec::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    a.iter().zip(&b).map(|(x, y)| (x - y).abs() / scale).fold(0.0, f32::max)
}

/// One convolution's output and gradients, ours and burn's, agree to f32 rounding.
fn agree(name: &str, x: [usize; 4], w: [usize; 4], bias: bool, options: ConvOptions<2>) {
    let d = device();
    let xs = Tensor::<4>::random(x, Distribution::Uniform(-1.0, 1.0), &d);
    let ws = Tensor::<4>::random(w, Distribution::Uniform(-0.5, 0.5), &d);
    let bs = bias.then(|| Tensor::<1>::random([w[0]], Distribution::Uniform(-0.5, 0.5), &d));
    let y_dims = burn::tensor::module::conv2d(xs.clone(), ws.clone(), bs.clone(), options.clone()).dims();
    let readout = Tensor::<4>::random(y_dims, Distribution::Uniform(-1.0, 1.0), &d);
    let run = |project: bool| {
        let (x, w) = (xs.clone().detach().require_grad(), ws.clone().detach().require_grad());
        let b = bs.clone().map(|b| b.detach().require_grad());
        let y = if project {
            conv::conv2d_with(Kernels::Project, x.clone(), w.clone(), b.clone(), options.clone())
        } else {
            burn::tensor::module::conv2d(x.clone(), w.clone(), b.clone(), options.clone())
        };
        let grads = (y.clone() * readout.clone()).sum().backward();
        (y, x.grad(&grads).unwrap(), w.grad(&grads).unwrap(), b.map(|b| b.grad(&grads).unwrap()))
    };
    let (y1, dx1, dw1, db1) = run(true);
    let (y2, dx2, dw2, db2) = run(false);
    for (what, diff) in [("output", largest_relative_difference(&y1, &y2)), ("input gradient", largest_relative_difference(&dx1, &dx2)), ("kernel gradient", largest_relative_difference(&dw1, &dw2))] {
        assert!(diff < 1e-5, "{name}: {what} differs from burn's by {diff:e} of its largest value");
    }
    if let (Some(a), Some(b)) = (db1, db2) {
        let diff = largest_relative_difference(&a, &b);
        assert!(diff < 1e-5, "{name}: bias gradient differs from burn's by {diff:e}");
    }
}

#[test]
fn the_project_convolution_matches_burns_on_the_papers_shapes() {
    // ResNet-20 (§4.2): 3×3 stride 1 and 2 with padding 1, a batch of 8.
    agree("resnet20 3x3", [8, 16, 32, 32], [16, 16, 3, 3], false, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
    agree("resnet20 3x3 stride 2", [8, 16, 32, 32], [32, 16, 3, 3], false, ConvOptions::new([2, 2], [1, 1], [1, 1], 1));
    // LeNet-5's C1: 5×5 on a 32×32 grey image, with a bias.
    agree("lenet c1", [16, 1, 32, 32], [6, 1, 5, 5], true, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
    // ImageNet stems: 7×7 stride 2 padding 3, and AlexNet's 11×11 stride 4.
    agree("stem 7x7", [2, 3, 64, 64], [8, 3, 7, 7], true, ConvOptions::new([2, 2], [3, 3], [1, 1], 1));
    agree("alexnet 11x11", [2, 3, 67, 67], [8, 3, 11, 11], true, ConvOptions::new([4, 4], [2, 2], [1, 1], 1));
    // VGG's last stages: 3×3 with padding 1 on 2×2 and 1×1 maps, and a 3-channel first layer.
    agree("vgg 2x2 map", [4, 8, 2, 2], [16, 8, 3, 3], true, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
    agree("vgg 1x1 map", [4, 8, 1, 1], [16, 8, 3, 3], true, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
    agree("vgg first layer", [16, 3, 32, 32], [8, 3, 3, 3], true, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
    // Kernel columns that read only padding: GoogLeNet's 5×5 padding-2 branch on a 1×1 map (a
    // small input's last stage), a 7×7 padding 3 on a 2-wide map, and a dilated 3×3.
    agree("5x5 pad 2 on 1x1", [2, 4, 1, 1], [8, 4, 5, 5], true, ConvOptions::new([1, 1], [2, 2], [1, 1], 1));
    agree("7x7 pad 3 on 2x2", [2, 3, 2, 2], [4, 3, 7, 7], false, ConvOptions::new([1, 1], [3, 3], [1, 1], 1));
    agree("3x3 dilation 2 pad 2 on 1x1", [2, 4, 1, 1], [4, 4, 3, 3], false, ConvOptions::new([1, 1], [2, 2], [2, 2], 1));
    // A 1×1 projection shortcut with stride 2.
    agree("1x1 stride 2", [4, 16, 16, 16], [32, 16, 1, 1], false, ConvOptions::new([2, 2], [0, 0], [1, 1], 1));
}

/// Every weight's gradient of one loss on `net`, under the kernels `kernels`, by parameter path.
fn weight_gradients<M: Module>(net: &M, kernels: Kernels, loss: impl Fn(&M) -> Tensor<1>) -> Vec<(String, Vec<f32>)> {
    conv::use_kernels(kernels);
    let grads = GradientsParams::from_grads(loss(net).backward(), net);
    conv::use_kernels(Kernels::Project);
    struct Collect<'a> {
        grads: &'a GradientsParams,
        path: Vec<String>,
        out: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.out.push((self.path.join("."), g.to_data().convert::<f32>().try_to_vec::<f32>().unwrap()));
            }
        }
    }
    let mut collect = Collect { grads: &grads, path: Vec::new(), out: Vec::new() };
    net.visit(&mut collect);
    collect.out
}

/// Whole nets' weight gradients, the project's kernels against burn's, agree to f32 rounding.
/// The only test in this binary that switches kernels process-wide (the one above names its
/// kernels itself).
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
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max) / scale;
            assert!(diff < 1e-4, "{net} {path}: the project's gradient differs from burn's by {diff:e} of its largest value");
        }
    }
}
