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
use serde::{Deserialize, Serialize};

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

/// One parameter tensor's curvature estimate at the start of a pass, as `curvature.csv`
/// records it: what the step sizes `η/(μ + h_kk)` were and how many `h_kk` fell below `μ` (those
/// weights get nearly the largest step `η/μ` whatever their curvature).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvatureStats {
    pub epoch: usize,
    /// The parameter's path in the model (`c5.weight`).
    pub parameter: String,
    pub count: usize,
    pub h_min: f64,
    pub h_median: f64,
    pub h_max: f64,
    /// Share of the parameter's `h_kk` below `μ`.
    pub share_below_mu: f64,
    /// The pass's global rate η and the step sizes it gives: `η/(μ + h_max)` .. `η/(μ + h_min)`.
    pub eta: f64,
    pub step_min: f64,
    pub step_max: f64,
}

/// The per-weight factors `1 / (μ + h_kk)` of one pass. Multiplying each gradient by its factor
/// and taking a plain SGD step of rate `η` is the SDLM update.
pub struct Preconditioner {
    factors: GradientsParams,
    /// Smallest and largest factor, so `η·min .. η·max` is the range of effective step sizes
    /// (the paper reports about 7e-5 to 0.016 in its first pass).
    pub min_factor: f64,
    pub max_factor: f64,
    /// Per parameter tensor, in the model's order: its path and its `h_kk`, sorted.
    curvatures: Vec<(String, Vec<f64>)>,
    mu: f64,
}

impl Preconditioner {
    /// `curvature` holds the `h_kk` (averaged over samples) of `model`'s parameters.
    pub fn new<M: Module>(model: &M, curvature: GradientsParams, mu: f64) -> Self {
        struct Factors {
            curvature: GradientsParams,
            out: Preconditioner,
            path: Vec<String>,
        }
        impl ModuleVisitor for Factors {
            fn enter_module(&mut self, name: &str, _container_type: &str) {
                self.path.push(name.to_string());
            }
            fn exit_module(&mut self, _name: &str, _container_type: &str) {
                self.path.pop();
            }
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let Some(h) = self.curvature.remove::<D>(param.id) else { return };
                let h = h.detach();
                let mut values = h.clone().into_data().convert::<f64>().try_to_vec::<f64>().expect("curvature values");
                values.sort_by(f64::total_cmp);
                let factor = h.add_scalar(self.out.mu).recip();
                if let (Some(lo), Some(hi)) = (values.first(), values.last()) {
                    self.out.min_factor = self.out.min_factor.min(1.0 / (self.out.mu + hi));
                    self.out.max_factor = self.out.max_factor.max(1.0 / (self.out.mu + lo));
                }
                self.out.curvatures.push((self.path.join("."), values));
                self.out.factors.register(param.id, factor);
            }
        }
        let out = Preconditioner { factors: GradientsParams::new(), min_factor: f64::INFINITY, max_factor: 0.0, curvatures: Vec::new(), mu };
        let mut visitor = Factors { curvature, out, path: Vec::new() };
        model.visit(&mut visitor);
        visitor.out
    }

    /// Per parameter tensor: its curvature and step-size statistics at global rate `eta`.
    pub fn stats(&self, epoch: usize, eta: f64) -> Vec<CurvatureStats> {
        self.curvatures
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .map(|(parameter, h)| {
                let (lo, hi) = (h[0], h[h.len() - 1]);
                CurvatureStats {
                    epoch,
                    parameter: parameter.clone(),
                    count: h.len(),
                    h_min: lo,
                    h_median: h[h.len() / 2],
                    h_max: hi,
                    share_below_mu: h.iter().filter(|&&v| v < self.mu).count() as f64 / h.len() as f64,
                    eta,
                    step_min: eta / (self.mu + hi),
                    step_max: eta / (self.mu + lo),
                }
            })
            .collect()
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
