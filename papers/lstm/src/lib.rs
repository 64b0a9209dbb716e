//! Two LSTM papers in one crate, because "the LSTM paper" means both:
//!
//! - Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*, Neural Computation 9(8): the
//!   original cell ([`net1997`]) and its six experiments on generated data ([`tasks`]), run as
//!   the paper runs them — many independent trials, counted in training sequences ([`trials`]).
//! - Zaremba, Sutskever & Vinyals (2014), *Recurrent Neural Network Regularization*: the
//!   two-layer word-level language model on the Penn Treebank ([`ptb`]).

pub mod net1997;
pub mod paper;
pub mod ptb;
pub mod report;
pub mod tasks;
pub mod trials;

use repro_common::claims::{Claim, parse_claims};

pub use paper::LstmPaper;
pub use trials::TrialsConfig;

pub const ID: &str = "lstm";
pub const CITATION_1997: &str = "S. Hochreiter, J. Schmidhuber. Long Short-Term Memory. Neural Computation 9(8):1735-1780, 1997";
pub const CITATION_2014: &str = "W. Zaremba, I. Sutskever, O. Vinyals. Recurrent Neural Network Regularization. arXiv:1409.2329, 2014";

/// How this implementation departs from the papers (also the write-up's last section).
pub const DEVIATIONS: &str = include_str!("../DEVIATIONS.md");
/// What the study of the paper's open choices found (the write-up's study section).
pub const STUDY: &str = include_str!("../STUDY.md");
/// The write-up's opening.
pub const INTRO: &str = include_str!("../INTRO.md");

const TRIAL_RECIPES: &[(&str, &str)] = &[
    ("exp1-4x1-lr0.1.yaml", include_str!("../experiments/exp1-4x1-lr0.1.yaml")),
    ("exp1-4x1-lr0.5.yaml", include_str!("../experiments/exp1-4x1-lr0.5.yaml")),
    ("exp1-3x2-lr0.1.yaml", include_str!("../experiments/exp1-3x2-lr0.1.yaml")),
    ("exp1-3x2-lr0.2.yaml", include_str!("../experiments/exp1-3x2-lr0.2.yaml")),
    ("exp1-3x2-lr0.5.yaml", include_str!("../experiments/exp1-3x2-lr0.5.yaml")),
    ("exp2a.yaml", include_str!("../experiments/exp2a.yaml")),
    ("exp2b.yaml", include_str!("../experiments/exp2b.yaml")),
    ("exp2c-q50.yaml", include_str!("../experiments/exp2c-q50.yaml")),
    ("exp2c-q100.yaml", include_str!("../experiments/exp2c-q100.yaml")),
    ("exp2c-q200.yaml", include_str!("../experiments/exp2c-q200.yaml")),
    ("exp2c-q500.yaml", include_str!("../experiments/exp2c-q500.yaml")),
    ("exp2c-q1000.yaml", include_str!("../experiments/exp2c-q1000.yaml")),
    ("exp2c-q1000-p500.yaml", include_str!("../experiments/exp2c-q1000-p500.yaml")),
    ("exp2c-q1000-p200.yaml", include_str!("../experiments/exp2c-q1000-p200.yaml")),
    ("exp2c-q1000-p100.yaml", include_str!("../experiments/exp2c-q1000-p100.yaml")),
    ("exp2c-q1000-p50.yaml", include_str!("../experiments/exp2c-q1000-p50.yaml")),
    ("exp3a-t100-n3.yaml", include_str!("../experiments/exp3a-t100-n3.yaml")),
    ("exp3a-t100-n1.yaml", include_str!("../experiments/exp3a-t100-n1.yaml")),
    ("exp3a-t1000-n3.yaml", include_str!("../experiments/exp3a-t1000-n3.yaml")),
    ("exp3b-t100-n3.yaml", include_str!("../experiments/exp3b-t100-n3.yaml")),
    ("exp3b-t100-n1.yaml", include_str!("../experiments/exp3b-t100-n1.yaml")),
    ("exp3b-t1000-n1.yaml", include_str!("../experiments/exp3b-t1000-n1.yaml")),
    ("exp3c-t100-n3.yaml", include_str!("../experiments/exp3c-t100-n3.yaml")),
    ("exp3c-t100-n1.yaml", include_str!("../experiments/exp3c-t100-n1.yaml")),
    ("exp4-t100.yaml", include_str!("../experiments/exp4-t100.yaml")),
    ("exp4-t500.yaml", include_str!("../experiments/exp4-t500.yaml")),
    ("exp4-t1000.yaml", include_str!("../experiments/exp4-t1000.yaml")),
    ("exp5-nseq140.yaml", include_str!("../experiments/exp5-nseq140.yaml")),
    ("exp5-nseq13.yaml", include_str!("../experiments/exp5-nseq13.yaml")),
    ("exp6a.yaml", include_str!("../experiments/exp6a.yaml")),
    ("exp6b.yaml", include_str!("../experiments/exp6b.yaml")),
];

