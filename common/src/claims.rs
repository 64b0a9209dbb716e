//! Published claims as data, and the verdict that compares them with runs.
//!
//! A verdict cannot flatter: a number measured under another rule than the paper's (its
//! `rule:`) is never "reproduced", a number far better than published is flagged rather than
//! counted as a reproduction, and every run and trial counts. A run that stopped counts at the
//! metric's worst value; a trial that did not succeed within its budget counts at that budget,
//! which bounds the mean over all trials (its true value lies beyond), so the verdict is what
//! that bound can prove: NOT reproduced when even the bound is beyond the tolerance, "not
//! comparable" when the censored trials could put the mean on either side. A best-of-N claim is
//! judged on the first N seeds; the published number keeps the precision it was printed with.

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
    /// As printed: `"7.40"` (quoted, so YAML keeps the zero) is exact to 0.01, `7.4` to 0.1.
    pub published: Published,
    /// Largest acceptable shortfall, in the metric's units.
    pub tolerance: f64,
    /// Why this tolerance.
    pub tolerance_reason: String,
    /// When a tolerance (or the claim) was set after runs it judges existed: the date, the issue
    /// and what. Absent: fixed before any run. The write-ups list these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_after_runs: Option<String>,
    /// Largest acceptable margin on the better side (default: `tolerance`); beyond it the
    /// verdict is [`Verdict::BetterThanPublished`]. Counts whose tolerance allows twice the
    /// published number flag half of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub better_tolerance: Option<f64>,
    /// Over several seeds, the paper's statistic: the mean (default) or the best run.
    #[serde(default, skip_serializing_if = "Statistic::is_mean")]
    pub statistic: Statistic,
    /// For `statistic: best`, the number of runs the paper took the best of (required): the claim
    /// is judged on the first N seeds; more are shown, never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of: Option<usize>,
    /// The rule the paper measured the number under, as dotted keys of the experiment's recipe
    /// (e.g. `trials: 30`, `stop.kind: window`). A run whose recipe differs on any key gets
    /// [`Verdict::OtherRule`], whatever its number.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rule: BTreeMap<String, Value>,
    /// For a claim answered by evaluating weights (a recipe with `epochs: 0`), the weights that
    /// may answer it; others are recorded but never answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Pedigree>,
}

/// Where the weights that answer an evaluation claim must come from: a complete run of our
/// training recipe `trained_by` (as shipped), or a published file whose SHA-256 begins with
/// one of `sha256` (torchvision names each file by the first 8 hex digits of its SHA-256 and
/// checks downloads against them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pedigree {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sha256: Vec<String>,
    /// Where the published file is, for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Pedigree {
    /// Whether weights with this SHA-256 and training run may answer the claim.
    pub fn accepts(&self, sha256: &str, trained_by: Option<(&str, bool)>) -> bool {
        let published = self.sha256.iter().any(|prefix| sha256.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase()));
        let ours = matches!((self.trained_by.as_deref(), trained_by), (Some(recipe), Some((experiment, true))) if recipe == experiment);
        published || ours
    }

    /// In words, for the write-up: `a complete run of the shipped <recipe>` or `the published file with SHA-256 <prefix>…`.
    pub fn describe(&self) -> String {
        let mut ways = Vec::new();
        if let Some(r) = &self.trained_by {
            ways.push(format!("a complete run of the shipped `{r}`"));
        }
        if !self.sha256.is_empty() {
            ways.push(format!("the published file with SHA-256 {}", self.sha256.iter().map(|h| format!("`{h}…`")).collect::<Vec<_>>().join(" or ")));
        }
        ways.join(", or ")
    }
}

/// A published number as printed: its value and its decimals (`7.40`: two), so "reproduced to the
/// printed precision" means what the paper printed. In a claims file it is a number, or a quoted
/// string where the printed text ends in a zero after the point (YAML would read `7.40` as 7.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Published {
    pub value: f64,
    pub decimals: u32,
}

