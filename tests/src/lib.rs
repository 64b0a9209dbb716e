//! Shared helpers for the workspace's snapshot, regression and bad-input tests (`tests/tests/`).

use std::path::{Path, PathBuf};

use repro_common::config::ExperimentConfig;
use repro_common::data::{self, DataSource, Dataset};
use repro_common::device::{self, Selected};
use repro_common::engine::TrainSpec;
use repro_common::paper::Paper;
use repro_common::records::Manifest;

/// The repository root (for committed records).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

pub fn cpu() -> Selected {
    device::select("cpu", "flex").expect("flex is built in")
}

pub fn sample() -> Dataset {
    data::load("mnist-sample", &DataSource::Auto).expect("the bundled sample loads")
}

/// A shipped recipe with overrides applied.
pub fn recipe(paper: &dyn Paper, name: &str, overrides: &[&str]) -> ExperimentConfig {
    let base = paper.experiments().into_iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no experiment {name}"));
    base.with_overrides(&overrides.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid overrides")
}

/// burn's flex backend seeds one process-wide generator, so two trainings running at once in the
/// same process (as parallel tests do) would draw from each other's stream. The harness trains
/// one run at a time; tests take this lock to do the same.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Trains `config` with `seed` into `run_dir`, one training at a time.
pub fn train(paper: &dyn Paper, config: &ExperimentConfig, seed: u64, dataset: &Dataset, run_dir: &Path, resume: bool, stop_after: Option<usize>) -> Manifest {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(run_dir).unwrap();
    let selected = cpu();
    let spec = TrainSpec { config, seed, selected: &selected, dataset, run_dir: run_dir.to_owned(), resume, command: "test".into(), stop_after_epoch: stop_after };
    paper.train(spec).expect("training runs")
}
