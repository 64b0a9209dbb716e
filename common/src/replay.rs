//! Replaying a record: the committed run's recipe and seed trained again, and its final numbers
//! checked against the record's within statistical gates. A record whose replay leaves its gate
//! no longer says what the code produces: re-make it (and regenerate the write-up).

use std::path::Path;

use crate::data::Dataset;
use crate::device::Selected;
use crate::engine::TrainSpec;
use crate::gate::{Gate, GateFailure};
use crate::paper::{ImagePaper, PaperError};
use crate::records::{Manifest, RunStatus};

/// Gates are this many standard errors wide.
pub const K: f64 = 3.0;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot replay {run}: {reason}")]
    NotReplayable { run: String, reason: String },
    #[error(transparent)]
    Paper(#[from] PaperError),
    #[error(transparent)]
    Record(#[from] crate::records::RecordError),
}

/// A replayed run beside its record, with each gate's verdict.
#[derive(Debug)]
pub struct Replay {
    pub recorded: Manifest,
    pub replayed: Manifest,
    pub checks: Vec<(Gate, f64)>,
}

impl Replay {
    /// The gates the replay left, if any.
    pub fn failures(&self) -> Vec<GateFailure> {
        self.checks.iter().filter_map(|(g, observed)| g.check(*observed).err()).collect()
    }

    /// One line per gate ([`describe`]).
    pub fn summary(&self) -> String {
        self.checks.iter().map(|(g, observed)| describe(g, *observed) + "\n").collect()
    }
}

/// One replayed number against its gate: `ok: what: recorded …, replayed …, band […] (basis)`,
/// or `OUTSIDE: ` and the gate's failure message.
pub fn describe(gate: &Gate, observed: f64) -> String {
    match gate.check(observed) {
        Ok(()) => format!("ok: {}: recorded {:.3}, replayed {:.3}, band [{:.3}, {:.3}] ({})", gate.what, gate.expected, observed, gate.low, gate.high, gate.basis),
        Err(e) => format!("OUTSIDE: {e}"),
    }
}

/// The gate of a replayed success rate (percent of `trials` independent trials that succeeded),
/// like an error rate on that many items; higher is better.
pub fn success_rate_gate(what: impl Into<String>, recorded_pct: f64, trials: usize) -> Gate {
    Gate { lower_is_better: false, ..Gate::replayed_error_rate(what, recorded_pct, trials, K) }
}

/// Refuses a record that has no training to replay: an unfinished run, or an evaluation of
/// imported weights.
fn replayable(recorded: &Manifest) -> Result<(), ReplayError> {
    let not = |reason: &str| ReplayError::NotReplayable { run: recorded.header.run.clone(), reason: reason.into() };
    if recorded.header.status != RunStatus::Complete {
        return Err(not("only complete runs have final numbers to replay"));
    }
    if recorded.body.imported_weights.is_some() {
        return Err(not("it evaluated imported weights; there is no training to replay"));
    }
    Ok(())
}

/// The gates a replay of `recorded` must pass: its final evaluation error, measured on
/// `eval_items` items, within `K` times the standard error of a record-vs-replay difference.
pub fn gates(recorded: &Manifest, eval_items: usize) -> Result<Vec<Gate>, ReplayError> {
    replayable(recorded)?;
    let not = |reason: &str| ReplayError::NotReplayable { run: recorded.header.run.clone(), reason: reason.into() };
    let last = recorded.body.final_metrics.as_ref().ok_or_else(|| not("its manifest has no final metrics"))?;
    let what = format!("{} seed {} on {} {}: final error %", recorded.header.experiment, recorded.header.seed, recorded.header.dataset, recorded.body.eval_split);
    Ok(vec![Gate::replayed_error_rate(what, last.test_error_pct, eval_items, K)])
}

/// Trains the run recorded in `run_dir` again, with its recipe and seed, into `scratch`, and
/// checks the result against the record. `dataset` must be the record's dataset.
pub fn replay(paper: &dyn ImagePaper, run_dir: &Path, selected: &Selected, dataset: &Dataset, scratch: &Path, command: String) -> Result<Replay, ReplayError> {
    let recorded: Manifest = Manifest::load(run_dir)?;
    if dataset.checksums != recorded.body.dataset_sha256 {
        return Err(ReplayError::NotReplayable {
            run: recorded.header.run.clone(),
            reason: format!("the dataset given ({}) is not the one recorded: its files' SHA-256 differ from the manifest's", dataset.origin),
        });
    }
    // What cannot be replayed is said before the data are read.
    replayable(&recorded)?;
    let (_, eval) = dataset.sources(&recorded.body.config.data).map_err(crate::engine::TrainError::from).map_err(PaperError::from)?;
    let gates = gates(&recorded, eval.len())?;
    std::fs::create_dir_all(scratch).map_err(|e| ReplayError::NotReplayable { run: recorded.header.run.clone(), reason: format!("cannot create {}: {e}", scratch.display()) })?;
    let spec = TrainSpec { config: &recorded.body.config, seed: recorded.header.seed, selected, dataset, run_dir: scratch.to_owned(), resume: false, command, stop_after_epoch: None };
    let replayed = paper.train(spec)?;
    // A replay that stopped early has no final number: NaN fails every gate.
    let last = match (&replayed.header.status, &replayed.body.final_metrics) {
        (RunStatus::Complete, Some(m)) => m.test_error_pct,
        _ => f64::NAN,
    };
    let checks = gates.into_iter().map(|g| (g, last)).collect();
    Ok(Replay { recorded, replayed, checks })
}