impl Published {
    /// The number as `text` prints it: `"7.40"` -> 7.4 to two decimals.
    pub fn printed(text: &str) -> Option<Self> {
        let text = text.trim();
        let value: f64 = text.parse().ok().filter(|v: &f64| v.is_finite())?;
        // `1.50e-3` prints 0.00150: the mantissa's decimals less the exponent.
        let (mantissa, exponent) = text.split_once(['e', 'E']).map(|(m, e)| (m, e.parse::<i32>().unwrap_or(0))).unwrap_or((text, 0));
        let decimals = mantissa.split_once('.').map(|(_, d)| d.len() as i32).unwrap_or(0) - exponent;
        Some(Self { value, decimals: decimals.max(0) as u32 })
    }

    /// Half a unit of the last printed digit: what "as good as published" allows.
    pub fn half_unit(&self) -> f64 {
        10f64.powi(-(self.decimals as i32)) / 2.0
    }
}

impl From<f64> for Published {
    /// A number with the decimals of its shortest form (`0.95`: two).
    fn from(value: f64) -> Self {
        Self::printed(&format!("{value}")).unwrap_or(Self { value, decimals: 0 })
    }
}

impl std::fmt::Display for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.*}", self.decimals as usize, self.value)
    }
}

impl Serialize for Published {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if Published::from(self.value) == *self { serializer.serialize_f64(self.value) } else { serializer.serialize_str(&self.to_string()) }
    }
}

impl<'de> Deserialize<'de> for Published {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Number(n) => n.as_f64().filter(|v| v.is_finite()).map(Published::from).ok_or_else(|| serde::de::Error::custom("a published number must be finite")),
            Value::String(s) => Published::printed(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a number"))),
            other => Err(serde::de::Error::custom(format!("a published number, as printed, expected; found {other:?}"))),
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub lower_is_better: bool,
    /// The worst value the metric takes (100 for an error %, infinity for a count): what a run
    /// that stopped counts as.
    pub worst: f64,
}

impl Metric {
    /// Top-1 error on the claim's split.
    pub const TEST_ERROR_PCT: Metric = Metric { name: "test_error_pct", label: "test error %", lower_is_better: true, worst: 100.0 };
    pub const TEST_ACCURACY_PCT: Metric = Metric { name: "test_accuracy_pct", label: "test accuracy %", lower_is_better: false, worst: 0.0 };
    pub const TOP5_ERROR_PCT: Metric = Metric { name: "top5_error_pct", label: "top-5 error %", lower_is_better: true, worst: 100.0 };
    pub const TOP5_ACCURACY_PCT: Metric = Metric { name: "top5_accuracy_pct", label: "top-5 accuracy %", lower_is_better: false, worst: 0.0 };
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
    /// Worse by more than the tolerance (for trials that failed within their budget: even when
    /// each is counted at its budget, the least it can have needed).
    NotReproduced,
    /// Measured under a rule (stop rule, success test, trial count, budget) other than the paper's.
    OtherRule,
    /// The runs cannot decide: trials that failed within their budget could put the mean on
    /// either side of the tolerance, or a best-of-N claim has fewer than N runs. The claim's
    /// row says which.
    NotComparable,
    /// No run on the claim's dataset and split.
    NotRun,
}

/// What each verdict means, for the write-ups.
pub const VERDICT_LEGEND: &str = "Verdicts: **reproduced** (as good as published to its printed precision, and better by no more than the tolerance); **within tolerance** (worse by no more than the tolerance); **better than published** (by more than the tolerance: usually an easier test, so not a reproduction); **NOT reproduced**; **other rule** (the record was measured under a stop rule, success test, trial count or budget other than the paper's); **not comparable** (the runs cannot decide: trials that failed within their budget could put the mean on either side of the tolerance, or a best-of-N claim has fewer than N runs; the row says which); **not run**. Every run and trial counts: a run that stopped (non-finite loss) counts at the metric's worst value, a trial that failed counts at its budget (the least it could have needed, so the mean over all trials is at least that, marked ≥), and a best-of-N claim takes the best of the first N seeds.";

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
        let std = if values.len() > 1 && mean.is_finite() { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        Some(Self { values, mean, std })
    }

