//! 2-D convolution with the project's own forward pass and weight and input gradients on the CPU.
//!
//! burn-flex 0.22.1 computes a convolution's weight gradient through burn's generic fallback: a
//! forward convolution with the batch as channels. That becomes one thin gemm (`C_out × kh·kw`
//! outputs over `N·H_out·W_out`) behind full single-threaded copies of the input and the output
//! gradient. Here it is im2col per sample into a worker's scratch buffer, then one gemm per
//! sample, `dWᵀ += col_n · dY_nᵀ` (so laid out, gemm reads col_n in place), summed per worker and
//! once across workers.
//!
//! The input gradient is the transpose: per sample, Wᵀ · dY_n into the worker's scratch, folded
//! back onto the input's pixels (col2im), instead of burn's fallback through a transposed
//! convolution. The forward pass is W · col_n per sample written straight into the NCHW output
//! (burn-flex's own converts the input to NHWC and the output back), in training and in
//! evaluation. A 1×1 convolution at stride 1 reads each sample in place as its im2col matrix;
//! a stride-1 convolution whose output rows are as wide as its input's copies each kernel tap
//! as one run ([`SameWidthRun`]). The bias gradient stays burn-flex's. Tensors that are not
//! burn-flex tensors, grouped convolutions and f16 go to burn's `conv2d`
//! unchanged.

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
use std::mem::MaybeUninit;

type Tracked = Autodiff<Flex>;

pub use crate::kernels::{Kernels, kernels, use_kernels};
use crate::kernels::{Real, with_scratch};

/// `conv2d(x, weight, bias)` with `options`, as `burn::tensor::module::conv2d`, with the weight
/// and input gradients computed by [`kernels`]'s choice.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, options: ConvOptions<2>) -> Tensor<4> {
    conv2d_with(kernels(), x, weight, bias, options)
}

