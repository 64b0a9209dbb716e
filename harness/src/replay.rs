//! `harness replay`: committed records trained again with their recipe and seed, each final
//! number checked against the record within a statistical gate (repro_common::replay).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use repro_common::data;
use repro_common::gate::Gate;
use repro_common::records::{self, Manifest};
use repro_common::replay::{self, K};
use repro_lstm::trials::{self, TrialsManifest, TrialsSpec};

use crate::{PlaceArgs, command_line, data_source, find_paper, select};

/// Replays every run under each of `paths` (a run directory or a folder above runs); fails
/// when any replay leaves its gate.
pub fn run(paths: &[PathBuf], place: &PlaceArgs, threads: Option<usize>) -> Result<()> {
    let mut runs = Vec::new();
    for p in paths {
        let found = if p.join("manifest.yaml").is_file() { vec![p.clone()] } else { records::find_runs(p) };
        if found.is_empty() {
            bail!("{} holds no run record (manifest.yaml)", p.display());
        }
        runs.extend(found);
    }
    let mut outside = 0;
    for dir in &runs {
        let scratch = tempfile::Builder::new().prefix("repro-replay-").tempdir().context("cannot create a scratch folder for the replay")?;
        eprintln!("replaying {} (into {})", dir.display(), scratch.path().display());
        let checks = if is_lstm_trials(dir) { replay_trials(dir, scratch.path(), threads)? } else { replay_run(dir, scratch.path(), place)? };
        for (gate, observed) in &checks {
            outside += usize::from(gate.check(*observed).is_err());
            println!("{}", replay::describe(gate, *observed));
        }
    }
    if outside > 0 {
        bail!("{outside} number(s) left their gate: the code no longer produces what the record says; re-make the record (and `harness report`) or find the regression");
    }
    println!("{} run(s) replayed within their gates (k = {K} standard errors)", runs.len());
    Ok(())
}

fn is_lstm_trials(dir: &Path) -> bool {
    dir.join("trials.csv").is_file()
}

fn replay_run(dir: &Path, scratch: &Path, place: &PlaceArgs) -> Result<Vec<(Gate, f64)>> {
    let recorded = Manifest::load(dir)?;
    let paper = find_paper(&recorded.paper)?;
    let selected = select(place)?;
    let dataset = data::load(&recorded.dataset, &data_source(place)).with_context(|| format!("loading dataset `{}` recorded by {}", recorded.dataset, dir.display()))?;
    let r = replay::replay(paper, dir, &selected, &dataset, scratch, command_line())?;
    Ok(r.checks)
}

/// An LSTM 1997 record: the trials run again; the success rate over the trials is gated like an
/// error rate on that many items.
fn replay_trials(dir: &Path, scratch: &Path, threads: Option<usize>) -> Result<Vec<(Gate, f64)>> {
    let recorded = TrialsManifest::load(dir)?;
    let summary = recorded.summary.as_ref().with_context(|| format!("{} has no summary: only complete runs can be replayed", dir.display()))?;
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let replayed = trials::run(TrialsSpec { config: &recorded.config, run_dir: scratch.to_owned(), resume: false, threads, command: command_line() })?;
    let observed = replayed.summary.as_ref().map(|s| s.success_rate_pct).unwrap_or(f64::NAN);
    let what = format!("{} seed {}: success rate % over {} trials", recorded.experiment, recorded.seed, summary.trials);
    Ok(vec![(replay::success_rate_gate(what, summary.success_rate_pct, summary.trials), observed)])
}
