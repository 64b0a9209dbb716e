//! The 1997 experiments as the paper runs them: N independent trials, each a freshly initialised
//! net trained on-line on generated sequences until its success test or a budget; the result is
//! the success rate and the number of training sequences, per trial and averaged.
//!
//! Trials run side by side on worker threads, each with its own weights and its own random
//! streams derived from `(seed, trial)`, so the numbers do not depend on the thread count.
//! `trials.csv` is rewritten (atomically) as each trial ends, and `--resume` skips the trials
//! already there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use repro_common::config::ConfigError;
use repro_common::records::{self, Manifest, ManifestBody, RecordError, RunHeader};
use serde::{Deserialize, Serialize};

use crate::net1997::{Gradient, Net, NetSpec, Sequence, Weights};
use crate::tasks::{self, Task};

/// One experiment of the 1997 paper: task, net, learning rule, stopping and success tests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrialsConfig {
    /// Experiment id (e.g. `exp1-4x1`).
    pub name: String,
    pub paper: String,
    pub description: String,
    /// Where the paper reports it (e.g. `§5.1, Table 1`).
    pub table: String,
    pub task: Task,
    pub net: NetSpec,
    /// The weight count the paper states for this net (checked against [`NetSpec::weight_count`]).
    pub paper_weights: Option<usize>,
    pub learning_rate: f64,
    #[serde(default)]
    pub gradient: Gradient,
    /// `sequence`: one update per sequence (gradients summed over its steps); `step`: the
    /// paper's real-time learning, an update at every step with a target (truncated gradient only).
    #[serde(default)]
    pub update: Update,
    pub trials: usize,
    /// Exp. 2a/2b's sequential construction: start without the memory cells and add them "once
    /// the error has stopped decreasing" (§5.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_cells: Option<Plateau>,
    /// Base seed; trial `i` draws its weights and data from streams derived from (seed, i).
    pub seed: u64,
    /// A trial that has not met its success test after this many sequences failed.
    pub max_sequences: u64,
    pub stop: StopRule,
    /// Where each choice comes from: a section of the paper, or why we chose it.
    pub sources: BTreeMap<String, String>,
}

/// When the error has stopped decreasing: the mean error E over a block of `block` sequences is
/// less than `min_decrease` (a fraction) below the previous block's.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Plateau {
    pub block: u64,
    pub min_decrease: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    #[default]
    Sequence,
    Step,
}

/// When a trial has succeeded, and how it is tested afterwards.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
pub enum StopRule {
    /// Exp. 1: every symbol of every training and every test string predicted correctly, by
    /// `symbol_test`. The full check runs once the last `window` training strings were predicted
    /// correctly on-line.
    AllStringsCorrect { window: u64, symbol_test: SymbolTest },
    /// Exp. 2, 4, 5, 6: among the `window` most recent training sequences, fewer than
    /// `fewer_wrong_than` had a judged output `max_abs_error` or more away, and (when set) their
    /// mean error E (Eq. 16: Σ_k (d_k − y_k)² over the sequence's target steps) is below
    /// `mean_error_below`. The count of sequences to success ends with the window
    /// (`counts_window: true`) or stops where it began (exp. 2: "after training, during 10,000
    /// successive … sequences", with means below 10,000). Then `test_sequences` fresh sequences
    /// are counted wrong or right with the same threshold.
    Window { window: u64, max_abs_error: f64, fewer_wrong_than: u64, mean_error_below: Option<f64>, counts_window: bool, test_sequences: usize },
    /// Exp. 3: every `every` sequences, test on the trial's `test_sequences` sequences (drawn
    /// once). ST1: fewer than `fewer_wrong_than` are misclassified (|error| ≥ `max_abs_error`
    /// against the noise-free target); ST2: ST1 and a mean absolute error below
    /// `st2_mean_abs_error`. Training stops at ST2; then `final_test_sequences` others give the
    /// fraction misclassified.
    PeriodicTest { every: u64, test_sequences: usize, max_abs_error: f64, fewer_wrong_than: u64, st2_mean_abs_error: f64, final_test_sequences: usize },
}

/// When a predicted Reber symbol counts as correct (exp. 1).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SymbolTest {
    /// §5.1's words: "the most active output units correspond to the possible next symbols":
    /// at every step, each legal next symbol's unit is more active than every other unit.
    MostActive,
    /// Stricter: every output unit on the right side of 0.5 (legal symbols above, others below).
    Threshold,
}

