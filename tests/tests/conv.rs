//! The project's convolution (`common/src/conv.rs`), max pooling (`pool.rs`) and batch norm
//! (`norm.rs`) against burn's own, in f32 on the CPU: the same outputs and the same gradients on
//! the shapes the papers' nets use; and a guard that every paper's convolutions and max pools go
//! through the project's.
//! Whole nets are compared in conv_nets.rs (in f64), the finite-difference checks are in
//! gradcheck.rs.

use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Distribution, Tensor};
use repro_common::conv::{self, Kernels};
use repro_common::pool::{self, Window};

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
    // Without autodiff (evaluation) the project's forward pass runs too.
    let (xi, wi, bi) = (xs.clone().inner(), ws.clone().inner(), bs.clone().map(|b| b.inner()));
    let plain = conv::conv2d_with(Kernels::Project, xi.clone(), wi.clone(), bi.clone(), options.clone());
    let diff = largest_relative_difference(&plain, &burn::tensor::module::conv2d(xi, wi, bi, options.clone()));
    assert!(diff < 1e-5, "{name}: output without autodiff differs from burn's by {diff:e} of its largest value");
    for (what, diff) in [("output", largest_relative_difference(&y1, &y2)), ("input gradient", largest_relative_difference(&dx1, &dx2)), ("kernel gradient", largest_relative_difference(&dw1, &dw2))] {
        assert!(diff < 1e-5, "{name}: {what} differs from burn's by {diff:e} of its largest value");
    }
    if let (Some(a), Some(b)) = (db1, db2) {
        let diff = largest_relative_difference(&a, &b);
        assert!(diff < 1e-5, "{name}: bias gradient differs from burn's by {diff:e}");
    }
}

/// Batch norm's training pass, ours and burn's: output, batch mean and variance, and the
/// gradients of the input, γ and β.
fn norm_agrees(name: &str, x: [usize; 4]) {
    let d = device();
    let c = x[1];
    let xs = Tensor::<4>::random(x, Distribution::Uniform(-2.0, 3.0), &d);
    let (gs, bs) = (Tensor::<1>::random([c], Distribution::Uniform(0.5, 1.5), &d), Tensor::<1>::random([c], Distribution::Uniform(-0.5, 0.5), &d));
    let readout = Tensor::<4>::random(x, Distribution::Uniform(-1.0, 1.0), &d);
    let run = |project: bool| {
        let (x, g, b) = (xs.clone().detach().require_grad(), gs.clone().detach().require_grad(), bs.clone().detach().require_grad());
        let out = if project { repro_common::norm::batch_norm_train(x.clone(), g.clone(), b.clone(), 1e-5) } else { burn::tensor::module::batch_norm_train(x.clone(), g.clone(), b.clone(), 1e-5) };
        let grads = (out.output.clone() * readout.clone()).sum().backward();
        (out.output, out.mean, out.variance, x.grad(&grads).unwrap(), g.grad(&grads).unwrap(), b.grad(&grads).unwrap())
    };
    let (y1, m1, v1, dx1, dg1, db1) = run(true);
    let (y2, m2, v2, dx2, dg2, db2) = run(false);
    let vectors = [("mean", &m1, &m2), ("variance", &v1, &v2), ("gamma gradient", &dg1, &dg2), ("beta gradient", &db1, &db2)];
    for (what, diff) in [("output", largest_relative_difference(&y1, &y2)), ("input gradient", largest_relative_difference(&dx1, &dx2))]
        .into_iter()
        .chain(vectors.map(|(what, a, b)| (what, largest_relative_difference(a, b))))
    {
        // Measured: below 3e-7 (f32 sums in another order). Planted: the input gradient's x̂ term
        // 0.1% too large gave 1.6e-5 at "resnet20 stage 1".
        assert!(diff < 1e-5, "{name}: batch norm's {what} differs from burn's by {diff:e} of its largest value");
    }
}

/// Max pooling, ours and burn's: output and input gradient, on inputs with ties (ReLU's zeros,
/// where the first maximum must win in both) and a NaN.
fn pool_agrees(name: &str, x: [usize; 4], window: Window) {
    let d = device();
    let xs = burn::tensor::activation::relu(Tensor::<4>::random(x, Distribution::Uniform(-1.0, 1.0), &d));
    let options = MaxPoolOptions::new(window.kernel).with_stride(window.stride).with_padding(window.padding).with_ceil_mode(window.ceil_mode);
    let y_dims = burn::tensor::module::max_pool2d(xs.clone(), options.clone()).dims();
    let readout = Tensor::<4>::random(y_dims, Distribution::Uniform(-1.0, 1.0), &d);
    let run = |project: bool| {
        let x = xs.clone().detach().require_grad();
        let y = if project { pool::max_pool2d(x.clone(), window) } else { burn::tensor::module::max_pool2d(x.clone(), options.clone()) };
        let grads = (y.clone() * readout.clone()).sum().backward();
        (y, x.grad(&grads).unwrap())
    };
    let ((y1, dx1), (y2, dx2)) = (run(true), run(false));
    assert_eq!(y1.dims(), y2.dims(), "{name}: output size");
    // Exact: both take the same input value for each output and add the same gradients.
    // Planted: the last maximum winning a tie instead of the first gave 1,150 differing input
    // gradients in "2x2 stride 2".
    for (what, a, b) in [("output", &y1, &y2), ("input gradient", &dx1, &dx2)] {
        let (a, b) = (a.to_data().try_to_vec::<f32>().unwrap(), b.to_data().try_to_vec::<f32>().unwrap());
        let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        assert!(differ.is_empty(), "{name}: {what} differs from burn's at {} of {} positions, first at {:?}", differ.len(), a.len(), differ.first().map(|&i| (i, a[i], b[i])));
    }
    // A NaN wins its windows in both.
    let mut values = xs.to_data().try_to_vec::<f32>().unwrap();
    values[0] = f32::NAN;
    let with_nan = Tensor::<4>::from_data(burn::tensor::TensorData::new(values, x), &d);
    let ours = pool::max_pool2d(with_nan.clone(), window).to_data().try_to_vec::<f32>().unwrap();
    let burns = burn::tensor::module::max_pool2d(with_nan, options).to_data().try_to_vec::<f32>().unwrap();
    assert!(ours[0].is_nan() && burns[0].is_nan(), "{name}: a NaN is the maximum of its window");
}

