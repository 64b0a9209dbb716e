//! `harness migrate`: run records rewritten in today's manifest layout (one header for every
//! kind of run, then the kind's body), so that readers of the older layouts can be retired.

use std::path::PathBuf;

use anyhow::{Context, Result};
use repro_common::records::RunIdentity;

use crate::find_paper;

/// Rewrites every manifest under `paths` that is in an older layout; prints what changed.
pub fn run(paths: &[PathBuf]) -> Result<()> {
    let runs = super::run_dirs(paths)?;
    let mut rewritten = 0;
    for dir in &runs {
        let paper = find_paper(&RunIdentity::load(dir)?.paper)?;
        if paper.upgrade_record(dir).with_context(|| format!("cannot migrate {}", dir.display()))? {
            rewritten += 1;
            println!("rewrote {}", dir.join("manifest.yaml").display());
        }
    }
    println!("{rewritten} of {} manifest(s) rewritten in the current layout; the others were current", runs.len());
    Ok(())
}