/// The 1997 experiments, in the paper's order.
pub fn trial_experiments() -> Vec<TrialsConfig> {
    TRIAL_RECIPES.iter().map(|(file, text)| TrialsConfig::from_yaml(text, &format!("papers/lstm/experiments/{file}")).unwrap_or_else(|e| panic!("shipped recipe is invalid: {e}"))).collect()
}

pub fn trial_experiment(name: &str) -> Option<TrialsConfig> {
    trial_experiments().into_iter().find(|e| e.name == name)
}

/// The experiments `harness reproduce lstm` runs by default: those that fit a CPU in minutes.
pub const DEFAULT_TRIALS: &[&str] = &["exp1-4x1-lr0.5", "exp1-3x2-lr0.5", "exp4-t100", "exp6a"];

/// What the two papers measure besides an image classifier's error: the metrics of `claims.yaml`.
pub mod metrics {
    use repro_common::claims::Metric;

    /// Share of independent trials that met the experiment's success test.
    pub const SUCCESS_RATE_PCT: Metric = Metric { name: "success_rate_pct", label: "success %", lower_is_better: false, worst: 0.0 };
    /// Mean number of training sequences until the success test was met, over every trial: a
    /// trial that failed counts at its budget (censored).
    pub const SEQUENCES_TO_SUCCESS: Metric = Metric { name: "sequences_to_success", label: "sequences to success", lower_is_better: true, worst: f64::INFINITY };
    /// Exp. 3a/3b: sequences until the first stopping criterion ST1, every trial counted (one
    /// that never met it, at its budget).
    pub const SEQUENCES_TO_ST1: Metric = Metric { name: "sequences_to_st1", label: "sequences to ST1", lower_is_better: true, worst: f64::INFINITY };
    /// Misclassified test sequences after training, mean over every trial.
    pub const TEST_WRONG: Metric = Metric { name: "test_wrong", label: "wrong test sequences", lower_is_better: true, worst: f64::INFINITY };
    /// Exp. 3: the fraction of the final test set misclassified, mean over every trial.
    pub const FRACTION_MISCLASSIFIED: Metric = Metric { name: "fraction_misclassified", label: "fraction misclassified", lower_is_better: true, worst: 1.0 };
    /// Exp. 3c: the mean absolute difference between output and noise-free target on the final
    /// test set, mean over every trial.
    pub const MEAN_ABS_DIFFERENCE: Metric = Metric { name: "mean_abs_difference", label: "av. difference to target", lower_is_better: true, worst: f64::INFINITY };
    /// Exp. 5: the mean squared error on the final test set, mean over every trial.
    pub const TEST_MSE: Metric = Metric { name: "test_mse", label: "test MSE", lower_is_better: true, worst: f64::INFINITY };
    /// Per-word perplexity over a whole split.
    pub const PERPLEXITY: Metric = Metric { name: "perplexity", label: "perplexity", lower_is_better: true, worst: f64::INFINITY };
    pub const ALL: [Metric; 8] = [SUCCESS_RATE_PCT, SEQUENCES_TO_SUCCESS, SEQUENCES_TO_ST1, TEST_WRONG, FRACTION_MISCLASSIFIED, MEAN_ABS_DIFFERENCE, TEST_MSE, PERPLEXITY];
}

/// Both papers' published numbers.
pub fn claims() -> Vec<Claim> {
    parse_claims(include_str!("../claims.yaml"), "papers/lstm/claims.yaml", &metrics::ALL).unwrap_or_else(|e| panic!("shipped claims are invalid: {e}"))
}