/// [`conv2d`] with the given kernels. `Project` computes the output here when `x` and `weight`
/// are f32 (or f64) burn-flex tensors, and the weight and input gradients too under autodiff;
/// it goes to burn's `conv2d` otherwise (other devices, groups, f16).
pub fn conv2d_with(kernels: Kernels, x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, options: ConvOptions<2>) -> Tensor<4> {
    let real = |d: DType| d == DType::F32 || d == DType::F64;
    // Shapes that do not fit (a kernel for other input channels, a bias of another length) go
    // to burn's, which checks them and says what is wrong.
    let fits = weight.dims()[1] == x.dims()[1] && bias.as_ref().is_none_or(|b| b.dims()[0] == weight.dims()[0]);
    if kernels == Kernels::Burn || options.groups != 1 || !real(x.dtype()) || x.dtype() != weight.dtype() || !fits {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    }
    let forward = |x: FlexTensor, w: FlexTensor, b: Option<FlexTensor>| match x.dtype() {
        DType::F64 => output::<f64>(&x, &w, b.as_ref(), &options),
        _ => output::<f32>(&x, &w, b.as_ref(), &options),
    };
    let primitives = (x.clone().try_into_primitive::<Tracked>(), weight.clone().try_into_primitive::<Tracked>(), bias.clone().map(|b| b.try_into_primitive::<Tracked>()).transpose());
    let (Ok(x_ad), Ok(w_ad), Ok(b_ad)) = primitives else {
        // Without autodiff (evaluation): the same forward pass on burn-flex tensors.
        let plain = (x.clone().try_into_primitive::<Flex>(), weight.clone().try_into_primitive::<Flex>(), bias.clone().map(|b| b.try_into_primitive::<Flex>()).transpose());
        if let (Ok(xp), Ok(wp), Ok(bp)) = plain {
            return Tensor::from_primitive::<Flex>(forward(xp.to_contiguous(), wp.to_contiguous(), bp));
        }
        return burn::tensor::module::conv2d(x, weight, bias, options);
    };
    let out = match &b_ad {
        Some(b_ad) => match Conv2dBackward.prepare::<NoCheckpointing>([x_ad.node(), w_ad.node(), b_ad.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x_ad.primitive().to_contiguous(), w_ad.primitive().to_contiguous());
                let y = forward(xp.clone(), wp.clone(), Some(b_ad.primitive().clone()));
                prep.finish(Conv2dState { x: xp, weight: wp, bias: Some(b_ad.primitive().clone()), options: options.clone() }, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x_ad.primitive().clone(), w_ad.primitive().clone(), Some(b_ad.primitive().clone()))),
        },
        None => match Conv2dNoBiasBackward.prepare::<NoCheckpointing>([x_ad.node(), w_ad.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x_ad.primitive().to_contiguous(), w_ad.primitive().to_contiguous());
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
        let dx = match s.x.dtype() {
            DType::F64 => input_gradient::<f64>(&s.x, &s.weight, &grad, &s.options),
            _ => input_gradient::<f32>(&s.x, &s.weight, &grad, &s.options),
        };
        grads.register::<Flex>(id, dx);
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

/// The output columns `first..end` whose input column `ow·stride + offset` lies inside a row of
/// `w` pixels, for a kernel column at `offset` from the output's; empty (`first == end`) when
/// that kernel column reads only padding.
fn inside_columns(wo: usize, stride: usize, offset: isize, w: usize) -> (usize, usize) {
    let first = (0..wo).find(|&ow| (ow * stride) as isize + offset >= 0).unwrap_or(wo);
    let end = (first..wo).find(|&ow| (ow * stride) as isize + offset >= w as isize).unwrap_or(wo);
    (first, end)
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
                if let Some(run) = SameWidthRun::of(g, i, j) {
                    match run.ranges() {
                        Some((src, dst)) => {
                            row[..dst.start].fill(T::default());
                            row[dst.end..].fill(T::default());
                            row[dst].copy_from_slice(&plane[src]);
                            run.clear_wrapped(row);
                        }
                        None => row.fill(T::default()),
                    }
                    continue;
                }
                let offset = (j * g.dilation[1]) as isize - g.padding[1] as isize;
                let (first, end) = inside_columns(g.wo, g.stride[1], offset, g.w);
                for oh in 0..g.ho {
                    let out = &mut row[oh * g.wo..(oh + 1) * g.wo];
                    let ih = (oh * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0] as isize;
                    if ih < 0 || ih as usize >= g.h {
                        out.fill(T::default());
                        continue;
                    }
                    let line = &plane[ih as usize * g.w..(ih as usize + 1) * g.w];
                    out[..first].fill(T::default());
                    out[end..].fill(T::default());
                    if first == end {
                        // This kernel column reads only padding on this row (a kernel wider than
                        // the map plus its padding on one side): nothing to copy.
                    } else if g.stride[1] == 1 {
                        let start = (first as isize + offset) as usize;
                        out[first..end].copy_from_slice(&line[start..start + (end - first)]);
                    } else {
                        for (ow, o) in out[first..end].iter_mut().enumerate() {
                            *o = line[((first + ow) as isize * g.stride[1] as isize + offset) as usize];
                        }
                    }
                }
            }
        }
    }
}

/// One row of the im2col matrix (kernel tap `(i, j)` of one channel) of a stride-1 convolution
/// whose output rows are as wide as its input's (a 3×3 kernel with padding 1): output
/// row `oh` reads input row `oh + i·d − p` shifted by `j·d − p` columns, so all the output rows
/// that lie inside the input read one contiguous run of the input plane. Copied (or added back)
/// in one piece, the few entries whose column falls off an edge then hold the neighbouring
/// row's pixels and are cleared: one long copy instead of one short one per output row.
struct SameWidthRun {
    /// Row width of both the input and the output.
    w: usize,
    /// Input rows, and the output rows `first_row..end_row` that read inside them.
    h: usize,
    first_row: usize,
    end_row: usize,
    /// Input row and column offset of the tap.
    row_shift: isize,
    col_shift: isize,
}

impl SameWidthRun {
    fn of(g: &Geometry, i: usize, j: usize) -> Option<Self> {
        if g.stride != [1, 1] || g.wo != g.w {
            return None;
        }
        let row_shift = (i * g.dilation[0]) as isize - g.padding[0] as isize;
        let col_shift = (j * g.dilation[1]) as isize - g.padding[1] as isize;
        let (h, ho) = (g.h as isize, g.ho as isize);
        let first_row = (-row_shift).clamp(0, ho) as usize;
        let end_row = (h - row_shift).clamp(first_row as isize, ho) as usize;
        Some(SameWidthRun { w: g.w, h: g.h, first_row, end_row, row_shift, col_shift })
    }