impl TrialsConfig {
    /// The fewest sequences a trial that did not succeed within the budget could have needed,
    /// as the recipe counts them: the budget, less the window when the count stops where the
    /// window began (exp. 2). A failed trial is censored there.
    pub fn censored_at(&self) -> u64 {
        match self.stop {
            StopRule::Window { window, counts_window: false, .. } => self.max_sequences.saturating_sub(window),
            _ => self.max_sequences,
        }
    }

    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
        config.validate(origin)?;
        Ok(config)
    }

    pub fn with_overrides(&self, assignments: &[String]) -> Result<Self, ConfigError> {
        let c = repro_common::config::apply_overrides(self, assignments)?;
        c.validate("after --set")?;
        Ok(c)
    }

    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| Err(ConfigError::Invalid { origin: origin.into(), key: key.into(), reason });
        if let Err(e) = self.net.validate() {
            return invalid(&format!("net.{}", e.key), e.reason);
        }
        if let Err(reason) = self.task.validate() {
            return invalid("task", reason);
        }
        let (n_in, n_out) = self.task.dims();
        if (self.net.inputs, self.net.outputs) != (n_in, n_out) {
            return invalid("net.inputs/outputs", format!("are {}/{} but the task has {n_in} inputs and {n_out} outputs", self.net.inputs, self.net.outputs));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid("learning_rate", "must be a positive number".into());
        }
        if self.update == Update::Step && self.gradient == Gradient::Full {
            return invalid("update", "`step` (real-time learning) computes the truncated gradient only; use update: sequence with gradient: full".into());
        }
        if self.trials == 0 {
            return invalid("trials", "must be at least 1".into());
        }
        if let Some(p) = self.add_cells
            && (p.block == 0 || !(0.0..1.0).contains(&p.min_decrease))
        {
            return invalid("add_cells", "needs block >= 1 and 0 <= min_decrease < 1".into());
        }
        match &self.stop {
            StopRule::Window { window, test_sequences, .. } if *window == 0 || *test_sequences == 0 => return invalid("stop", "window and test_sequences must be at least 1".into()),
            StopRule::PeriodicTest { every, test_sequences, final_test_sequences, .. } if *every == 0 || *test_sequences == 0 || *final_test_sequences == 0 => {
                return invalid("stop", "every, test_sequences and final_test_sequences must be at least 1".into());
            }
            StopRule::AllStringsCorrect { window, .. } if *window == 0 => return invalid("stop.window", "must be at least 1".into()),
            _ => {}
        }
        if self.max_sequences == 0 {
            return invalid("max_sequences", "must be at least 1".into());
        }
        if matches!(self.stop, StopRule::AllStringsCorrect { .. }) != matches!(self.task, Task::EmbeddedReber { .. }) {
            return invalid("stop", "all_strings_correct goes with the embedded_reber task, and only with it".into());
        }
        Ok(())
    }
}

/// What one trial did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrialResult {
    pub trial: usize,
    pub success: bool,
    /// Training sequences until success (or until the budget ran out, or the run diverged).
    pub sequences: u64,
    /// Exp. 3 only: sequences until the first stopping criterion ST1.
    pub st1_sequences: Option<u64>,
    /// Test sequences (or strings) judged wrong after training, and how many were tested.
    pub test_wrong: u64,
    pub test_total: u64,
    pub test_mse: f64,
    /// The mean absolute difference between output and (noise-free) target over the test set
    /// (exp. 3c's "av. difference"); records made before it was kept have none.
    #[serde(default)]
    pub test_mae: Option<f64>,
    pub time_s: f64,
    /// Time steps processed in training (for throughput).
    pub steps: u64,
    pub note: String,
}

/// Mean and spread over trials, the paper's way.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrialsSummary {
    pub trials: usize,
    pub successes: usize,
    pub success_rate_pct: f64,
    /// Over the successful trials.
    pub mean_sequences: Option<f64>,
    pub std_sequences: Option<f64>,
    pub min_sequences: Option<u64>,
    pub max_sequences: Option<u64>,
    pub mean_test_wrong: f64,
    pub mean_test_mse: f64,
    pub test_total: u64,
    pub mean_st1_sequences: Option<f64>,
    pub sequences_per_s: f64,
    pub steps_per_s: f64,
}