    /// `0.93` or `0.93 ± 0.05 (n=3)`.
    pub fn display(&self, decimals: usize) -> String {
        if self.values.len() == 1 { format!("{:.*}", decimals, self.mean) } else { format!("{:.*} ± {:.*} (n={})", decimals, self.mean, decimals, self.std, self.values.len()) }
    }
}

/// What one run, or one trial of a run, contributes to a claim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// The number it measured: a complete run's, a successful trial's.
    Measured(f64),
    /// A trial that did not succeed within its budget (or diverged before it): its number lies
    /// beyond the budget, on the metric's worse side, so it counts at the budget, a bound.
    Censored { budget: f64 },
    /// A run that stopped before its end (a non-finite loss): a failed run, counted at the
    /// metric's worst value.
    Stopped,
}

impl Observation {
    /// The value it counts as in a mean.
    pub fn counted(self, metric: Metric) -> f64 {
        match self {
            Observation::Measured(v) => v,
            Observation::Censored { budget } => budget,
            Observation::Stopped => metric.worst,
        }
    }
}

/// A claim judged on every run and trial that answers it: the verdict, the number it rests on and
/// what the claim's row must say about how it was counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The claim's statistic over what was counted: the mean of every counted value (with
    /// censored trials at their budget, a bound: see `censored`), or the best of the first N runs.
    pub summary: Option<Summary>,
    /// Whether the observations are trials (several per run) rather than runs.
    pub trials: bool,
    /// Observations counted, and of them how many were censored trials and stopped runs.
    pub counted: usize,
    pub censored: usize,
    pub stopped: usize,
    /// The mean over the successful trials alone, when some failed (shown, never judged).
    pub survivors: Option<Summary>,
    /// The Kaplan–Meier median of the censored trials (None when half or more failed).
    pub median: Option<f64>,
    /// For best-of-N: N, and the runs beyond the first N (shown, not used).
    pub best_of: Option<usize>,
    pub unused: usize,
    /// Why the verdict is what it is, in words, where the counting is not plain.
    pub notes: Vec<String>,
}

/// Compares one number (the claim's statistic over its runs) with the published one.
pub fn verdict(claim: &Claim, value: f64) -> Verdict {
    // Positive shortfall = worse than published.
    let shortfall = if claim.metric.lower_is_better() { value - claim.published.value } else { claim.published.value - value };
    if shortfall.is_nan() {
        Verdict::NotReproduced
    } else if shortfall < -claim.better_tolerance.unwrap_or(claim.tolerance) {
        Verdict::BetterThanPublished
    } else if shortfall <= claim.published.half_unit() {
        Verdict::Reproduced
    } else if shortfall <= claim.tolerance {
        Verdict::WithinTolerance
    } else {
        Verdict::NotReproduced
    }
}

/// The worst number the claim accepts: the published one plus (or minus) the tolerance.
pub fn limit(claim: &Claim) -> f64 {
    if claim.metric.lower_is_better() { claim.published.value + claim.tolerance } else { claim.published.value - claim.tolerance }
}