    /// The input plane's range and the im2col row's range that correspond, element for element;
    /// `None` when the tap reads only padding.
    fn ranges(&self) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
        let w = self.w as isize;
        let (dst_start, dst_end) = (self.first_row as isize * w, self.end_row as isize * w);
        // The plane index of the im2col row's entry `dst_start`.
        let src_start = (self.first_row as isize + self.row_shift) * w + self.col_shift;
        let skip = (-src_start).max(0);
        let end = dst_end.min(dst_start + self.h as isize * w - src_start);
        let dst = (dst_start + skip) as usize..end.max(dst_start + skip) as usize;
        let src_begin = (src_start + skip) as usize;
        (!dst.is_empty()).then(|| (src_begin..src_begin + dst.len(), dst))
    }

    /// Zeroes the entries of the im2col row whose column lies outside the input: column by
    /// column down the rows (one or two columns for a 3×3 kernel; clearing them row by row was
    /// a `memset` call per row).
    fn clear_wrapped<T: Real>(&self, row: &mut [T]) {
        let w = self.w;
        let rows = &mut row[self.first_row * w..self.end_row * w];
        let columns = if self.col_shift > 0 { w.saturating_sub(self.col_shift as usize)..w } else { 0..self.col_shift.unsigned_abs().min(w) };
        for column in columns {
            rows.iter_mut().skip(column).step_by(w).for_each(|v| *v = T::default());
        }
    }
}

/// A row-major matrix operand for [`gemm`]: its first element and its row and column strides.
#[derive(Clone, Copy)]
struct Operand<'a, T> {
    data: &'a [T],
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> Operand<'a, T> {
    /// `data` read as a row-major matrix with rows of `cols` elements.
    fn rows(data: &'a [T], cols: usize) -> Self {
        Operand { data, row_stride: cols, col_stride: 1 }
    }
    /// The transpose of the row-major matrix `data` whose rows hold `cols` elements.
    fn transposed(data: &'a [T], cols: usize) -> Self {
        Operand { data, row_stride: 1, col_stride: cols }
    }
    /// The largest index this operand reads for an `r × c` matrix, plus one.
    fn extent(&self, r: usize, c: usize) -> usize {
        (r - 1) * self.row_stride + (c - 1) * self.col_stride + 1
    }
}

/// `dst (m×n, row-major) = dst·accumulate + lhs (m×k) · rhs (k×n)`, on one thread (the callers
/// split the batch among the pool's workers); gemm picks the f32 or f64 kernel from `T`.
fn gemm<T: Real>(dst: &mut [T], accumulate: bool, lhs: Operand<'_, T>, rhs: Operand<'_, T>, m: usize, n: usize, k: usize) {
    assert!(dst.len() >= m * n);
    if k == 0 && !accumulate {
        // An empty product is zero (gemm itself would leave `dst` as it was: stale scratch).
        dst[..m * n].fill(T::default());
        return;
    }
    // SAFETY: `dst` holds m·n initialised values, and is a unique borrow, so it aliases neither
    // operand.
    unsafe { gemm_raw(dst.as_mut_ptr(), accumulate, lhs, rhs, m, n, k) }
}

/// [`gemm`] into memory not yet written: every one of its m·n values is written, none read.
fn gemm_into<T: Real>(dst: &mut [MaybeUninit<T>], lhs: Operand<'_, T>, rhs: Operand<'_, T>, m: usize, n: usize, k: usize) {
    assert!(dst.len() >= m * n);
    if k == 0 {
        dst[..m * n].fill(MaybeUninit::new(T::default()));
        return;
    }
    // SAFETY: gemm writes all m·n values of `dst` without reading them (no accumulation), and
    // `dst` is a unique borrow, so it aliases neither operand.
    unsafe { gemm_raw(dst.as_mut_ptr().cast::<T>(), false, lhs, rhs, m, n, k) }
}

/// # Safety
/// `dst` must be valid for writes of m·n values (and hold m·n initialised values if
/// `accumulate`), and alias neither operand.
unsafe fn gemm_raw<T: Real>(dst: *mut T, accumulate: bool, lhs: Operand<'_, T>, rhs: Operand<'_, T>, m: usize, n: usize, k: usize) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(lhs.data.len() >= lhs.extent(m, k) && rhs.data.len() >= rhs.extent(k, n));
    // SAFETY: the assert above keeps every index the strides describe inside the operands; the
    // caller vouches for `dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

