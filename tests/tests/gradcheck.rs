//! Finite-difference checks of the gradients of every layer the project writes itself, in f64.
//! Each layer's autodiff gradient (w.r.t. its input and its parameters) is compared with central
//! differences of a random linear read-out of its output.

use std::sync::OnceLock;

use burn::module::{Param, ParamId};
use burn::tensor::{Device, Distribution, FloatDType, Int, Tensor, TensorData};
use repro_lenet::layers::{EuclideanRbf, SparseConv2d, TrainableSubsampling, map_loss, scaled_tanh};

fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let mut d = Device::flex();
            d.configure(FloatDType::F64).expect("flex computes in f64");
            d.seed(11);
            d.autodiff()
        })
        .clone()
}

fn values<const D: usize>(t: &Tensor<D>) -> Vec<f64> {
    t.to_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

fn tensor<const D: usize>(v: Vec<f64>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), &device())
}

/// Compares `∂f/∂θ` from autodiff with `(f(θ+ε) − f(θ−ε)) / 2ε` for every element of every
/// argument. `f` maps the arguments to a scalar.
fn check<const D: usize>(name: &str, args: Vec<Tensor<D>>, f: impl Fn(&[Tensor<D>]) -> Tensor<1>) {
    let shapes: Vec<[usize; D]> = args.iter().map(|a| a.dims()).collect();
    let leaves: Vec<Tensor<D>> = args.iter().map(|a| a.clone().detach().require_grad()).collect();
    let grads = f(&leaves).backward();
    let eps = 1e-6;
    for (k, leaf) in leaves.iter().enumerate() {
        let analytic = values(&leaf.grad(&grads).unwrap_or_else(|| panic!("{name}: argument {k} has no gradient")));
        let base = values(&args[k]);
        for i in 0..base.len() {
            let eval = |delta: f64| {
                let mut v = base.clone();
                v[i] += delta;
                let mut xs: Vec<Tensor<D>> = args.iter().map(|a| a.clone().detach()).collect();
                xs[k] = tensor(v, shapes[k]);
                values(&f(&xs))[0]
            };
            let numeric = (eval(eps) - eval(-eps)) / (2.0 * eps);
            let tol = 1e-6 * (1.0 + numeric.abs().max(analytic[i].abs()));
            assert!((numeric - analytic[i]).abs() < tol, "{name}: argument {k}, element {i}: autodiff {} vs finite difference {numeric}", analytic[i]);
        }
    }
}

fn random<const D: usize>(shape: [usize; D]) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), &device())
}

/// A fixed random read-out so every output element matters.
fn readout<const D: usize>(y: Tensor<D>, weights: &Tensor<D>) -> Tensor<1> {
    (y * weights.clone()).sum()
}

#[test]
fn scaled_tanh_gradient() {
    let w = random([2, 3, 4, 4]);
    check("scaled_tanh", vec![random([2, 3, 4, 4]).mul_scalar(2.0)], |a| readout(scaled_tanh(a[0].clone()), &w));
    // f(±1) = ±1 (Appendix A) and the value is A·tanh(S·a).
    let y = values(&scaled_tanh(tensor(vec![1.0, -1.0, 0.0], [3])));
    assert!((y[0] - 1.0).abs() < 1e-3 && (y[1] + 1.0).abs() < 1e-3 && y[2] == 0.0, "{y:?}");
}

#[test]
fn trainable_subsampling_gradient() {
    let w = random([2, 3, 2, 2]);
    check("trainable subsampling", vec![random([2, 3, 4, 4]), random([3, 1, 1, 1]), random([3, 1, 1, 1])], |a| {
        let layer = TrainableSubsampling { coefficient: Param::initialized(ParamId::new(), a[1].clone().reshape([3])), bias: Param::initialized(ParamId::new(), a[2].clone().reshape([3])), kernel: 2 };
        readout(layer.forward(a[0].clone()), &w)
    });
}

#[test]
fn sparse_convolution_gradient_and_zeros() {
    let table = vec![vec![0, 1], vec![2], vec![0, 1, 2]];
    let template = SparseConv2d::new(3, &table, 3, |fan_in| 2.4 / fan_in as f64, &device());
    assert_eq!(template.kernels.dims(), [6, 3, 3], "one kernel per connection");
    let w = random([2, 3, 3, 3]);
    check("sparse conv", vec![random([2, 3, 5, 5]), random([6, 3, 3, 1]), random([3, 1, 1, 1])], |a| {
        let mut layer = template.clone();
        layer.kernels = Param::initialized(ParamId::new(), a[1].clone().reshape([6, 3, 3]));
        layer.bias = Param::initialized(ParamId::new(), a[2].clone().reshape([3]));
        readout(layer.forward(a[0].clone()), &w)
    });
    // Unconnected (output, input) pairs have an all-zero kernel.
    let dense = values(&template.dense_kernel());
    for (o, ins) in table.iter().enumerate() {
        for i in 0..3 {
            let block = &dense[(o * 3 + i) * 9..(o * 3 + i + 1) * 9];
            assert_eq!(block.iter().all(|v| *v == 0.0), !ins.contains(&i), "output {o}, input {i}");
        }
    }
}

