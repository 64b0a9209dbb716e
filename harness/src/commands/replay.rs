//! `harness replay`: committed records trained again with their recipe and seed, each final
//! number checked against the record within a statistical gate (repro_common::replay).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use repro_common::lifecycle::RunRequest;
use repro_common::records::RunIdentity;
use repro_common::replay::{self, K};

use crate::{PlaceArgs, command_line, find_paper};

/// Replays every run under each of `paths` (a run directory or a folder above runs); fails
/// when any replay leaves its gate.
pub fn run(paths: &[PathBuf], place: &PlaceArgs, threads: Option<usize>) -> Result<()> {
    let runs = super::run_dirs(paths)?;
    let request = RunRequest { place: place.place(), threads, command: command_line(), ..RunRequest::default() };
    let mut outside = 0;
    for dir in &runs {
        let scratch = tempfile::Builder::new().prefix("repro-replay-").tempdir().context("cannot create a scratch folder for the replay")?;
        eprintln!("replaying {} (into {})", dir.display(), scratch.path().display());
        let paper = find_paper(&RunIdentity::load(dir)?.paper)?;
        let checks = paper.replay(dir, &request, scratch.path())?;
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