impl Geometry {
    /// The geometry of the convolution of `x` by `weight` whose output gradient is `dy`.
    fn of(x: &FlexTensor, weight: &FlexTensor, dy: &FlexTensor, options: &ConvOptions<2>) -> Self {
        let (xs, ws, ys) = (x.layout().shape(), weight.layout().shape(), dy.layout().shape());
        Geometry {
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
        }
    }
}

impl Geometry {
    /// The geometry of the convolution of `x` by `weight`, its output size computed as burn does.
    fn forward(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Self {
        let (xs, ws) = (x.layout().shape(), weight.layout().shape());
        let out = |size: usize, kernel: usize, d: usize| {
            let (before, after) = options.padding[d];
            let reach = options.dilation[d] * (kernel - 1) + 1;
            (size + before + after).saturating_sub(reach) / options.stride[d] + 1
        };
        Geometry {
            n: xs[0],
            c_in: xs[1],
            h: xs[2],
            w: xs[3],
            c_out: ws[0],
            kh: ws[2],
            kw: ws[3],
            ho: out(xs[2], ws[2], 0),
            wo: out(xs[3], ws[3], 1),
            stride: options.stride,
            padding: [options.padding[0].0, options.padding[1].0],
            dilation: options.dilation,
        }
    }

    /// A 1×1 convolution at stride 1 without padding: a sample's im2col matrix is the sample
    /// itself (`[c_in, h·w]`), so it is read in place and col2im is the identity.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.padding == [0, 0] && self.ho == self.h && self.wo == self.w
    }
}

/// The batch's samples per chunk of work: two chunks per worker of the compute pool, so a
/// worker that finishes early can take over another's (a 20-layer CIFAR net's step with batch norm, batch 128, 2 workers,
/// 3 rounds: one chunk per worker 325 img/s on average, two 338, four 315).
fn samples_per_chunk(n: usize) -> usize {
    n.div_ceil(2 * rayon::current_num_threads()).max(1)
}

/// `f(c, chunk)` for each `len`-long chunk of `data`, on the pool's workers; a single chunk (a
/// batch of one, one sample per update, or one thread) runs on the calling thread, since handing it to a
/// worker and waiting for it costs two thread switches and no parallelism.
fn for_each_chunk<T: Send>(data: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Send + Sync) {
    let len = len.max(1);
    if data.len() <= len {
        if !data.is_empty() {
            f(0, data);
        }
        return;
    }
    data.par_chunks_mut(len).enumerate().for_each(|(c, chunk)| f(c, chunk));
}

/// Y `[n, c_out, ho, wo]`: per sample, W (`[c_out, c_in·kh·kw]`) · col_n, written straight into
/// the NCHW output on top of the bias, the samples split among the compute pool's workers, each
/// with its own im2col buffer. (The tracked caller passes `x` already contiguous and keeps that
/// copy for the backward pass, so a strided input is copied once.)
fn output<T: Real>(x: &FlexTensor, weight: &FlexTensor, bias: Option<&FlexTensor>, options: &ConvOptions<2>) -> FlexTensor {
    let g = Geometry::forward(x, weight, options);
    let (x, weight, bias) = (x.to_contiguous(), weight.to_contiguous(), bias.map(|b| b.to_contiguous()));
    let (x, w) = (x.as_slice::<T>().expect("contiguous"), weight.as_slice::<T>().expect("contiguous"));
    let b = bias.as_ref().map(|b| b.as_slice::<T>().expect("contiguous"));
    let (rows, pixels) = (g.col_rows(), g.pixels());
    let (per_x, per_y) = (g.c_in * g.h * g.w, g.c_out * pixels);
    // Every value of `y` is written once (gemm, or the bias then gemm on top): no clearing.
    let mut y: Vec<T> = Vec::with_capacity(g.n * per_y);
    let chunk = samples_per_chunk(g.n);
    for_each_chunk(&mut y.spare_capacity_mut()[..g.n * per_y], chunk * per_y, |c, y_chunk| {
        with_scratch(columns_len(&g), |buffer| {
            for (k, y_s) in y_chunk.chunks_mut(per_y).enumerate() {
                let s = c * chunk + k;
                let col = columns(&x[s * per_x..(s + 1) * per_x], &g, buffer);
                let (lhs, rhs) = (Operand::rows(w, rows), Operand::rows(col, pixels));
                match b {
                    Some(b) => {
                        for (plane, &value) in y_s.chunks_mut(pixels).zip(b) {
                            plane.fill(MaybeUninit::new(value));
                        }
                        // SAFETY: every value of `y_s` was just written.
                        let y_s = unsafe { &mut *(y_s as *mut [MaybeUninit<T>] as *mut [T]) };
                        gemm(y_s, true, lhs, rhs, g.c_out, pixels, rows);
                    }
                    None => gemm_into(y_s, lhs, rhs, g.c_out, pixels, rows),
                }
            }
        })
    });
    // SAFETY: the chunks cover all n·per_y values, each written above.
    unsafe { y.set_len(g.n * per_y) };
    FlexTensor::from_data(TensorData::new(y, vec![g.n, g.c_out, g.ho, g.wo]))
}