#[test]
fn the_project_max_pool_matches_burns() {
    let window = |k: usize, s: usize, p: usize, ceil_mode: bool| Window { kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [1, 1], ceil_mode };
    // lenet5-modern's and VGG's 2×2/2, AlexNet's overlapping 3×3/2, ResNet's 3×3/2 padding 1,
    // GoogLeNet's 3×3/2 in ceil mode (on an odd and an even map) and its 3×3/1 padding 1.
    pool_agrees("2x2 stride 2", [8, 6, 28, 28], window(2, 2, 0, false));
    pool_agrees("3x3 stride 2", [2, 4, 13, 13], window(3, 2, 0, false));
    pool_agrees("3x3 stride 2 pad 1", [2, 4, 14, 14], window(3, 2, 1, false));
    pool_agrees("3x3 stride 2 ceil, odd", [2, 4, 15, 15], window(3, 2, 0, true));
    pool_agrees("3x3 stride 2 ceil, even", [2, 4, 14, 14], window(3, 2, 0, true));
    pool_agrees("3x3 stride 1 pad 1", [2, 4, 7, 7], window(3, 1, 1, false));
}

#[test]
fn the_project_batch_norm_matches_burns() {
    // ResNet-20's first stage (a batch of 8), ImageNet's last stage, a fully connected layer's.
    norm_agrees("resnet20 stage 1", [8, 16, 32, 32]);
    norm_agrees("resnet50 stage 4", [2, 2048, 7, 7]);
    norm_agrees("features", [16, 84, 1, 1]);
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

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names `text` declares with type `ty` (`name: Conv2d`, `name: &Conv2d`,
/// `name: Option<Conv2d>`, `name: Vec<Conv2d>`): struct fields, arguments, closure parameters.
/// A longer type name that ends or starts with `ty` (`SparseConv2d`, `Conv2dConfig`) is not it.
fn declared_names(text: &str, ty: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices(ty) {
        let after = text[at + ty.len()..].chars().next();
        if after.is_some_and(|c| c.is_alphanumeric() || c == '_') || text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let before = text[..at].trim_end_matches("burn::nn::conv::").trim_end_matches("burn::nn::pool::");
        let before = ["&", "Option<", "Vec<"].iter().fold(before.trim_end(), |b, p| b.strip_suffix(p).unwrap_or(b).trim_end());
        let Some(before) = before.strip_suffix(':') else { continue };
        let name: String = before.trim_end().chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<Vec<_>>().into_iter().rev().collect();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// A paper's convolution that calls burn's `Conv2d::forward` (or `burn::tensor::module::conv2d`)
/// instead of `repro_common::conv`, or a max pool that calls `MaxPool2d::forward` instead of
/// `repro_common::pool`, silently trains with burn-flex's slow kernels and drops out of
/// `harness bench --kernels`. This reads every paper's sources for such calls on a name declared
/// as a `Conv2d` or a `MaxPool2d`; a call through an untyped closure parameter is beyond it.
#[test]
fn every_paper_convolution_and_max_pool_goes_through_common() {
    let papers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers");
    let mut files = Vec::new();
    rust_files(&papers, &mut files);
    let mut problems = Vec::new();
    for file in files.iter().filter(|f| f.components().any(|c| c.as_os_str() == "src")) {
        let text = std::fs::read_to_string(file).unwrap();
        let names: Vec<String> = ["Conv2d", "MaxPool2d"].iter().flat_map(|ty| declared_names(&text, ty)).collect();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let direct = names.iter().any(|name| code.match_indices(&format!("{name}.forward(")).any(|(at, _)| !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')));
            let burns = ["tensor::module::conv2d", "module::{conv2d", "tensor::module::max_pool2d", "module::{max_pool2d"].iter().any(|f| code.contains(f));
            if direct || burns {
                problems.push(format!("  {}:{}: {}", file.strip_prefix(&papers).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    assert!(files.len() > 20, "read only {} files under {}", files.len(), papers.display());
    assert!(problems.is_empty(), "convolutions or max pools that bypass repro_common (call conv::forward(&conv, x), conv::conv2d or pool::forward(&pool, x)):\n{}", problems.join("\n"));
}

#[test]
fn the_guard_finds_conv2d_and_max_pool_names() {
    let text = "pub struct B { pub conv1: Conv2d, pub conv3: Option<Conv2d>, pub convs: Vec<burn::nn::conv::Conv2d>, c3: SparseConv2d, cfg: Conv2dConfig, pool: MaxPool2d, avg: AvgPool2d, p2: burn::nn::pool::MaxPool2d }\nlet run = |c: &Conv2d, x| c;";
    assert_eq!(declared_names(text, "Conv2d"), ["conv1", "conv3", "convs", "c"]);
    assert_eq!(declared_names(text, "MaxPool2d"), ["pool", "p2"]);
}
