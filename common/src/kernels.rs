//! Whose kernels compute a CPU training step: the project's own (the default) or burn's.
//!
//! The project replaces burn-flex's kernels where they dominate a training step on the CPU: the
//! convolutions ([`crate::conv`]), batch norm's training pass ([`crate::norm`]) and the steps
//! a paper computes itself ([`crate::engine::ImageClassifier::own_step`]). Each checks this
//! switch, so `harness bench --kernels burn --kernels project` times both in one process and
//! the tests compare both on whole nets.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::{DType, Tensor, TensorData};

/// Whose kernels compute a CPU training step under autodiff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// The project's (the default).
    Project,
    /// burn-flex's own ops and burn's autodiff graph throughout, to time or check against.
    Burn,
}

/// The process-wide choice; `Project` unless [`use_kernels`] changed it.
static BURNS_KERNELS: AtomicBool = AtomicBool::new(false);

/// Sends every later training step of this process to `kernels`.
pub fn use_kernels(kernels: Kernels) {
    BURNS_KERNELS.store(kernels == Kernels::Burn, Ordering::Relaxed);
}

/// The kernels in use now.
pub fn kernels() -> Kernels {
    if BURNS_KERNELS.load(Ordering::Relaxed) { Kernels::Burn } else { Kernels::Project }
}

/// The element types the project's CPU kernels compute in: f32 for training, f64 for the
/// finite-difference checks.
pub trait Real:
    burn::tensor::Element
    + bytemuck::Pod
    + Default
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + Send
    + Sync
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    fn of(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
        }
    };
}
real!(f32);
real!(f64);

type Tracked = burn::backend::Autodiff<burn::backend::Flex>;

/// The burn-flex tensor under `x` when `x` is an f32 or f64 tensor under autodiff on the CPU
/// (a parameter's value, a training batch), contiguous; `None` on any other backend or dtype.
pub fn tracked_flex<const D: usize>(x: &Tensor<D>) -> Option<burn::backend::flex::FlexTensor> {
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        return None;
    }
    x.clone().try_into_primitive::<Tracked>().ok().map(|t| t.primitive().to_contiguous())
}

/// `values` as a burn-flex tensor of `shape` (a gradient, as burn's `backward` registers them:
/// on the inner backend, without autodiff).
pub fn flex_tensor<T: Real, const D: usize>(values: Vec<T>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_primitive::<burn::backend::Flex>(burn::backend::flex::FlexTensor::from_data(TensorData::new(values, shape)))
}

/// Keeps freed tensor memory in the process for the next step instead of returning it to the
/// system, where glibc's defaults would (blocks above its mmap threshold, a few MiB and
/// growing): a CPU training step frees and re-allocates the same activation-sized blocks every
/// step, and each fresh mapping is page-faulted in and zeroed again by the kernel (up to three
/// million faults in a two-epoch bench of a 20-layer CIFAR net, their count varying fivefold
/// between runs).
/// Blocks up to 32 MiB (glibc's largest threshold on 64-bit) come from the heap, and the heap
/// is trimmed only past 1 GiB free. Call once at the start of a process that trains; a no-op
/// outside glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before the process allocates much.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Runs `f` on this thread's scratch buffer of `len` values, kept from call to call so a kernel
/// neither allocates nor clears it per call; its contents are whatever the last user left. A
/// nested call on the same thread gets a fresh, zeroed buffer. Each thread keeps its largest
/// buffer for the life of the process (the im2col of a 3×3, 64-channel convolution on 224² images: about 116 MB per
/// compute thread).
pub fn with_scratch<T: Real, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    thread_local! {
        // u64 words: aligned for f32 and f64 alike.
        static SCRATCH: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut words) => {
            let needed = (len * std::mem::size_of::<T>()).div_ceil(8);
            if words.len() < needed {
                words.resize(needed, 0);
            }
            let values: &mut [T] = bytemuck::cast_slice_mut(&mut words[..needed]);
            f(&mut values[..len])
        }
        Err(_) => f(&mut vec![T::ZERO; len]),
    })
}