/// Sample `x`'s im2col matrix `[c_in·kh·kw, ho·wo]`: `x` itself for a pointwise convolution,
/// otherwise written into `buffer` (a worker's scratch, [`columns_len`] long).
fn columns<'a, T: Real>(x: &'a [T], g: &Geometry, buffer: &'a mut [T]) -> &'a [T] {
    if g.is_pointwise() {
        return x;
    }
    im2col(x, g, buffer);
    buffer
}

/// The scratch [`columns`] needs: none for a pointwise convolution.
fn columns_len(g: &Geometry) -> usize {
    if g.is_pointwise() { 0 } else { g.col_rows() * g.pixels() }
}

/// dW `[c_out, c_in, kh, kw]` = Σ_n dY_n · col_nᵀ, the samples split among the compute pool's
/// workers, each with its own im2col buffer and partial sum.
fn weight_gradient<T: Real>(x: &FlexTensor, weight: &FlexTensor, dy: &FlexTensor, options: &ConvOptions<2>) -> FlexTensor {
    let g = Geometry::of(x, weight, dy, options);
    let (x, dy) = (x.to_contiguous(), dy.to_contiguous());
    let (x, dy) = (x.as_slice::<T>().expect("contiguous"), dy.as_slice::<T>().expect("contiguous"));
    let (rows, pixels) = (g.col_rows(), g.pixels());
    let (per_x, per_dy) = (g.c_in * g.h * g.w, g.c_out * pixels);
    // Each worker sums dWᵀ (`[c_in·kh·kw, c_out]`) = Σ col_n · dY_nᵀ: so laid out, gemm reads the
    // large im2col matrix in place and packs only dY_n (nine times smaller for a 3×3 kernel);
    // for dW = Σ dY_n · col_nᵀ it packed (copied) every col_n.
    let partial = |samples: std::ops::Range<usize>| {
        let mut dwt = vec![T::default(); rows * g.c_out];
        with_scratch(columns_len(&g), |buffer| {
            for (k, s) in samples.enumerate() {
                let col = columns(&x[s * per_x..(s + 1) * per_x], &g, buffer);
                let dy_t = Operand::transposed(&dy[s * per_dy..(s + 1) * per_dy], pixels);
                gemm(&mut dwt, k > 0, Operand::rows(col, pixels), dy_t, rows, g.c_out, pixels);
            }
        });
        dwt
    };
    let chunk = samples_per_chunk(g.n);
    // One chunk (a batch of one, or one thread) stays on the calling thread, as in `for_each_chunk`.
    let total = if g.n <= chunk {
        partial(0..g.n)
    } else {
        let partials: Vec<Vec<T>> = (0..g.n.div_ceil(chunk)).into_par_iter().map(|c| partial(c * chunk..((c + 1) * chunk).min(g.n))).collect();
        let mut total = vec![T::default(); rows * g.c_out];
        for p in &partials {
            for (t, v) in total.iter_mut().zip(p) {
                *t += *v;
            }
        }
        total
    };
    FlexTensor::from_data(TensorData::new(transpose(&total, rows, g.c_out), weight.layout().shape().to_vec()))
}

