//! 2-D max pooling on the CPU as one custom autodiff op each way.
//!
//! burn-flex 0.22.1 pools through a 3-D implementation that works out each window's bounds
//! with divisions per output and scatters the gradient element by element: in the step of a
//! small ReLU/max-pool net on 32×32 images (batch 128) its forward and backward were a fifth of
//! the time. Here each output row's and column's window bounds are computed once per call, the
//! planes (`[n, c]`) are split among the compute pool's workers, and the backward adds each
//! output's gradient at the input position the forward recorded. Same results as burn's and
//! PyTorch's: the first maximum of a window wins, a NaN wins over any number, padding never
//! does, and the output size follows PyTorch's rule (also in ceil mode). Other devices and
//! dtypes, asymmetric padding and burn's kernels ([`crate::kernels`]) go to burn's.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::nn::pool::MaxPool2d;
use burn::tensor::module::max_pool2d as burns_max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use crate::kernels::{self, Kernels, Real};

type Tracked = Autodiff<Flex>;

/// `pool.forward(input)`, through [`max_pool2d`]: the module's kernel, stride, padding,
/// dilation and ceil mode read as burn's `MaxPool2d::forward` reads them.
pub fn forward(pool: &MaxPool2d, input: Tensor<4>) -> Tensor<4> {
    use burn::nn::PaddingConfig2d;
    let padding = match pool.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => [top, left],
        // `Same` (computed from the input's size inside burn) and uneven padding: burn's own.
        _ => return pool.forward(input),
    };
    max_pool2d(input, Window { kernel: pool.kernel_size, stride: pool.stride, padding, dilation: pool.dilation, ceil_mode: pool.ceil_mode })
}

/// A pooling window: its size, stride, symmetric padding and dilation per axis, and whether
/// the output size rounds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub ceil_mode: bool,
}

impl Window {
    /// Outputs along an axis of `input` values, by PyTorch's rule: in ceil mode a last window
    /// that would start in the trailing padding (or past the input) is dropped.
    fn outputs(&self, axis: usize, input: usize) -> usize {
        let reach = self.dilation[axis] * (self.kernel[axis] - 1) + 1;
        let padded = input + 2 * self.padding[axis];
        if padded < reach {
            return usize::from(self.ceil_mode);
        }
        let span = padded - reach;
        let stride = self.stride[axis];
        if !self.ceil_mode {
            return span / stride + 1;
        }
        let out = span.div_ceil(stride) + 1;
        if (out - 1) * stride >= input + self.padding[axis] { out - 1 } else { out }
    }

    /// For each output along an axis, the input positions its window reads inside the input.
    fn taps(&self, axis: usize, input: usize, outputs: usize) -> Vec<Vec<usize>> {
        (0..outputs)
            .map(|o| {
                (0..self.kernel[axis])
                    .filter_map(|k| {
                        let at = (o * self.stride[axis] + k * self.dilation[axis]) as isize - self.padding[axis] as isize;
                        (at >= 0 && (at as usize) < input).then_some(at as usize)
                    })
                    .collect()
            })
            .collect()
    }
}