impl TrialsSummary {
    pub fn of(results: &[TrialResult], wall_s: f64) -> Self {
        let n = results.len();
        let ok: Vec<f64> = results.iter().filter(|r| r.success).map(|r| r.sequences as f64).collect();
        let summary = repro_common::claims::Summary::of(ok.clone());
        let st1: Vec<f64> = results.iter().filter_map(|r| r.st1_sequences).map(|s| s as f64).collect();
        let total_seq: u64 = results.iter().map(|r| r.sequences).sum();
        let total_steps: u64 = results.iter().map(|r| r.steps).sum();
        let mean = |v: &mut dyn Iterator<Item = f64>| {
            let v: Vec<f64> = v.collect();
            if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 }
        };
        Self {
            trials: n,
            successes: ok.len(),
            success_rate_pct: if n == 0 { 0.0 } else { 100.0 * ok.len() as f64 / n as f64 },
            mean_sequences: summary.as_ref().map(|s| s.mean),
            std_sequences: summary.as_ref().map(|s| s.std),
            min_sequences: results.iter().filter(|r| r.success).map(|r| r.sequences).min(),
            max_sequences: results.iter().filter(|r| r.success).map(|r| r.sequences).max(),
            mean_test_wrong: mean(&mut results.iter().filter(|r| r.success).map(|r| r.test_wrong as f64)),
            mean_test_mse: mean(&mut results.iter().filter(|r| r.success).map(|r| r.test_mse)),
            test_total: results.first().map(|r| r.test_total).unwrap_or(0),
            mean_st1_sequences: (!st1.is_empty()).then(|| st1.iter().sum::<f64>() / st1.len() as f64),
            sequences_per_s: if wall_s > 0.0 { total_seq as f64 / wall_s } else { 0.0 },
            steps_per_s: if wall_s > 0.0 { total_steps as f64 / wall_s } else { 0.0 },
        }
    }
}

/// `results/lstm/<experiment>/generated/<run>/manifest.yaml`: the shared header, then this body.
pub type TrialsManifest = Manifest<TrialsRun>;

/// The dataset name of trial runs: their data are generated from the seed, no files are read.
pub const GENERATED: &str = "generated";

/// What a run of trials records beside the shared header.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrialsRun {
    /// Where the data come from (`papers/lstm/src/tasks.rs`, from the seed).
    pub data: String,
    pub threads: usize,
    pub summary: Option<TrialsSummary>,
    pub config: TrialsConfig,
}

impl ManifestBody for TrialsRun {
    /// Records made before the shared header have no `dataset` key.
    fn upgrade(manifest: &mut serde_yaml_ng::Mapping) {
        if !manifest.contains_key("dataset") {
            manifest.insert("dataset".into(), GENERATED.into());
        }
    }
}

/// Whether the record in `run_dir` is a run of trials (and not a PTB run), read from its header,
/// so a run killed before its first trial (no `trials.csv` yet) still reads as one.
pub fn is_trials_record(run_dir: &Path) -> Result<bool, RecordError> {
    let identity = records::RunIdentity::load(run_dir)?;
    Ok(identity.dataset.is_none_or(|d| d == GENERATED))
}

pub fn save_trials(run_dir: &Path, rows: &[TrialResult]) -> Result<(), RecordError> {
    records::save_csv(&run_dir.join("trials.csv"), rows)
}

pub fn load_trials(run_dir: &Path) -> Result<Vec<TrialResult>, RecordError> {
    records::load_csv(&run_dir.join("trials.csv"))
}

/// The random streams of one trial: weights, training data, test data.
fn trial_rng(seed: u64, trial: usize, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(trial as u64 * 4 + stream);
    rng
}

/// The trial's fixed training and test sets, where the task has them (exp. 1), else its test
/// set, and the set the stopping test uses (exp. 3; exp. 1: the training strings with the
/// legal next symbols as targets, index for index).
struct TrialData {
    train_pool: Option<Vec<Sequence>>,
    stop_set: Vec<Sequence>,
    test: Vec<Sequence>,
}

