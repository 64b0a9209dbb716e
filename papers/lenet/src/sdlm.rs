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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use repro_common::config::{ExperimentConfig, Extension, OptimizerConfig};
use repro_common::engine::{GradientScaler, PassStart, TrainError};
use repro_common::records::{self, RecordError};
use repro_common::report::{RunRecord, group_digits};
use serde::{Deserialize, Serialize};

/// The recipe's `optimizer:` for SDLM: `kind: sdlm`, the damping `mu` (μ) and how many samples
/// `hessian_samples` re-estimate the `h_kk` before each pass.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[allow(dead_code)]
    kind: String,
    pub mu: f64,
    pub hessian_samples: usize,
}

/// The optimiser kind this crate defines.
pub const KIND: &str = "sdlm";

/// SDLM's settings from the recipe's optimiser; an error naming the key when they are not
/// SDLM's, or the kind when it is not `sdlm`.
pub fn settings(optimizer: &Extension) -> Result<Settings, String> {
    if optimizer.kind() != KIND {
        return Err(format!("optimizer kind `{}` is not one this paper defines (built in: sgd, adam; this paper: {KIND})", optimizer.kind()));
    }
    let settings: Settings = optimizer.parse().map_err(|e| format!("optimizer {e}"))?;
    if !(settings.mu.is_finite() && settings.mu > 0.0) || settings.hessian_samples == 0 {
        return Err(format!("optimizer `{KIND}`: `mu` must be a positive number and `hessian_samples` at least 1 (got {} and {})", settings.mu, settings.hessian_samples));
    }
    Ok(settings)
}

/// Checks a recipe's optimiser before anything runs: SDLM's settings are read as training will.
pub fn check_recipe(config: &ExperimentConfig) -> Result<(), String> {
    match &config.optimizer {
        // Only the paper's net has the Gauss-Newton pass SDLM needs (`Lenet5::gauss_newton_diagonal`).
        OptimizerConfig::Paper(_) if config.model != crate::PAPER_MODEL => repro_common::paper::refuse_paper_optimizer(config),
        OptimizerConfig::Paper(extension) => settings(extension).map(|_| ()),
        _ => Ok(()),
    }
}

/// The start of a pass under SDLM (§III.B): the second derivatives `h_kk` re-estimated by
/// `gauss_newton_diagonal` on the pass's first `hessian_samples` samples, recorded in
/// `curvature.csv`, and the step-size factors they give.
pub fn start_pass<M: Module + 'static>(
    model: &M,
    optimizer: &Extension,
    pass: &PassStart<'_>,
    gauss_newton_diagonal: impl FnOnce(Tensor<4>) -> GradientsParams,
) -> Result<(Box<dyn GradientScaler<M>>, String), TrainError> {
    let Settings { mu, hessian_samples, .. } = settings(optimizer).map_err(TrainError::Unsupported)?;
    let curvature = gauss_newton_diagonal((pass.first_samples)(hessian_samples)?);
    let p = Preconditioner::new(model, curvature, mu);
    let note = format!("SDLM step sizes η/(μ+h) from {:.1e} to {:.1e} (η = {:.1e})", pass.lr * p.min_factor, pass.lr * p.max_factor, pass.lr);
    save_curvature(pass.run_dir, pass.epoch, p.stats(pass.epoch, pass.lr))?;
    Ok((Box::new(p), note))
}

impl<M: Module> GradientScaler<M> for Preconditioner {
    fn scale(&self, model: &M, grads: GradientsParams) -> GradientsParams {
        self.apply(model, grads)
    }
}

/// SDLM runs' per-pass, per-parameter curvature and step-size statistics ([`CurvatureStats`]),
/// beside `metrics.csv`.
pub const CURVATURE_FILE: &str = "curvature.csv";

