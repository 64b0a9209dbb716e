//! Stochastic diagonal Levenberg–Marquardt (LeCun et al. 1998, §III.B and Appendix C): each
//! weight `w_k` gets its own step `ε_k = η / (μ + h_kk)`, where `h_kk` is the Gauss–Newton
//! estimate of the loss's second derivative, re-estimated on a few hundred samples before each
//! pass.
//!
//! The second derivatives are back-propagated as in Appendix C: through a layer `a = W·x` they
//! go back with the *squared* weights, `h_x = (W²)ᵀ h_a`, a weight collects `h_w = h_a · x²`, and a
//! squashing function multiplies by `f'(a)²`. That is exactly an ordinary backward pass through a
//! twin of the network whose parameters are `W²` (same parameter ids, see [`squared`]) and whose
//! activations carry the value `x²`; so burn's autodiff computes it, and the model only has to
//! write that twin's forward pass (see [`carry`]).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// A copy of `model` whose every float parameter `W` is replaced by `W²`, as a fresh leaf that
/// tracks gradients, under the same parameter id. Gradients of the twin's surrogate forward
/// pass with respect to these leaves are the `h_kk`.
pub fn squared<M: Module>(model: &M) -> M {
    struct Square;
    impl ModuleMapper for Square {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let id = param.id;
            let value = param.val().powi_scalar(2).detach().require_grad();
            Param::initialized(id, value)
        }
    }
    model.clone().map(&mut Square)
}

/// The activation of the twin network: it carries the value `x²` (the real activation squared,
/// which the next layer's weights need) while gradients flow through `path` (the twin's own
/// computation, which carries the second derivatives back).
pub fn carry<const D: usize>(x: Tensor<D>, path: Tensor<D>) -> Tensor<D> {
    x.detach().powi_scalar(2) + path.clone() - path.detach()
}

/// The per-weight factors `1 / (μ + h_kk)` of one pass. Multiplying each gradient by its factor
/// and taking a plain SGD step of rate `η` is the SDLM update.
pub struct Preconditioner {
    factors: GradientsParams,
    /// Smallest and largest factor, so `η·min .. η·max` is the range of effective step sizes
    /// (the paper reports about 7e-5 to 0.016 in its first pass).
    pub min_factor: f64,
    pub max_factor: f64,
}

impl Preconditioner {
    /// `curvature` holds the `h_kk` (averaged over samples) of `model`'s parameters.
    pub fn new<M: Module>(model: &M, curvature: GradientsParams, mu: f64) -> Self {
        struct Factors {
            curvature: GradientsParams,
            out: Preconditioner,
            mu: f64,
        }
        impl ModuleVisitor for Factors {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let Some(h) = self.curvature.remove::<D>(param.id) else { return };
                let factor = h.detach().add_scalar(self.mu).recip();
                self.out.min_factor = self.out.min_factor.min(factor.clone().min().into_scalar::<f64>());
                self.out.max_factor = self.out.max_factor.max(factor.clone().max().into_scalar::<f64>());
                self.out.factors.register(param.id, factor);
            }
        }
        let mut visitor = Factors { curvature, mu, out: Preconditioner { factors: GradientsParams::new(), min_factor: f64::INFINITY, max_factor: 0.0 } };
        model.visit(&mut visitor);
        visitor.out
    }

    /// Scales each of `model`'s gradients by its factor.
    pub fn apply<M: Module>(&self, model: &M, grads: GradientsParams) -> GradientsParams {
        struct Scale<'a> {
            grads: GradientsParams,
            factors: &'a GradientsParams,
        }
        impl ModuleVisitor for Scale<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let (Some(g), Some(f)) = (self.grads.remove::<D>(param.id), self.factors.get::<D>(param.id)) {
                    self.grads.register(param.id, g * f);
                }
            }
        }
        let mut scale = Scale { grads, factors: &self.factors };
        model.visit(&mut scale);
        scale.grads
    }
}