/// Exp. 1: the (training, test) strings of trial `trial`'s data set, `trial mod data_sets`; the
/// test strings are others than the training strings (§5.1).
pub fn reber_data_set(config: &TrialsConfig, trial: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let Task::EmbeddedReber { train_strings, test_strings, data_sets, .. } = config.task else { return (vec![], vec![]) };
    // The data set's own streams: trials on one data set share it.
    let set = trial % data_sets;
    let mut pool_rng = trial_rng(config.seed, set, 3);
    let mut test_rng = trial_rng(config.seed, set, 2);
    let train: Vec<Vec<u8>> = (0..train_strings).map(|_| tasks::embedded_reber_string(&mut pool_rng)).collect();
    let seen: std::collections::HashSet<&Vec<u8>> = train.iter().collect();
    let mut test = Vec::with_capacity(test_strings);
    while test.len() < test_strings {
        let s = tasks::embedded_reber_string(&mut test_rng);
        if !seen.contains(&s) {
            test.push(s);
        }
    }
    (train, test)
}

fn trial_data(config: &TrialsConfig, trial: usize) -> TrialData {
    let mut test_rng = trial_rng(config.seed, trial, 2);
    match (&config.task, &config.stop) {
        (Task::EmbeddedReber { targets, .. }, _) => {
            let (train, test) = reber_data_set(config, trial);
            TrialData {
                train_pool: Some(train.iter().map(|s| tasks::reber_sequence_with(s, *targets)).collect()),
                // The same strings with the legal next symbols, which the success test reads.
                stop_set: train.iter().map(|s| tasks::reber_sequence(s)).collect(),
                test: test.iter().map(|s| tasks::reber_sequence(s)).collect(),
            }
        }
        (task, StopRule::Window { test_sequences, .. }) => TrialData { train_pool: None, stop_set: vec![], test: (0..*test_sequences).map(|_| task.sample_test(&mut test_rng)).collect() },
        (task, StopRule::PeriodicTest { test_sequences, final_test_sequences, .. }) => {
            let mut final_rng = trial_rng(config.seed, trial, 3);
            TrialData {
                train_pool: None,
                stop_set: (0..*test_sequences).map(|_| task.sample_test(&mut test_rng)).collect(),
                test: (0..*final_test_sequences).map(|_| task.sample_test(&mut final_rng)).collect(),
            }
        }
        (_, StopRule::AllStringsCorrect { .. }) => unreachable!("validated: all_strings_correct goes with embedded_reber"),
    }
}

/// Whether the last forward sequence predicted every Reber symbol correctly.
fn symbols_correct(net: &Net, seq: &Sequence, test: SymbolTest) -> bool {
    let n_out = net.spec.outputs;
    (0..seq.len).filter(|&t| seq.has_target[t]).all(|t| symbol_correct(net.trace.output(t, n_out), &seq.targets[t * n_out..(t + 1) * n_out], test))
}

/// One step of exp. 1: `target` marks the legal next symbols with 1.
pub fn symbol_correct(out: &[f64], target: &[f64], test: SymbolTest) -> bool {
    match test {
        SymbolTest::Threshold => out.iter().zip(target).all(|(y, d)| (y - d).abs() < 0.5),
        SymbolTest::MostActive => {
            let legal_min = out.iter().zip(target).filter(|(_, d)| **d == 1.0).map(|(y, _)| *y).fold(f64::INFINITY, f64::min);
            let other_max = out.iter().zip(target).filter(|(_, d)| **d != 1.0).map(|(y, _)| *y).fold(f64::NEG_INFINITY, f64::max);
            legal_min > other_max
        }
    }
}

/// The `window` most recent training sequences (exp. 2, 4, 5, 6): how many were wrong and their
/// mean error E, and whether the stopping rule is met.
pub struct RecentSequences {
    window: u64,
    fewer_wrong_than: u64,
    mean_error_below: Option<f64>,
    recent: std::collections::VecDeque<(f64, bool)>,
    sum: f64,
    wrong: u64,
}

impl RecentSequences {
    pub fn new(window: u64, fewer_wrong_than: u64, mean_error_below: Option<f64>) -> Self {
        Self { window, fewer_wrong_than, mean_error_below, recent: Default::default(), sum: 0.0, wrong: 0 }
    }

