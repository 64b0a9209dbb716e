//! 2-D convolution with the project's own weight gradient on the CPU.
//!
//! burn-flex 0.22.1 computes a convolution's weight gradient through burn's generic fallback: a
//! forward convolution with the batch as channels. That becomes one thin gemm (`C_out × kh·kw`
//! outputs over `N·H_out·W_out`) behind full single-threaded copies of the input and the output
//! gradient. Here it is im2col per sample into a buffer each worker reuses, then one gemm per
//! sample, `dW += dY_n · col_nᵀ`, accumulated by each worker and summed once.
//!
//! The forward pass, the input gradient and the bias gradient stay burn-flex's own. Tensors that
//! are not burn-flex tensors under autodiff, or convolutions with groups, go to burn's `conv2d`
//! unchanged: GPUs, evaluation without autodiff, and f16.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::{Autodiff, Flex};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

type Tracked = Autodiff<Flex>;

/// `conv2d(x, weight, bias)` with `options`, as `burn::tensor::module::conv2d`, with the weight
/// gradient computed here when `x` and `weight` are f32 (or f64) burn-flex tensors under autodiff.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, options: ConvOptions<2>) -> Tensor<4> {
    let real = |d: DType| d == DType::F32 || d == DType::F64;
    if options.groups != 1 || !real(x.dtype()) || x.dtype() != weight.dtype() {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    }
    let primitives = (x.clone().try_into_primitive::<Tracked>(), weight.clone().try_into_primitive::<Tracked>(), bias.clone().map(|b| b.try_into_primitive::<Tracked>()).transpose());
    let (Ok(x_ad), Ok(w_ad), Ok(b_ad)) = primitives else {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    };
    let forward = |x: FlexTensor, w: FlexTensor, b: Option<FlexTensor>| <Flex as ModuleOps<Flex>>::conv2d(x, w, b, options.clone());
    let out = match &b_ad {
        Some(b_ad) => match Conv2dBackward.prepare::<NoCheckpointing>([x_ad.node(), w_ad.node(), b_ad.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x_ad.primitive().clone(), w_ad.primitive().clone());
                let y = forward(xp.clone(), wp.clone(), Some(b_ad.primitive().clone()));
                prep.finish(Conv2dState { x: xp, weight: wp, bias: Some(b_ad.primitive().clone()), options: options.clone() }, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x_ad.primitive().clone(), w_ad.primitive().clone(), Some(b_ad.primitive().clone()))),
        },
        None => match Conv2dNoBiasBackward.prepare::<NoCheckpointing>([x_ad.node(), w_ad.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x_ad.primitive().clone(), w_ad.primitive().clone());
                let y = forward(xp.clone(), wp.clone(), None);
                prep.finish(Conv2dState { x: xp, weight: wp, bias: None, options: options.clone() }, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x_ad.primitive().clone(), w_ad.primitive().clone(), None)),
        },
    };
    Tensor::from_primitive::<Tracked>(out)
}

/// What the backward pass needs: the forward's inputs (shared, not copied) and options.
#[derive(Debug, Clone)]
struct Conv2dState {
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: ConvOptions<2>,
}

#[derive(Debug)]
struct Conv2dBackward;

#[derive(Debug)]
struct Conv2dNoBiasBackward;

impl Backward<Flex, 3> for Conv2dBackward {
    type State = Conv2dState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let s = ops.state;
        if let (Some(node), Some(bias)) = (node_b, s.bias.clone()) {
            grads.register::<Flex>(node.id, <Flex as ModuleOps<Flex>>::conv2d_bias_backward(s.x.clone(), bias, grad.clone()));
        }
        register_x_and_weight(node_x.map(|n| n.id), node_w.map(|n| n.id), s, grad, grads);
    }
}

impl Backward<Flex, 2> for Conv2dNoBiasBackward {
    type State = Conv2dState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        register_x_and_weight(node_x.map(|n| n.id), node_w.map(|n| n.id), ops.state, grad, grads);
    }
}

fn register_x_and_weight(node_x: Option<burn::backend::autodiff::NodeId>, node_w: Option<burn::backend::autodiff::NodeId>, s: Conv2dState, grad: FlexTensor, grads: &mut Gradients) {
    if let Some(id) = node_w {
        let dw = match s.x.dtype() {
            DType::F64 => weight_gradient::<f64>(&s.x, &s.weight, &grad, &s.options),
            _ => weight_gradient::<f32>(&s.x, &s.weight, &grad, &s.options),
        };
        grads.register::<Flex>(id, dw);
    }
    if let Some(id) = node_x {
        grads.register::<Flex>(id, <Flex as ModuleOps<Flex>>::conv2d_x_backward(s.x, s.weight, grad, s.options));
    }
}

/// The geometry of one convolution: input `[n, c_in, h, w]`, kernel `[c_out, c_in, kh, kw]`,
/// output `[n, c_out, ho, wo]`.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    ho: usize,
    wo: usize,
    stride: [usize; 2],
    /// Padding before the first row and column (after the last is implied by `ho`, `wo`).
    padding: [usize; 2],
    dilation: [usize; 2],
}