/// dX `[n, c_in, h, w]`: per sample, col = Wᵀ · dY_n (`[c_in·kh·kw, ho·wo]`) folded back onto the
/// input's pixels (col2im), the samples split among the compute pool's workers, each with its own
/// column buffer. Every sample's gradient is written straight into the output.
fn input_gradient<T: Real>(x: &FlexTensor, weight: &FlexTensor, dy: &FlexTensor, options: &ConvOptions<2>) -> FlexTensor {
    let g = Geometry::of(x, weight, dy, options);
    let (weight, dy) = (weight.to_contiguous(), dy.to_contiguous());
    let (w, dy) = (weight.as_slice::<T>().expect("contiguous"), dy.as_slice::<T>().expect("contiguous"));
    let (rows, pixels) = (g.col_rows(), g.pixels());
    let (per_x, per_dy) = (g.c_in * g.h * g.w, g.c_out * pixels);
    // Wᵀ laid out row by row once per call: read as the transpose of W in place, gemm packed
    // (copied) all of W again for every sample.
    let w_t = transpose(w, g.c_out, rows);
    let w_t = Operand::rows(&w_t, g.c_out);
    let mut dx = vec![T::default(); g.n * per_x];
    let chunk = samples_per_chunk(g.n);
    for_each_chunk(&mut dx, chunk * per_x, |c, dx_chunk| {
        with_scratch(columns_len(&g), |col| {
            for (k, dx_s) in dx_chunk.chunks_mut(per_x).enumerate() {
                let s = c * chunk + k;
                let dy_s = Operand::rows(&dy[s * per_dy..(s + 1) * per_dy], pixels);
                if g.is_pointwise() {
                    // col2im is the identity: Wᵀ · dY_n is this sample's gradient.
                    gemm(dx_s, false, w_t, dy_s, rows, pixels, g.c_out);
                } else {
                    gemm(col, false, w_t, dy_s, rows, pixels, g.c_out);
                    col2im(col, &g, dx_s);
                }
            }
        })
    });
    FlexTensor::from_data(TensorData::new(dx, x.layout().shape().to_vec()))
}

/// The row-major `rows × cols` matrix `a` transposed.
fn transpose<T: Real>(a: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut t = vec![T::default(); rows * cols];
    for (r, row) in a.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}

/// Adds the im2col matrix `col` (`[c_in·kh·kw, ho·wo]`) back onto the pixels of one sample `dx`
/// (`[c_in, h, w]`, zero on entry) that each entry was read from: the transpose of [`im2col`].
/// The entries of `col` that read padding are zeroed on the way.
fn col2im<T: Real>(col: &mut [T], g: &Geometry, dx: &mut [T]) {
    let pixels = g.pixels();
    for c in 0..g.c_in {
        let plane = &mut dx[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &mut col[((c * g.kh + i) * g.kw + j) * pixels..][..pixels];
                if let Some(run) = SameWidthRun::of(g, i, j) {
                    if let Some((src, dst)) = run.ranges() {
                        // The entries that read padding must not reach the neighbouring pixels.
                        run.clear_wrapped(row);
                        for (d, v) in plane[src].iter_mut().zip(&row[dst]) {
                            *d += *v;
                        }
                    }
                    continue;
                }
                let row = &*row;
                let offset = (j * g.dilation[1]) as isize - g.padding[1] as isize;
                let (first, end) = inside_columns(g.wo, g.stride[1], offset, g.w);
                for oh in 0..g.ho {
                    let ih = (oh * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0] as isize;
                    if ih < 0 || ih as usize >= g.h {
                        continue;
                    }
                    let line = &mut plane[ih as usize * g.w..(ih as usize + 1) * g.w];
                    let values = &row[oh * g.wo..(oh + 1) * g.wo];
                    if first == end {
                        // Only padding under this kernel column: nothing to add back.
                    } else if g.stride[1] == 1 {
                        let start = (first as isize + offset) as usize;
                        for (d, v) in line[start..start + (end - first)].iter_mut().zip(&values[first..end]) {
                            *d += *v;
                        }
                    } else {
                        for ow in first..end {
                            line[(ow as isize * g.stride[1] as isize + offset) as usize] += values[ow];
                        }
                    }
                }
            }
        }
    }
}

/// `conv.forward(input)` through [`conv2d`]: the module's weights, stride, dilation, groups and
/// padding read as burn's `Conv2d::forward` reads them, so a net switches by calling this instead.
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
