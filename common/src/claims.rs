//! Published claims as data, and the verdict that compares them with runs.
//!
//! A verdict cannot flatter: a number measured under another rule than the paper's (its
//! `rule:`) is never "reproduced", a number far better than published is flagged rather than
//! counted as a reproduction, and a claim that only means something when another one holds
//! (sequences to success, averaged over the successful trials) is not compared when it does not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

/// One number a paper publishes, with the tolerance fixed before anything ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Stable id, e.g. `net-mnist-test-error`.
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
    /// Largest acceptable margin on the better side (default: `tolerance`); beyond it the
    /// verdict is [`Verdict::BetterThanPublished`]. Counts whose tolerance allows twice the
    /// published number flag half of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub better_tolerance: Option<f64>,
    /// Over several seeds, the paper's statistic: the mean (default) or the best run.
    #[serde(default, skip_serializing_if = "Statistic::is_mean")]
    pub statistic: Statistic,
    /// The rule the paper measured the number under, as dotted keys of the experiment's recipe
    /// (e.g. `trials: 30`, `stop.kind: window`). A run whose recipe differs on any key gets
    /// [`Verdict::OtherRule`], whatever its number.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rule: BTreeMap<String, Value>,
    /// Another claim (by id) that must hold for this one to be compared, e.g. the success rate
    /// behind a mean over the successful trials; otherwise [`Verdict::NotComparable`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<String>,
}

/// How a paper summarised several runs.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    #[default]
    Mean,
    /// The best of the runs (a paper's "best (mean ± std)").
    Best,
}

impl Statistic {
    fn is_mean(&self) -> bool {
        *self == Statistic::Mean
    }
}

/// What a claim measures: its name in `claims.yaml`, its label in tables, and which direction is
/// better. The image classifiers' metrics are built in ([`Metric::BUILT_IN`]); a paper that
/// measures something else declares its own and passes them to [`parse_claims`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub lower_is_better: bool,
}

impl Metric {
    /// Top-1 error on the claim's split.
    pub const TEST_ERROR_PCT: Metric = Metric { name: "test_error_pct", label: "test error %", lower_is_better: true };
    pub const TEST_ACCURACY_PCT: Metric = Metric { name: "test_accuracy_pct", label: "test accuracy %", lower_is_better: false };
    pub const TOP5_ERROR_PCT: Metric = Metric { name: "top5_error_pct", label: "top-5 error %", lower_is_better: true };
    pub const TOP5_ACCURACY_PCT: Metric = Metric { name: "top5_accuracy_pct", label: "top-5 accuracy %", lower_is_better: false };
    /// The metrics every claims file may use.
    pub const BUILT_IN: [Metric; 4] = [Metric::TEST_ERROR_PCT, Metric::TEST_ACCURACY_PCT, Metric::TOP5_ERROR_PCT, Metric::TOP5_ACCURACY_PCT];

