//! Published claims as data, and the verdict that compares them with runs.

use serde::{Deserialize, Serialize};

/// One number a paper publishes, with the tolerance fixed before anything ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Stable id, e.g. `lenet5-mnist-test-error`.
    pub id: String,
    /// Short citation: authors, year, venue.
    pub paper: String,
    /// Table, figure or section holding the number.
    pub source: String,
    /// What the number is, in words.
    pub description: String,
    /// Experiment whose runs answer this claim.
    pub experiment: String,
    pub dataset: String,
    pub split: String,
    /// What is measured, and which direction is better (see [`Metric`]).
    pub metric: Metric,
    pub published: f64,
    /// Largest acceptable shortfall, in the metric's units.
    pub tolerance: f64,
    /// Why this tolerance.
    pub tolerance_reason: String,
    /// Over several seeds, the paper's statistic: the mean (default) or the best run.
    #[serde(default, skip_serializing_if = "Statistic::is_mean")]
    pub statistic: Statistic,
}

/// How a paper summarised several runs.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    #[default]
    Mean,
    /// The best of the runs (He et al.'s ResNet-110 "best (mean ± std)").
    Best,
}

impl Statistic {
    fn is_mean(&self) -> bool {
        *self == Statistic::Mean
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Top-1 error on the claim's split.
    TestErrorPct,
    TestAccuracyPct,
    Top5ErrorPct,
    Top5AccuracyPct,
    /// Share of independent trials that met the experiment's success test (higher is better).
    SuccessRatePct,
    /// Mean number of training sequences until the success test was met, over the successful
    /// trials (lower is better).
    SequencesToSuccess,
    /// Misclassified test sequences (lower is better).
    TestWrong,
    /// Per-word perplexity over a whole split (lower is better).
    Perplexity,
}

impl Metric {
    pub fn lower_is_better(self) -> bool {
        !matches!(self, Metric::TestAccuracyPct | Metric::Top5AccuracyPct | Metric::SuccessRatePct)
    }
    pub fn label(self) -> &'static str {
        match self {
            Metric::TestErrorPct => "test error %",
            Metric::TestAccuracyPct => "test accuracy %",
            Metric::Top5ErrorPct => "top-5 error %",
            Metric::Top5AccuracyPct => "top-5 accuracy %",
            Metric::SuccessRatePct => "success %",
            Metric::SequencesToSuccess => "sequences to success",
            Metric::TestWrong => "wrong test sequences",
            Metric::Perplexity => "perplexity",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// At least as good as the published number (to the precision it was printed with).
    Reproduced,
    /// Worse, but by no more than the tolerance.
    WithinTolerance,
    /// Worse by more than the tolerance.
    NotReproduced,
    /// No completed run on the claim's dataset and split.
    NotRun,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Reproduced => "reproduced",
            Verdict::WithinTolerance => "within tolerance",
            Verdict::NotReproduced => "NOT reproduced",
            Verdict::NotRun => "not run",
        })
    }
}

/// Mean and sample standard deviation over seeds; every value kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub values: Vec<f64>,
    pub mean: f64,
    pub std: f64,
}

impl Summary {
    pub fn of(values: Vec<f64>) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = if values.len() > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        Some(Self { values, mean, std })
    }

    /// `0.93` or `0.93 ± 0.05 (n=3)`.
    pub fn display(&self, decimals: usize) -> String {
        if self.values.len() == 1 { format!("{:.*}", decimals, self.mean) } else { format!("{:.*} ± {:.*} (n={})", decimals, self.mean, decimals, self.std, self.values.len()) }
    }
}

/// The precision a number was printed with: 0.95 -> 0.01, 0.8 -> 0.1.
pub fn printed_precision(value: f64) -> f64 {
    let text = format!("{value}");
    let decimals = text.split_once('.').map(|(_, d)| d.len()).unwrap_or(0);
    10f64.powi(-(decimals as i32))
}

/// Compares a claim with the final metric of each run (all seeds of one experiment on the
/// claim's dataset and split).
pub fn verdict(claim: &Claim, runs: Option<&Summary>) -> Verdict {
    let Some(summary) = runs else { return Verdict::NotRun };
    // Positive shortfall = worse than published.
    let shortfall = if claim.metric.lower_is_better() { summary.mean - claim.published } else { claim.published - summary.mean };
    if shortfall <= printed_precision(claim.published) / 2.0 {
        Verdict::Reproduced
    } else if shortfall <= claim.tolerance {
        Verdict::WithinTolerance
    } else {
        Verdict::NotReproduced
    }
}

/// Parses a paper's claims file, rejecting unknown keys.
pub fn parse_claims(yaml: &str, origin: &str) -> Result<Vec<Claim>, crate::config::ConfigError> {
    serde_yaml_ng::from_str(yaml).map_err(|e| crate::config::ConfigError::Parse { origin: origin.into(), message: e.to_string() })
}