/// The Kaplan–Meier median of trials that end in success (`Measured`, the number it took) or are
/// censored at their budget: the first number by which half of the trials, as estimated, have
/// succeeded. None when fewer than half can be shown to, or for a higher-is-better metric.
pub fn kaplan_meier_median(observations: &[Observation], metric: Metric) -> Option<f64> {
    if !metric.lower_is_better() {
        return None;
    }
    // Successes before censorings at the same number, as the estimator's convention is.
    let mut times: Vec<(f64, bool)> = observations
        .iter()
        .filter_map(|o| match *o {
            Observation::Measured(v) => Some((v, true)),
            Observation::Censored { budget } => Some((budget, false)),
            Observation::Stopped => None,
        })
        .collect();
    times.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut at_risk = times.len() as f64;
    let mut surviving = 1.0;
    let mut i = 0;
    while i < times.len() {
        let t = times[i].0;
        let same: Vec<&(f64, bool)> = times[i..].iter().take_while(|x| x.0 == t).collect();
        let events = same.iter().filter(|x| x.1).count() as f64;
        if events > 0.0 {
            surviving *= 1.0 - events / at_risk;
            if surviving <= 0.5 + 1e-12 {
                return Some(t);
            }
        }
        at_risk -= same.len() as f64;
        i += same.len();
    }
    None
}

/// A number as the claim prints its own: with its decimals, thousands grouped.
pub fn format_like(claim: &Claim, value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "∞".into() } else { "-∞".into() };
    }
    let text = format!("{:.*}", claim.published.decimals as usize, value);
    let (int, frac) = text.split_once('.').map(|(i, f)| (i, Some(f))).unwrap_or((&text, None));
    let (sign, digits) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Judges a claim on every run that answers it: `runs[i]` holds the observations of the i-th run
/// in seed order (one for a run's number, one per trial for a trial count), `run_rules[i]` the
/// rule it ran under (its recipe [`flatten`]ed). Nothing is dropped: a stopped run counts at the
/// metric's worst, a failed trial at its budget (then the mean is a bound and the verdict is
/// what the bound proves), and a best-of-N claim uses the first N runs; a rule other than the
/// paper's makes it [`Verdict::OtherRule`] whatever the number.
pub fn judge(claim: &Claim, runs: &[Vec<Observation>], run_rules: &[BTreeMap<String, Value>]) -> Judgement {
    let all: Vec<Observation> = runs.iter().flatten().copied().collect();
    let mut j = Judgement {
        verdict: Verdict::NotRun,
        summary: None,
        trials: runs.iter().any(|r| r.len() != 1),
        counted: 0,
        censored: 0,
        stopped: 0,
        survivors: None,
        median: None,
        best_of: None,
        unused: 0,
        notes: Vec::new(),
    };
    if all.is_empty() {
        return j;
    }
    let fmt = |v: f64| format_like(claim, v);
    match claim.statistic {
        Statistic::Best => {
            let n = claim.best_of.unwrap_or(runs.len());
            j.best_of = Some(n);
            let used = &runs[..n.min(runs.len())];
            j.unused = runs.len().saturating_sub(n);
            let values: Vec<f64> = used.iter().flatten().map(|o| o.counted(claim.metric)).collect();
            j.counted = values.len();
            j.stopped = used.iter().flatten().filter(|o| matches!(o, Observation::Stopped)).count();
            let best = if claim.metric.lower_is_better() { values.iter().copied().reduce(f64::min) } else { values.iter().copied().reduce(f64::max) };
            j.summary = best.and_then(|b| Summary::of(vec![b]));
            j.verdict = best.map(|b| verdict(claim, b)).unwrap_or(Verdict::NotRun);
            if runs.len() < n {
                j.verdict = Verdict::NotComparable;
                j.notes.push(format!("the paper's number is the best of {n} runs; {} ran, and the best of fewer is another statistic", runs.len()));
            }
            if j.unused > 0 {
                j.notes.push(format!("the best of the first {n} seeds; {} more run(s) shown, not used", j.unused));
            }
            if j.stopped > 0 {
                j.notes.push(format!("{} of the {} runs stopped before their end (a non-finite loss) and count as failed runs", j.stopped, used.len()));
            }
        }
        Statistic::Mean => {
            j.counted = all.len();
            j.censored = all.iter().filter(|o| matches!(o, Observation::Censored { .. })).count();
            j.stopped = all.iter().filter(|o| matches!(o, Observation::Stopped)).count();
            j.summary = Summary::of(all.iter().map(|o| o.counted(claim.metric)).collect());
            let mean = j.summary.as_ref().map(|s| s.mean).unwrap_or(f64::NAN);
            j.verdict = verdict(claim, mean);
            if j.stopped > 0 {
                j.notes.push(format!(
                    "{} of {} runs stopped before their end (a non-finite loss): each counts as a failed run, at the metric's worst ({})",
                    j.stopped,
                    all.len(),
                    fmt(claim.metric.worst)
                ));
            }
            if j.censored > 0 {
                let survivors: Vec<f64> = all.iter().filter_map(|o| if let Observation::Measured(v) = o { Some(*v) } else { None }).collect();
                j.survivors = Summary::of(survivors);
                j.median = kaplan_meier_median(&all, claim.metric);
                let budgets: Vec<f64> = all.iter().filter_map(|o| if let Observation::Censored { budget } = o { Some(*budget) } else { None }).collect();
                let budget = budgets.iter().copied().fold(f64::NAN, f64::max);
                let what = format!("{} of {} trials did not succeed within the budget ({}); counted at it, the mean over all trials is at least {}", j.censored, all.len(), fmt(budget), fmt(mean));
                let survivors = j.survivors.as_ref().map(|s| format!("the mean over the {} that succeeded is {}", s.values.len(), fmt(s.mean))).unwrap_or_else(|| "no trial succeeded".into());
                let median = match j.median {
                    Some(m) => format!("the Kaplan–Meier median {}", fmt(m)),
                    None => format!("the Kaplan–Meier median beyond {}", fmt(budget)),
                };
                if j.verdict == Verdict::NotReproduced {
                    j.notes.push(format!("{what}, beyond the tolerance ({} at most), so NOT reproduced whatever the failed trials would have needed; {survivors}, {median}", fmt(limit(claim))));
                } else {
                    j.verdict = Verdict::NotComparable;
                    j.notes.push(format!(
                        "{what}, which the tolerance ({} at most) allows, but the failed trials could put the mean anywhere above, so the runs cannot decide; {survivors}, {median}",
                        fmt(limit(claim))
                    ));
                }
            }
        }
    }
    let differences: Vec<String> = run_rules.iter().flat_map(|r| rule_differences(claim, r)).collect();
    if !differences.is_empty() {
        j.verdict = Verdict::OtherRule;
    }
    j
}