    /// Adds one training sequence (its error E and whether it was wrong); true when, over the
    /// last `window` (and only once that many were seen), fewer than `fewer_wrong_than` were
    /// wrong and (when set) the mean E is below `mean_error_below`.
    pub fn push(&mut self, error: f64, wrong: bool) -> bool {
        self.recent.push_back((error, wrong));
        self.sum += error;
        self.wrong += u64::from(wrong);
        if self.recent.len() as u64 > self.window {
            let (old_error, old_wrong) = self.recent.pop_front().unwrap_or_default();
            self.sum -= old_error;
            self.wrong -= u64::from(old_wrong);
        }
        let full = self.recent.len() as u64 >= self.window;
        full && self.wrong < self.fewer_wrong_than && self.mean_error_below.is_none_or(|limit| self.sum / (self.window as f64) < limit)
    }
}

/// How a test sequence is judged wrong: any target output `max_abs_error` or more away, or a
/// Reber symbol mispredicted.
#[derive(Clone, Copy)]
enum Judge {
    AbsError(f64),
    Symbols(SymbolTest),
}

/// Counts wrong test sequences; returns (wrong, mean squared error, mean absolute error).
fn test_set(net: &mut Net, set: &[Sequence], judge: Judge) -> (u64, f64, f64) {
    let (mut wrong, mut sq, mut abs, mut n) = (0, 0.0, 0.0, 0usize);
    for seq in set {
        net.forward(seq);
        let (max, s, k) = net.last_errors(seq);
        let is_wrong = match judge {
            // A NaN error (a diverged net) is wrong, never right.
            Judge::AbsError(limit) => max.is_nan() || max >= limit,
            Judge::Symbols(test) => !symbols_correct(net, seq, test),
        };
        if is_wrong {
            wrong += 1;
        }
        sq += s;
        n += k;
        let n_out = net.spec.outputs;
        abs += (0..seq.len).filter(|&t| seq.has_target[t]).map(|t| (0..n_out).map(|o| (net.trace.output(t, n_out)[o] - seq.targets[t * n_out + o]).abs()).sum::<f64>()).sum::<f64>();
    }
    let n = n.max(1) as f64;
    (wrong, sq / n, abs / n)
}

/// Shared counters for the progress line.
#[derive(Default)]
pub struct Progress {
    pub sequences: AtomicU64,
    pub finished: AtomicUsize,
}