    pub fn lower_is_better(self) -> bool {
        self.lower_is_better
    }
    pub fn label(self) -> &'static str {
        self.label
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

thread_local! {
    /// The paper's own metrics while [`parse_claims`] reads its file.
    static PAPER_METRICS: std::cell::Cell<&'static [Metric]> = const { std::cell::Cell::new(&[]) };
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let own = PAPER_METRICS.with(|m| m.get());
        Metric::BUILT_IN.iter().chain(own).find(|m| m.name == name).copied().ok_or_else(|| {
            let known: Vec<&str> = Metric::BUILT_IN.iter().chain(own).map(|m| m.name).collect();
            serde::de::Error::custom(format!("unknown metric `{name}`, expected one of {}", known.join(", ")))
        })
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// As good as the published number (to the precision it was printed with), and better by
    /// no more than the tolerance.
    Reproduced,
    /// Worse, but by no more than the tolerance.
    WithinTolerance,
    /// Better than published by more than the tolerance: usually an easier test than the
    /// paper's, so it is not counted as a reproduction.
    BetterThanPublished,
    /// Worse by more than the tolerance.
    NotReproduced,
    /// Measured under a rule (stop rule, success test, trial count) other than the paper's.
    OtherRule,
    /// The claim it requires does not hold, so its number means something else than the
    /// paper's (e.g. a mean over 1 successful trial of 30).
    NotComparable,
    /// No completed run on the claim's dataset and split.
    NotRun,
}

/// What each verdict means, for the write-ups.
pub const VERDICT_LEGEND: &str = "Verdicts: **reproduced** (as good as published to its printed precision, and better by no more than the tolerance); **within tolerance** (worse by no more than the tolerance); **better than published** (by more than the tolerance: usually an easier test, so not a reproduction); **NOT reproduced**; **other rule** (the record was measured under a stop rule, success test or trial count other than the paper's); **not comparable** (a mean over the successful trials, when the success rate it depends on does not hold); **not run**.";

impl Verdict {
    /// Whether the number stands beside the paper's: what a claim's `requires` asks for.
    pub fn holds(self) -> bool {
        matches!(self, Verdict::Reproduced | Verdict::WithinTolerance | Verdict::BetterThanPublished)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Reproduced => "reproduced",
            Verdict::WithinTolerance => "within tolerance",
            Verdict::BetterThanPublished => "better than published",
            Verdict::NotReproduced => "NOT reproduced",
            Verdict::OtherRule => "other rule",
            Verdict::NotComparable => "not comparable",
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

/// Compares a claim's number with the final metric of each run (all seeds of one experiment on
/// the claim's dataset and split). The rule and the requirement are checked by [`judge`].
pub fn verdict(claim: &Claim, runs: Option<&Summary>) -> Verdict {
    let Some(summary) = runs else { return Verdict::NotRun };
    // Positive shortfall = worse than published.
    let shortfall = if claim.metric.lower_is_better() { summary.mean - claim.published } else { claim.published - summary.mean };
    if shortfall < -claim.better_tolerance.unwrap_or(claim.tolerance) {
        Verdict::BetterThanPublished
    } else if shortfall <= printed_precision(claim.published) / 2.0 {
        Verdict::Reproduced
    } else if shortfall <= claim.tolerance {
        Verdict::WithinTolerance
    } else {
        Verdict::NotReproduced
    }
}

/// The verdict of a claim whose runs used the rules in `run_rules` (one per run, each its recipe
/// [`flatten`]ed): [`Verdict::OtherRule`] when any differs from the paper's, else [`verdict`].
pub fn judge(claim: &Claim, runs: Option<&Summary>, run_rules: &[BTreeMap<String, Value>]) -> Verdict {
    match verdict(claim, runs) {
        Verdict::NotRun => Verdict::NotRun,
        _ if run_rules.iter().any(|r| !rule_differences(claim, r).is_empty()) => Verdict::OtherRule,
        v => v,
    }
}

/// Where a run's rule differs from the paper's, one line per key: `stop.window: paper 2000, run 13`.
pub fn rule_differences(claim: &Claim, run_rule: &BTreeMap<String, Value>) -> Vec<String> {
    claim
        .rule
        .iter()
        .filter_map(|(key, paper)| match run_rule.get(key) {
            Some(ours) if same_value(paper, ours) => None,
            Some(ours) => Some(format!("{key}: paper {}, run {}", show(paper), show(ours))),
            None => Some(format!("{key}: paper {}, run has no such setting", show(paper))),
        })
        .collect()
}

/// A claim whose `requires` does not hold becomes [`Verdict::NotComparable`]: also when it has
/// no number of its own because the required claim failed (no trial succeeded, so there is no
/// mean over the successful ones). A claim stays not run while its requirement is not run.
/// `verdicts[i]` belongs to `claims[i]`.
pub fn apply_requirements(claims: &[Claim], verdicts: &mut [Verdict]) {
    let before = verdicts.to_vec();
    for (claim, v) in claims.iter().zip(verdicts.iter_mut()) {
        let Some(required) = &claim.requires else { continue };
        let Some(r) = claims.iter().position(|c| &c.id == required).map(|i| before[i]) else { continue };
        if !r.holds() && (*v != Verdict::NotRun || r != Verdict::NotRun) {
            *v = Verdict::NotComparable;
        }
    }
}

/// A serialisable value (a recipe) as dotted keys to leaves: `stop.kind`, `net.blocks`, …
pub fn flatten(value: &impl Serialize) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m {
                    let key = match &k {
                        Value::String(s) => s.clone(),
                        other => show(other),
                    };
                    walk(&if prefix.is_empty() { key } else { format!("{prefix}.{key}") }, v, out);
                }
            }
            Value::Tagged(t) => walk(prefix, t.value, out),
            leaf => {
                out.insert(prefix.to_string(), leaf);
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(v) = serde_yaml_ng::to_value(value) {
        walk("", v, &mut out);
    }
    out
}

/// Numbers compare by value (`30` = `30.0`), everything else as written.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other).map(|s| s.trim_end().to_string()).unwrap_or_default(),
    }
}

/// Parses a paper's claims file, whose metrics are the built-in ones and `paper_metrics`,
/// rejecting unknown keys and metrics and a `requires` that names no claim.
pub fn parse_claims(yaml: &str, origin: &str, paper_metrics: &'static [Metric]) -> Result<Vec<Claim>, crate::config::ConfigError> {
    let previous = PAPER_METRICS.with(|m| m.replace(paper_metrics));
    let parsed = serde_yaml_ng::from_str::<Vec<Claim>>(yaml);
    PAPER_METRICS.with(|m| m.set(previous));
    let claims = parsed.map_err(|e| crate::config::ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
    for c in &claims {
        if let Some(r) = &c.requires
            && !claims.iter().any(|o| &o.id == r)
        {
            return Err(crate::config::ConfigError::Invalid { origin: origin.into(), key: format!("{}.requires", c.id), reason: format!("names no claim in this file: `{r}`") });
        }
    }
    Ok(claims)
}