/// Adds one pass's curvature statistics to the run's `curvature.csv`, dropping rows of this and
/// later passes (left by a run that stopped before its checkpoint and was resumed).
fn save_curvature(run_dir: &Path, epoch: usize, stats: Vec<CurvatureStats>) -> Result<(), RecordError> {
    let path = run_dir.join(CURVATURE_FILE);
    let mut rows: Vec<CurvatureStats> = if path.is_file() { records::load_csv(&path)? } else { Vec::new() };
    rows.retain(|r| r.epoch < epoch);
    rows.extend(stats);
    records::save_csv(&path, &rows)
}

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

/// The write-up's SDLM section: per parameter tensor of the lowest-seed SDLM run of each
/// experiment and dataset, its curvature estimates `h_kk` and step sizes `η/(μ + h_kk)` in the
/// first and the last pass. Empty when no run recorded curvature.
pub fn curvature_section(results_root: &Path, runs: &[&RunRecord]) -> Result<String, RecordError> {
    let mut first: BTreeMap<(&str, &str), (&RunRecord, Vec<CurvatureStats>)> = BTreeMap::new();
    for r in runs {
        let file = results_root.join(&r.path).join(CURVATURE_FILE);
        if !file.is_file() {
            continue;
        }
        let key = (r.manifest.header.experiment.as_str(), r.manifest.header.dataset.as_str());
        if first.get(&key).is_none_or(|(slot, _)| r.manifest.header.seed < slot.manifest.header.seed) {
            let rows: Vec<CurvatureStats> = records::load_csv(&file)?;
            if !rows.is_empty() {
                first.insert(key, (r, rows));
            }
        }
    }
    if first.is_empty() {
        return Ok(String::new());
    }
    let mut s = String::from(
        "Stochastic diagonal Levenberg–Marquardt gives every weight the step η/(μ + h_kk), h_kk its Gauss–Newton curvature estimate, made before each pass. Per parameter tensor: the median h_kk, the share of h_kk below μ (those weights get nearly the largest step η/μ whatever their curvature), and the range of step sizes, in the first and the last pass (the run's `curvature.csv` has every pass).\n\n",
    );
    let sci = |v: f64| format!("{v:.1e}");
    // A share is never rounded to 0 unless it is 0: a few weights at the largest step matter.
    let share = |f: f64| match 100.0 * f {
        0.0 => "0".to_string(),
        p if p < 0.1 => "<0.1%".to_string(),
        p => format!("{p:.1}%"),
    };
    for ((experiment, dataset), (r, curvature)) in first {
        let passes: Vec<usize> = curvature.iter().map(|c| c.epoch).collect();
        let (Some(&p1), Some(&last)) = (passes.iter().min(), passes.iter().max()) else { continue };
        let in_pass = |p: usize| curvature.iter().filter(move |c| c.epoch == p);
        let range = |p: usize| {
            let (lo, hi) = in_pass(p).fold((f64::INFINITY, 0f64), |(lo, hi), c| (lo.min(c.step_min), hi.max(c.step_max)));
            format!("{} to {}", sci(lo), sci(hi))
        };
        let _ = writeln!(s, "**`{experiment}` on {dataset}, seed {}**: step sizes {} in pass {p1}, {} in pass {last}.\n", r.manifest.header.seed, range(p1), range(last));
        let _ = writeln!(s, "| parameter | weights | median h, pass {p1} | h < μ, pass {p1} | steps, pass {p1} | median h, pass {last} | h < μ, pass {last} | steps, pass {last} |");
        let _ = writeln!(s, "|---|---:|---:|---:|---|---:|---:|---|");
        for c in in_pass(p1) {
            let end = in_pass(last).find(|e| e.parameter == c.parameter);
            let cells = |c: Option<&CurvatureStats>| match c {
                Some(c) => format!("{} | {} | {} – {}", sci(c.h_median), share(c.share_below_mu), sci(c.step_min), sci(c.step_max)),
                None => "– | – | –".into(),
            };
            let _ = writeln!(s, "| `{}` | {} | {} | {} |", c.parameter, group_digits(c.count), cells(Some(c)), cells(end));
        }
        s.push('\n');
    }
    Ok(s)
}