impl Judgement {
    /// The "ours" cell of a claim's row, saying how it was counted: `6.43 (best of 5)`,
    /// `≥ 49,780 (10 trials, 1 failed at the budget, counted at it)`, `7.12 ± 0.20 (n=5, 1 stopped, counted at 100)`.
    pub fn ours(&self, claim: &Claim) -> String {
        let fmt = |v: f64| format_like(claim, v);
        let Some(s) = &self.summary else { return "–".into() };
        if let Some(n) = self.best_of {
            let mut extra = Vec::new();
            if self.counted < n {
                extra.push(format!("{} of {n} runs", self.counted));
            }
            if self.unused > 0 {
                extra.push(format!("{} more not used", self.unused));
            }
            if self.stopped > 0 {
                extra.push(format!("{} stopped", self.stopped));
            }
            return format!("{} (best of {}{})", fmt(s.mean), n.min(self.counted), extra.iter().map(|e| format!("; {e}")).collect::<String>());
        }
        let unit = if self.trials { " trials" } else { "" };
        if self.censored > 0 {
            let survivors = self.survivors.as_ref().map(|v| format!("; survivors' mean {}", fmt(v.mean))).unwrap_or_default();
            return format!("≥ {} ({} failed of {}{unit}, counted at the budget{survivors})", fmt(s.mean), self.censored, self.counted);
        }
        let spread = if s.values.len() > 1 && s.mean.is_finite() { format!(" ± {} (n={}{unit})", fmt(s.std), s.values.len()) } else { String::new() };
        if self.stopped > 0 {
            return format!("{}{spread}, {} of {} stopped, counted at {}", fmt(s.mean), self.stopped, self.counted, fmt(claim.metric.worst));
        }
        format!("{}{spread}", fmt(s.mean))
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

/// The write-up's sentence on tolerances set after runs existed, one line per claim; empty when
/// every tolerance was fixed before any run.
pub fn set_after_runs_note(claims: &[Claim]) -> String {
    let late: Vec<&Claim> = claims.iter().filter(|c| c.set_after_runs.is_some()).collect();
    if late.is_empty() {
        return "Every tolerance was fixed before any run.\n".into();
    }
    let mut s = format!("Every tolerance was fixed before any run, except these {} claims' (set after runs they judge existed; when and what):\n\n", late.len());
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in late {
        let when = c.set_after_runs.as_deref().unwrap_or_default();
        match groups.iter_mut().find(|(w, _)| *w == when) {
            Some((_, ids)) => ids.push(&c.id),
            None => groups.push((when, vec![&c.id])),
        }
    }
    for (when, ids) in groups {
        s.push_str(&format!("- {when}: {}\n", ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")));
    }
    s
}

/// Parses a paper's claims file, whose metrics are the built-in ones and `paper_metrics`,
/// rejecting unknown keys and metrics, a published number whose printed zero YAML would drop
/// (`published: 7.40` must be written `"7.40"`), and a best-of claim without its N.
pub fn parse_claims(yaml: &str, origin: &str, paper_metrics: &'static [Metric]) -> Result<Vec<Claim>, crate::config::ConfigError> {
    let invalid = |key: String, reason: String| crate::config::ConfigError::Invalid { origin: origin.into(), key, reason };
    for (i, line) in yaml.lines().enumerate() {
        let line = line.split(" #").next().unwrap_or(line);
        let Some(value) = line.trim_start().trim_start_matches('-').trim_start().strip_prefix("published:").map(str::trim) else { continue };
        if value.contains('.') && value.ends_with('0') && value.parse::<f64>().is_ok() {
            return Err(invalid(
                format!("line {} published", i + 1),
                format!("write `published: \"{value}\"`: unquoted, YAML reads {value} as {} and the precision it was printed with is lost", value.parse::<f64>().unwrap_or_default()),
            ));
        }
    }
    let previous = PAPER_METRICS.with(|m| m.replace(paper_metrics));
    let parsed = serde_yaml_ng::from_str::<Vec<Claim>>(yaml);
    PAPER_METRICS.with(|m| m.set(previous));
    let claims = parsed.map_err(|e| crate::config::ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
    for c in &claims {
        match (c.statistic, c.best_of) {
            (Statistic::Best, None) => return Err(invalid(format!("{}.best_of", c.id), "a best-of claim must say of how many runs (`best_of: 5`)".into())),
            (Statistic::Best, Some(0)) => return Err(invalid(format!("{}.best_of", c.id), "must be at least 1".into())),
            (Statistic::Mean, Some(_)) => return Err(invalid(format!("{}.best_of", c.id), "only a `statistic: best` claim takes the best of N runs".into())),
            _ => {}
        }
        if let Some(p) = &c.weights {
            if p.trained_by.is_none() && p.sha256.is_empty() {
                return Err(invalid(format!("{}.weights", c.id), "name the training recipe (`trained_by`) or the published file's SHA-256 (`sha256`)".into()));
            }
            if let Some(bad) = p.sha256.iter().find(|h| h.len() < 8 || !h.chars().all(|c| c.is_ascii_hexdigit())) {
                return Err(invalid(format!("{}.weights.sha256", c.id), format!("`{bad}` is not a SHA-256 (or a prefix of at least 8 hex digits)")));
            }
        }
    }
    Ok(claims)
}
