//! LeNet-5's squashing function `f(a) = A·tanh(S·a)` (Eq. 6, Appendix A) as one CPU op.
//!
//! Composed from burn's ops it is three passes forward (scale, tanh, scale) and three back, and
//! libm's scalar `tanhf` was a fifth of a one-sample SDLM step. Here, on burn-flex tensors, it
//! is one pass each way: the forward with a tanh the compiler can vectorise ([`tanh_f32`],
//! within 2 ulp of the exact value), the backward from the output alone,
//! `f'(a) = (S/A)·(A² − f(a)²)`, as a custom autodiff op (burn's `Backward` trait). In f64 (the
//! finite-difference checks) it uses the exact `f64::tanh`. Other devices and dtypes, and burn's
//! kernels ([`repro_common::kernels`]), go to the composition of burn's ops.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Tensor, TensorData};
use repro_common::kernels::{self, Kernels};

/// A and S of Appendix A: f(±1) = ±1.
pub const A: f64 = 1.7159;
pub const S: f64 = 2.0 / 3.0;

type Tracked = Autodiff<Flex>;

/// `A·tanh(S·x)`, in one pass each way on burn-flex (f32 or f64), through burn's ops elsewhere.
pub fn scaled_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let real = matches!(x.dtype(), DType::F32 | DType::F64) && kernels::kernels() == Kernels::Project;
    if real {
        match x.clone().try_into_primitive::<Tracked>() {
            Ok(x_ad) => {
                let out = match ScaledTanhBackward.prepare::<NoCheckpointing>([x_ad.node()]).compute_bound().stateful() {
                    OpsKind::Tracked(prep) => {
                        let y = forward(x_ad.primitive());
                        prep.finish(y.clone(), y)
                    }
                    OpsKind::UnTracked(prep) => prep.finish(forward(x_ad.primitive())),
                };
                return Tensor::from_primitive::<Tracked>(out);
            }
            Err(_) => {
                if let Ok(x_flex) = x.clone().try_into_primitive::<Flex>() {
                    return Tensor::from_primitive::<Flex>(forward(&x_flex));
                }
            }
        }
    }
    x.mul_scalar(S).tanh().mul_scalar(A)
}

/// `f(x)` elementwise into a new contiguous tensor of `x`'s shape.
fn forward(x: &FlexTensor) -> FlexTensor {
    let shape = x.layout().shape().to_vec();
    let x = x.to_contiguous();
    let data = match x.dtype() {
        DType::F64 => TensorData::new(x.as_slice::<f64>().expect("contiguous").iter().map(|&v| A * (S * v).tanh()).collect::<Vec<_>>(), shape),
        _ => {
            let (a, s) = (A as f32, S as f32);
            TensorData::new(x.as_slice::<f32>().expect("contiguous").iter().map(|&v| a * tanh_f32(s * v)).collect::<Vec<_>>(), shape)
        }
    };
    FlexTensor::from_data(data)
}

#[derive(Debug)]
struct ScaledTanhBackward;

impl Backward<Flex, 1> for ScaledTanhBackward {
    /// The op's output `f(x)`, shared with the graph (not copied).
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node else { return };
        let (y, dy) = (ops.state, grad.to_contiguous());
        let shape = y.layout().shape().to_vec();
        let data = match y.dtype() {
            DType::F64 => {
                let (y, dy) = (y.as_slice::<f64>().expect("contiguous"), dy.as_slice::<f64>().expect("contiguous"));
                TensorData::new(y.iter().zip(dy).map(|(&y, &g)| g * (S / A) * (A * A - y * y)).collect::<Vec<_>>(), shape)
            }
            _ => {
                let (y, dy) = (y.as_slice::<f32>().expect("contiguous"), dy.as_slice::<f32>().expect("contiguous"));
                let (gain, a2) = ((S / A) as f32, (A * A) as f32);
                TensorData::new(y.iter().zip(dy).map(|(&y, &g)| g * gain * (a2 - y * y)).collect::<Vec<_>>(), shape)
            }
        };
        grads.register::<Flex>(node.id, FlexTensor::from_data(data));
    }
}

/// tanh in f32 from operations that vectorise on baseline x86-64 (no libm call, no branch):
/// an odd Taylor polynomial below |x| = 0.55, where `1 − 2/(e^{2|x|} + 1)` would cancel, and that
/// formula above it with `e^{2|x|}` from [`exp_f32`]. Within 2 ulp of the exact value
/// (`tanh_f32_is_within_two_ulp` checks every float from 1e-4 to 10 against f64).
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    let ax = x.abs();
    // Taylor series of tanh through x^17: its terms shrink by ≈ 0.12 per step at 0.55.
    let z = ax * ax;
    let series = ax
        * (1.0
            + z * (-1.0 / 3.0
                + z * (2.0 / 15.0
                    + z * (-17.0 / 315.0 + z * (62.0 / 2835.0 + z * (-1382.0 / 155925.0 + z * (21844.0 / 6081075.0 + z * (-929569.0 / 638512875.0 + z * (6404582.0 / 10854718875.0)))))))));
    // Past 10, tanh rounds to 1 in f32 (and e^{2|x|} would overflow further out).
    let e = exp_f32(2.0 * ax.min(10.0));
    let large = 1.0 - 2.0 / (e + 1.0);
    // NaN compares false and takes the series, which stays NaN.
    let t = if ax >= 0.55 { large } else { series };
    t.copysign(x)
}

/// e^x for x in [−87, 88] from operations that vectorise: x = k·ln 2 + r with |r| ≤ ln2/2,
/// e^r by its Taylor polynomial through r^7, 2^k by the exponent bits.
#[inline]
fn exp_f32(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Round to nearest without `round` (a libm call on baseline x86-64): adding 1.5·2^23 leaves
    // no fraction bits.
    const SHIFT: f32 = 12_582_912.0;
    let k = (x * std::f32::consts::LOG2_E + SHIFT) - SHIFT;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    p * f32::from_bits(((k as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two floats of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn tanh_f32_is_within_two_ulp() {
        // Every float of [1e-4, 10]; negative arguments share the code path (`copysign`).
        let mut worst = (0u32, 0f32);
        let mut x = 1e-4f32;
        while x < 10.0 {
            let d = ulps(tanh_f32(x), (x as f64).tanh() as f32);
            if d > worst.0 {
                worst = (d, x);
            }
            x = f32::from_bits(x.to_bits() + 1);
        }
        assert_eq!(tanh_f32(-0.3), -tanh_f32(0.3));
        assert_eq!(tanh_f32(-2.0), -tanh_f32(2.0));
        assert!(worst.0 <= 2, "tanh_f32 is {} ulp from tanh at {}", worst.0, worst.1);
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(30.0), 1.0);
        assert_eq!(tanh_f32(-1e6), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }
}