impl Geometry {
    /// Rows of a sample's im2col matrix (one per kernel weight of an output channel).
    fn col_rows(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Output pixels of one sample: the im2col matrix's columns.
    fn pixels(&self) -> usize {
        self.ho * self.wo
    }
}

/// The element types the weight gradient is computed in.
trait Real: burn::tensor::Element + bytemuck::Pod + Default + std::ops::AddAssign + Send + Sync + 'static {
    const ONE: Self;
}

impl Real for f32 {
    const ONE: Self = 1.0;
}

impl Real for f64 {
    const ONE: Self = 1.0;
}

/// Writes sample `x` (`[c_in, h, w]`) as its im2col matrix `[c_in·kh·kw, ho·wo]` into `col`,
/// every entry written (zeros where the kernel reads padding), so the buffer needs no clearing.
fn im2col<T: Real>(x: &[T], g: &Geometry, col: &mut [T]) {
    let pixels = g.pixels();
    for c in 0..g.c_in {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &mut col[((c * g.kh + i) * g.kw + j) * pixels..][..pixels];
                for oh in 0..g.ho {
                    let out = &mut row[oh * g.wo..(oh + 1) * g.wo];
                    let ih = (oh * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0] as isize;
                    if ih < 0 || ih as usize >= g.h {
                        out.fill(T::default());
                        continue;
                    }
                    let line = &plane[ih as usize * g.w..(ih as usize + 1) * g.w];
                    for (ow, o) in out.iter_mut().enumerate() {
                        let iw = (ow * g.stride[1] + j * g.dilation[1]) as isize - g.padding[1] as isize;
                        *o = if iw >= 0 && (iw as usize) < g.w { line[iw as usize] } else { T::default() };
                    }
                }
            }
        }
    }
}

/// `dst (m×k) = dst·read + a (m×p) · bᵀ` where `b` is `k×p`, all row-major (gemm picks the f32
/// or f64 kernel from `T`).
fn gemm_a_bt<T: Real>(dst: &mut [T], read: bool, a: &[T], b: &[T], m: usize, k: usize, p: usize) {
    debug_assert!(dst.len() >= m * k && a.len() >= m * p && b.len() >= k * p);
    // SAFETY: the three slices hold the m×k, m×p and k×p matrices the strides describe (checked
    // above in debug builds, and by construction in `weight_gradient`), and `dst` is not aliased.
    unsafe {
        gemm::gemm(m, k, p, dst.as_mut_ptr(), 1, k as isize, read, a.as_ptr(), 1, p as isize, b.as_ptr(), p as isize, 1, T::ONE, T::ONE, false, false, false, gemm::Parallelism::None);
    }
}

/// dW `[c_out, c_in, kh, kw]` = Σ_n dY_n · col_nᵀ, the samples split among the compute pool's
/// workers, each with its own im2col buffer and partial sum.
fn weight_gradient<T: Real>(x: &FlexTensor, weight: &FlexTensor, dy: &FlexTensor, options: &ConvOptions<2>) -> FlexTensor {
    let (xs, ws, ys) = (x.layout().shape().to_vec(), weight.layout().shape().to_vec(), dy.layout().shape().to_vec());
    let g = Geometry {
        n: xs[0],
        c_in: xs[1],
        h: xs[2],
        w: xs[3],
        c_out: ws[0],
        kh: ws[2],
        kw: ws[3],
        ho: ys[2],
        wo: ys[3],
        stride: options.stride,
        padding: [options.padding[0].0, options.padding[1].0],
        dilation: options.dilation,
    };
    let (x, dy) = (x.to_contiguous(), dy.to_contiguous());
    let (x, dy) = (x.as_slice::<T>().expect("contiguous"), dy.as_slice::<T>().expect("contiguous"));
    let (rows, pixels) = (g.col_rows(), g.pixels());
    let per_x = g.c_in * g.h * g.w;
    let per_dy = g.c_out * pixels;
    let workers = rayon::current_num_threads().clamp(1, g.n.max(1));
    let chunk = g.n.div_ceil(workers);
    let partials: Vec<Vec<T>> = (0..g.n)
        .collect::<Vec<_>>()
        .par_chunks(chunk)
        .map(|samples| {
            let mut col = vec![T::default(); rows * pixels];
            let mut dw = vec![T::default(); g.c_out * rows];
            for (k, &s) in samples.iter().enumerate() {
                im2col(&x[s * per_x..(s + 1) * per_x], &g, &mut col);
                gemm_a_bt(&mut dw, k > 0, &dy[s * per_dy..(s + 1) * per_dy], &col, g.c_out, rows, pixels);
            }
            dw
        })
        .collect();
    let mut total = vec![T::default(); g.c_out * rows];
    for p in &partials {
        for (t, v) in total.iter_mut().zip(p) {
            *t += *v;
        }
    }
    FlexTensor::from_data(TensorData::new(total, ws))
}

/// `conv.forward(input)` through [`conv2d`]: the module's weights, stride, dilation and padding
/// read as burn's `Conv2d::forward` reads them, so a net switches by calling this instead.
/// `Same` padding (computed from the input's size inside burn) goes to burn's own forward.
pub fn forward(conv: &burn::nn::conv::Conv2d, input: Tensor<4>) -> Tensor<4> {
    use burn::nn::PaddingConfig2d;
    let padding = match &conv.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(*top, *bottom), (*left, *right)],
        _ => return conv.forward(input),
    };
    let options = ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
    conv2d(input, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), options)
}