/// Runs one trial to success or budget.
pub fn run_trial(config: &TrialsConfig, trial: usize, progress: &Progress) -> TrialResult {
    let start = Instant::now();
    let mut init_rng = trial_rng(config.seed, trial, 0);
    let mut rng = trial_rng(config.seed, trial, 1);
    let mut net = Net::new(config.net.clone(), Weights::init(&config.net, &mut init_rng));
    let data = trial_data(config, trial);
    let lr = config.learning_rate;
    // Sequential construction: (this block's summed error, the previous block's mean).
    let mut plateau = config.add_cells.map(|p| (p, 0.0, f64::INFINITY));
    if plateau.is_some() {
        net.hold_back_cells();
    }
    let mut result = TrialResult {
        trial,
        success: false,
        sequences: 0,
        st1_sequences: None,
        test_wrong: 0,
        test_total: data.test.len() as u64,
        test_mse: f64::NAN,
        test_mae: None,
        time_s: 0.0,
        steps: 0,
        note: String::new(),
    };
    let mut streak = 0u64;
    let mut recent = match &config.stop {
        StopRule::Window { window, fewer_wrong_than, mean_error_below, .. } => Some(RecentSequences::new(*window, *fewer_wrong_than, *mean_error_below)),
        _ => None,
    };
    let mut fresh;
    for n in 1..=config.max_sequences {
        let mut pick = 0;
        let seq: &Sequence = match &data.train_pool {
            Some(pool) => {
                pick = rng.random_range(0..pool.len());
                &pool[pick]
            }
            None => {
                fresh = config.task.sample(&mut rng);
                &fresh
            }
        };
        let (max_err, sq, _) = match config.update {
            Update::Sequence => {
                net.forward(seq);
                let e = net.last_errors(seq);
                net.backward(seq, config.gradient);
                net.apply(lr);
                e
            }
            Update::Step => {
                net.realtime(seq, Some(lr));
                net.last_errors(seq)
            }
        };
        result.sequences = n;
        result.steps += seq.len as u64;
        if let Some((rule, sum, previous)) = plateau.as_mut() {
            *sum += sq;
            if n % rule.block == 0 {
                let mean = *sum / rule.block as f64;
                if mean >= *previous * (1.0 - rule.min_decrease) {
                    net.add_cells();
                    result.note = format!("cells added after {n} sequences");
                    plateau = None;
                } else {
                    (*sum, *previous) = (0.0, mean);
                }
            }
        }
        if n % 1024 == 0 {
            progress.sequences.fetch_add(1024, Ordering::Relaxed);
            if !net.weights.flat().iter().all(|w| w.is_finite()) {
                result.note = format!("weights became non-finite after {n} sequences");
                break;
            }
        }
        match &config.stop {
            StopRule::AllStringsCorrect { window, symbol_test } => {
                streak = if symbols_correct(&net, &data.stop_set[pick], *symbol_test) { streak + 1 } else { 0 };
                if streak >= *window {
                    let (train_wrong, _, _) = test_set(&mut net, &data.stop_set, Judge::Symbols(*symbol_test));
                    let (test_wrong, mse, _) = test_set(&mut net, &data.test, Judge::Symbols(*symbol_test));
                    if train_wrong == 0 && test_wrong == 0 {
                        result.success = true;
                        result.test_wrong = 0;
                        result.test_mse = mse;
                        break;
                    }
                    streak = 0;
                }
            }
            StopRule::Window { window, max_abs_error, counts_window, .. } => {
                let met = recent.as_mut().is_some_and(|r| r.push(sq, max_err.is_nan() || max_err >= *max_abs_error));
                if met {
                    result.success = true;
                    if !counts_window {
                        result.sequences = n - window;
                    }
                    break;
                }
            }
            StopRule::PeriodicTest { every, max_abs_error, fewer_wrong_than, st2_mean_abs_error, .. } => {
                if n % every == 0 {
                    let (wrong, _, mae) = test_set(&mut net, &data.stop_set, Judge::AbsError(*max_abs_error));
                    if wrong < *fewer_wrong_than {
                        result.st1_sequences.get_or_insert(n);
                        if mae < *st2_mean_abs_error {
                            result.success = true;
                            break;
                        }
                    }
                }
            }
        }
    }
    progress.sequences.fetch_add(result.sequences % 1024, Ordering::Relaxed);
    // Final test of the trained net.
    match &config.stop {
        StopRule::AllStringsCorrect { symbol_test, .. } if !result.success => {
            let (wrong, mse, mae) = test_set(&mut net, &data.test, Judge::Symbols(*symbol_test));
            result.test_wrong = wrong;
            result.test_mse = mse;
            result.test_mae = Some(mae);
        }
        StopRule::AllStringsCorrect { .. } => {}
        StopRule::Window { max_abs_error, .. } | StopRule::PeriodicTest { max_abs_error, .. } => {
            let (wrong, mse, mae) = test_set(&mut net, &data.test, Judge::AbsError(*max_abs_error));
            result.test_wrong = wrong;
            result.test_mse = mse;
            result.test_mae = Some(mae);
        }
    }
    if !result.success {
        let budget = format!("no success within {} sequences", config.max_sequences);
        result.note = if result.note.is_empty() { budget } else { format!("{}; {budget}", result.note) };
    }
    result.time_s = start.elapsed().as_secs_f64();
    progress.finished.fetch_add(1, Ordering::Relaxed);
    result
}

/// Runs the trials not in `done` on `threads` workers; `on_result` sees each as it ends (in
/// completion order) and the returned list is sorted by trial.
pub fn run_trials(config: &TrialsConfig, done: Vec<TrialResult>, threads: usize, progress: &Progress, on_result: &(dyn Fn(&[TrialResult]) + Sync)) -> Vec<TrialResult> {
    let todo: Vec<usize> = (0..config.trials).filter(|t| !done.iter().any(|r| r.trial == *t)).collect();
    let results = Mutex::new(done);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(todo.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&trial) = todo.get(i) else { break };
                    let r = run_trial(config, trial, progress);
                    let mut all = results.lock().expect("no worker panics while holding the lock");
                    all.push(r);
                    all.sort_by_key(|r| r.trial);
                    on_result(&all);
                }
            });
        }
    });
    results.into_inner().expect("workers finished")
}

/// How a trials run is started.
pub struct TrialsSpec<'a> {
    pub config: &'a TrialsConfig,
    pub run_dir: PathBuf,
    pub resume: bool,
    pub threads: usize,
    pub command: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TrialsError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("cannot resume {path}: its recipe differs from the one requested now (compare its manifest.yaml)")]
    RecipeChanged { path: PathBuf },
}