/// 2-D max pooling of `x` (`[n, c, h, w]`), as `burn::tensor::module::max_pool2d`.
pub fn max_pool2d(x: Tensor<4>, window: Window) -> Tensor<4> {
    let real = matches!(x.dtype(), DType::F32 | DType::F64);
    let burns = |x: Tensor<4>| {
        let options = MaxPoolOptions::new(window.kernel).with_stride(window.stride).with_padding(window.padding).with_dilation(window.dilation).with_ceil_mode(window.ceil_mode);
        burns_max_pool2d(x, options)
    };
    // Positions within a plane are kept as u32.
    let [_, _, h, w] = x.dims();
    if !real || kernels::kernels() == Kernels::Burn || h * w >= u32::MAX as usize {
        return burns(x);
    }
    let Ok(x_ad) = x.clone().try_into_primitive::<Tracked>() else {
        return burns(x);
    };
    let xp = x_ad.primitive().to_contiguous();
    let (y, argmax) = match xp.dtype() {
        DType::F64 => pool_forward::<f64>(&xp, &window),
        _ => pool_forward::<f32>(&xp, &window),
    };
    let out = match MaxPoolBackward.prepare::<NoCheckpointing>([x_ad.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(State { input_shape: xp.layout().shape().to_vec(), dtype: xp.dtype(), argmax }, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::from_primitive::<Tracked>(out)
}

/// What the backward pass needs: the input's shape and dtype, and for each output the position
/// within its plane of the input value it took.
#[derive(Debug, Clone)]
struct State {
    input_shape: Vec<usize>,
    dtype: DType,
    argmax: Vec<u32>,
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    type State = State;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let Some(node) = node else { return };
        let dx = match ops.state.dtype {
            DType::F64 => pool_backward::<f64>(&ops.state, &dy),
            _ => pool_backward::<f32>(&ops.state, &dy),
        };
        grads.register::<Flex>(node.id, dx);
    }
}

fn pool_forward<T: Real>(x: &FlexTensor, window: &Window) -> (FlexTensor, Vec<u32>) {
    let shape = x.layout().shape().to_vec();
    let (h, w) = (shape[2], shape[3]);
    let (ho, wo) = (window.outputs(0, h), window.outputs(1, w));
    let (rows, cols) = (window.taps(0, h, ho), window.taps(1, w, wo));
    let xs = x.as_slice::<T>().expect("contiguous");
    let planes = shape[0] * shape[1];
    // Windows that read no input (none at all when the input is empty) take −∞, as burn's.
    let mut y = vec![T::of(f64::NEG_INFINITY); planes * ho * wo];
    let mut argmax = vec![u32::MAX; planes * ho * wo];
    if ho * wo > 0 && h * w > 0 {
        y.par_chunks_mut(ho * wo).zip(argmax.par_chunks_mut(ho * wo)).zip(xs.par_chunks(h * w)).for_each(|((y, argmax), plane)| {
            for (oh, taps_h) in rows.iter().enumerate() {
                for (ow, taps_w) in cols.iter().enumerate() {
                    // A window entirely in the padding takes nothing: −∞, as burn's.
                    let (mut best, mut at) = (T::of(f64::NEG_INFINITY), u32::MAX);
                    for &ih in taps_h {
                        for &iw in taps_w {
                            let v = plane[ih * w + iw];
                            #[allow(clippy::eq_op)] // v != v: NaN wins, as in PyTorch
                            if at == u32::MAX || v > best || v != v {
                                (best, at) = (v, (ih * w + iw) as u32);
                            }
                        }
                    }
                    y[oh * wo + ow] = best;
                    argmax[oh * wo + ow] = at;
                }
            }
        });
    }
    (FlexTensor::from_data(TensorData::new(y, vec![shape[0], shape[1], ho, wo])), argmax)
}

fn pool_backward<T: Real>(s: &State, dy: &FlexTensor) -> FlexTensor {
    let (h, w) = (s.input_shape[2], s.input_shape[3]);
    let dys = dy.as_slice::<T>().expect("contiguous");
    let outputs = dy.layout().shape()[2..].iter().product::<usize>();
    let mut dx = vec![T::default(); s.input_shape.iter().product()];
    if outputs > 0 && h * w > 0 {
        dx.par_chunks_mut(h * w).zip(dys.par_chunks(outputs).zip(s.argmax.par_chunks(outputs))).for_each(|(dx, (dy, argmax))| {
            for (&g, &at) in dy.iter().zip(argmax) {
                if let Some(d) = dx.get_mut(at as usize) {
                    *d += g;
                }
            }
        });
    }
    FlexTensor::from_data(TensorData::new(dx, s.input_shape.clone()))
}