#[test]
fn rbf_output_gradient_and_values() {
    let centres: Vec<f32> = (0..4 * 5).map(|i| if (i * 7) % 3 == 0 { 1.0 } else { -1.0 }).collect();
    let rbf = EuclideanRbf::new(centres.clone(), 4, &device());
    let w = random([3, 4]);
    check("euclidean rbf", vec![random([3, 5])], |a| readout(rbf.forward(a[0].clone()), &w));
    // y_i = Σ_j (x_j − w_ij)², computed directly.
    let x = random([3, 5]);
    let (xs, ys) = (values(&x), values(&rbf.forward(x)));
    for b in 0..3 {
        for i in 0..4 {
            let direct: f64 = (0..5).map(|j| (xs[b * 5 + j] - centres[i * 5 + j] as f64).powi(2)).sum();
            assert!((direct - ys[b * 4 + i]).abs() < 1e-9);
        }
    }
}

#[test]
fn map_loss_gradient_and_value() {
    let targets: Tensor<1, Int> = Tensor::from_data(TensorData::new(vec![2i64, 0, 3], [3]), &device());
    check("MAP loss", vec![random([3, 4]).mul_scalar(3.0).abs()], |a| map_loss(a[0].clone(), targets.clone(), 1.5));
    // E = mean(y_correct + log(e^{-j} + Σ e^{-y_i})), computed directly.
    let y = vec![1.0, 2.0, 0.5, 3.0];
    let direct = y[2] + ((-1.5f64).exp() + y.iter().map(|v: &f64| (-v).exp()).sum::<f64>()).ln();
    let t1: Tensor<1, Int> = Tensor::from_data(TensorData::new(vec![2i64], [1]), &device());
    let got = values(&map_loss(tensor(y, [1, 4]), t1, 1.5))[0];
    assert!((got - direct).abs() < 1e-12, "{got} vs {direct}");
}

/// SDLM's second derivatives (Appendix C), from the squared twin, against the formulas written
/// out by hand for F6's weights and biases and C5's biases.
#[test]
fn sdlm_second_derivatives_follow_appendix_c() {
    use repro_lenet::layers::scaled_tanh_derivative_squared as d2;
    let model = repro_lenet::Lenet5::new(10.0, repro_lenet::InitRange::PAPER, &device());
    let n = 3;
    let x = random([n, 1, 32, 32]);
    let h = model.gauss_newton_diagonal(x.clone());
    // The real forward pass, layer by layer.
    let x2 = scaled_tanh(model.s2.forward(scaled_tanh(model.c1.forward(x))));
    let x4 = scaled_tanh(model.s4.forward(scaled_tanh(model.c3.forward(x2))));
    let a5 = model.c5.forward(x4).reshape([n, 120]);
    let x5 = scaled_tanh(a5.clone());
    let a6 = model.f6.forward(x5.clone());
    let scale = 2.0 / n as f64;
    // h(W6[i, j]) = mean over samples of 2 f'(a6_j)² x5_i²   (burn stores Linear weights as [in, out])
    let expected_w6 = x5.powi_scalar(2).transpose().matmul(d2(a6.clone())).mul_scalar(scale);
    let expected_b6 = d2(a6.clone()).sum_dim(0).reshape([84]).mul_scalar(scale);
    // h(b5_i) = mean of Σ_j W6[i, j]² · 2 f'(a6_j)² · f'(a5_i)²
    let w6_sq = model.f6.weight.val().powi_scalar(2);
    let expected_b5 = (d2(a6).matmul(w6_sq.transpose()) * d2(a5)).sum_dim(0).reshape([120]).mul_scalar(scale);
    let close = |name: &str, got: Vec<f64>, want: Vec<f64>| {
        assert_eq!(got.len(), want.len(), "{name}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "{name}[{i}]: twin {g} vs formula {w}");
        }
    };
    close("F6 weights", values(&h.get::<2>(model.f6.weight.id).unwrap()), values(&expected_w6));
    close("F6 biases", values(&h.get::<1>(model.f6.bias.as_ref().unwrap().id).unwrap()), values(&expected_b6));
    close("C5 biases", values(&h.get::<1>(model.c5.bias.as_ref().unwrap().id).unwrap()), values(&expected_b5));
    // Every trainable parameter gets a non-negative second derivative.
    let p = repro_lenet::sdlm::Preconditioner::new(&model, h, 0.02);
    assert!(p.max_factor <= 1.0 / 0.02 + 1e-9 && p.min_factor > 0.0, "{} .. {}", p.min_factor, p.max_factor);
}