/// Runs (or resumes) an experiment's trials and writes its records.
pub fn run(spec: TrialsSpec<'_>) -> Result<TrialsManifest, TrialsError> {
    let config = spec.config;
    let started = Instant::now();
    let (mut manifest, done) = if spec.resume {
        let m = TrialsManifest::load(&spec.run_dir)?;
        if &m.body.config != config {
            return Err(TrialsError::RecipeChanged { path: spec.run_dir.clone() });
        }
        let done = if spec.run_dir.join("trials.csv").is_file() { load_trials(&spec.run_dir)? } else { vec![] };
        (m, done)
    } else {
        let m = TrialsManifest {
            header: RunHeader::start(&config.paper, &config.name, GENERATED, config.seed, &spec.run_dir, &spec.command),
            body: TrialsRun { data: "generated from the seed by papers/lstm/src/tasks.rs".into(), threads: spec.threads, summary: None, config: config.clone() },
        };
        m.save(&spec.run_dir)?;
        (m, vec![])
    };
    let previous_wall = manifest.header.wall_time_s;
    let progress = Progress::default();
    let bar = repro_common::progress::bar(config.trials as u64, &config.name);
    bar.set_position(done.len() as u64);
    let write_error: Mutex<Option<RecordError>> = Mutex::new(None);
    let dir = spec.run_dir.clone();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let results = std::thread::scope(|scope| {
        let ticker = scope.spawn(|| {
            let t0 = Instant::now();
            let mut last_log = 0.0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let seqs = progress.sequences.load(Ordering::Relaxed) as f64;
                let rate = seqs / t0.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!("{:.0} sequences/s", rate));
                bar.set_position((done.len() + progress.finished.load(Ordering::Relaxed)) as u64);
                let elapsed = t0.elapsed().as_secs_f64();
                if bar.is_hidden() && elapsed - last_log >= 60.0 {
                    last_log = elapsed;
                    eprintln!("{}: {}/{} trials done, {:.0} sequences/s", config.name, done.len() + progress.finished.load(Ordering::Relaxed), config.trials, rate);
                }
            }
        });
        let results = run_trials(config, done.clone(), spec.threads, &progress, &|all| {
            if let Err(e) = save_trials(&dir, all) {
                *write_error.lock().expect("lock") = Some(e);
            }
        });
        stop.store(true, Ordering::Relaxed);
        let _ = ticker.join();
        results
    });
    bar.finish_and_clear();
    if let Some(e) = write_error.into_inner().expect("lock") {
        return Err(e.into());
    }
    save_trials(&spec.run_dir, &results)?;
    let wall = previous_wall + started.elapsed().as_secs_f64();
    manifest.header.wall_time_s = wall;
    manifest.body.summary = Some(TrialsSummary::of(&results, wall));
    manifest.header.finish();
    manifest.save(&spec.run_dir)?;
    Ok(manifest)
}

/// Training throughput without the stopping tests: `threads` nets side by side, each learning
/// `sequences` sequences of the task. Returns (sequences/s, time steps/s) over all threads.
pub fn bench(config: &TrialsConfig, sequences: u64, threads: usize) -> (f64, f64) {
    let steps = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads.max(1) {
            let steps = &steps;
            scope.spawn(move || {
                let mut init_rng = trial_rng(config.seed, t, 0);
                let mut rng = trial_rng(config.seed, t, 1);
                let mut net = Net::new(config.net.clone(), Weights::init(&config.net, &mut init_rng));
                let mut n_steps = 0;
                for _ in 0..sequences {
                    let seq = config.task.sample(&mut rng);
                    match config.update {
                        Update::Sequence => {
                            net.forward(&seq);
                            net.backward(&seq, config.gradient);
                            net.apply(config.learning_rate);
                        }
                        Update::Step => {
                            net.realtime(&seq, Some(config.learning_rate));
                        }
                    }
                    n_steps += seq.len as u64;
                }
                steps.fetch_add(n_steps, Ordering::Relaxed);
            });
        }
    });
    let s = start.elapsed().as_secs_f64();
    ((sequences * threads.max(1) as u64) as f64 / s, steps.load(Ordering::Relaxed) as f64 / s)
}