/// ResNet's option-A shortcut (He et al. §3.3): stride-2 subsampling and zero channels. Its input
/// gradient is the read-out's weights at the kept pixels of the existing channels, zero elsewhere.
#[test]
fn option_a_shortcut_gradient() {
    use repro_resnet::blocks::zero_pad_shortcut;
    let w = random([2, 6, 3, 3]);
    check("option A shortcut", vec![random([2, 3, 6, 6])], |a| (zero_pad_shortcut(a[0].clone(), 2, 6) * w.clone()).sum());
    check("identity shortcut", vec![random([2, 3, 4, 4])], |a| (zero_pad_shortcut(a[0].clone(), 1, 3) * a[0].clone()).sum());
}

/// The project's convolution (`common/src/conv.rs`, its own weight gradient) against finite
/// differences, for the input, the kernel and the bias, with strides, padding (also uneven),
/// dilation and several samples (the weight gradient sums over samples split among workers).
#[test]
fn project_convolution_gradient() {
    use burn::tensor::ops::ConvOptions;
    let cases = [
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ConvOptions::new([2, 1], [1, 0], [1, 2], 1),
        ConvOptions::new_with_padding([2, 2], [(1, 0), (0, 1)], [1, 1], 1),
        // Output rows as wide as the input's with a dilated kernel (the one-run im2col path).
        ConvOptions::new([1, 1], [2, 2], [2, 2], 1),
    ];
    for (k, options) in cases.into_iter().enumerate() {
        let (x, w, b) = (random([3, 2, 6, 5]), random([4, 2, 3, 3]), random([1, 4, 1, 1]));
        let y_shape = repro_common::conv::conv2d(x.clone(), w.clone(), Some(b.clone().reshape([4])), options.clone()).dims();
        let out = random(y_shape);
        check(&format!("conv2d case {k}"), vec![x, w, b], |a| readout(repro_common::conv::conv2d(a[0].clone(), a[1].clone(), Some(a[2].clone().reshape([4])), options.clone()), &out));
    }
}

/// The project's batch norm (`common/src/norm.rs`, a custom autodiff op) against central
/// differences, for the input, γ and β, on an NCHW input and on a `[batch, features]` one.
#[test]
fn project_batch_norm_gradient() {
    let norm = |x: Tensor<4>, g: Tensor<4>, b: Tensor<4>| {
        let c = g.dims()[1];
        let shape = x.dims();
        let x3 = x.reshape([shape[0], shape[1], shape[2] * shape[3]]);
        repro_common::norm::batch_norm_train(x3, g.reshape([c]), b.reshape([c]), 1e-5).output.reshape(shape)
    };
    for (k, shape) in [[3, 2, 4, 3], [5, 3, 1, 1]].into_iter().enumerate() {
        let c = shape[1];
        let (x, g, b) = (random(shape), random([1, c, 1, 1]), random([1, c, 1, 1]));
        let out = random(shape);
        check(&format!("batch norm case {k}"), vec![x, g, b], |a| readout(norm(a[0].clone(), a[1].clone(), a[2].clone()), &out));
    }
}

/// The project's max pooling (`common/src/pool.rs`) against central differences: distinct
/// random values, so each window's maximum stays put within ±ε; overlapping windows with
/// padding and ceil mode, where an input can be the maximum of several windows.
#[test]
fn project_max_pool_gradient() {
    use repro_common::pool::{Window, max_pool2d};
    let window = Window { kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], ceil_mode: true };
    let x = random([2, 3, 6, 5]);
    let out = random(max_pool2d(x.clone(), window).dims());
    check("max pool", vec![x], |a| readout(max_pool2d(a[0].clone(), window), &out));
}

#[test]
fn lenets_own_step_gives_burns_loss_and_gradients() {
    // papers/lenet/src/fused.rs against burn's graph of the layers checked above, in f64 where
    // both are exact to rounding (tests/lenet_fused.rs compares them in f32).
    for batch in [1, 3] {
        let repro_tests::own_step::Gaps { loss, burn_loss, right, burn_right, gradients } = repro_tests::own_step::compare(&device(), batch);
        assert!((loss - burn_loss).abs() < 1e-12 * burn_loss.abs(), "batch {batch}: loss {loss} vs burn's {burn_loss}");
        assert_eq!(right, burn_right, "batch {batch}");
        for (name, gap) in gradients {
            // Measured: 2e-16 to 3e-15. Planted: the subsampling coefficients' gradients
            // scaled by 1.0001 gave 1.0e-4 at s2.coefficient.
            assert!(gap < 1e-12, "batch {batch}: {name} differs from burn's gradient by {gap:e} of its largest entry");
        }
    }
}
