//! The run lifecycle every kind of paper shares, whatever it trains: what the user asked of a run
//! (device, seeds, resume, threads, overrides), the settings that hold for the whole process, the
//! flags a kind of run has no use for (refused, never ignored), and which run directory each seed
//! records into, a fresh one or the unfinished one `--resume` continues.

use std::path::{Path, PathBuf};

use crate::data::DataSource;
use crate::device::{DeviceError, Selected};
use crate::records::{self, RecordError};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("--seeds must be at least 1")]
    NoSeeds,
    #[error("--threads must be at least 1")]
    NoThreads,
    #[error("cannot use {wanted} compute threads: {reason} (the pool already has {have})")]
    ThreadPool { wanted: usize, have: usize, reason: String },
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Where a run executes and reads its data: the flags every command that runs a model shares.
#[derive(Debug, Clone)]
pub struct Place {
    /// `cpu`, `cuda:N`, `vulkan:N`, `wgpu:N` ([`crate::device::select`]).
    pub device: String,
    /// CPU backend of `cpu`: `flex` or `ndarray`.
    pub backend: String,
    /// The download cache, or a folder given by the user (offline machines).
    pub data_source: DataSource,
    /// Threads decoding and augmenting images ahead of the model.
    pub workers: Option<usize>,
    /// Images (views) per evaluation batch.
    pub eval_batch_size: Option<usize>,
}

impl Default for Place {
    fn default() -> Self {
        Self { device: "cpu".into(), backend: "flex".into(), data_source: DataSource::Auto, workers: None, eval_batch_size: None }
    }
}

impl Place {
    /// Opens the device and applies the loader and evaluation settings, which every command that
    /// runs a model goes through.
    pub fn select(&self) -> Result<Selected, DeviceError> {
        if let Some(workers) = self.workers {
            crate::data::source::set_loader_threads(workers);
        }
        crate::engine::set_eval_batch_views(self.eval_batch_size.unwrap_or(crate::engine::DEFAULT_EVAL_BATCH_VIEWS));
        crate::device::select(&self.device, &self.backend)
    }

    /// The folder the user gave for the data (`--data-dir`), if any.
    pub fn data_dir(&self) -> Option<&Path> {
        match &self.data_source {
            DataSource::Dir(d) => Some(d),
            DataSource::Auto => None,
        }
    }
}

/// Which seeds to run.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SeedChoice {
    /// The recipe's own seeds.
    #[default]
    Recipe,
    /// Seeds `1..=n` (`--seeds N`).
    First(u64),
    /// These seeds (`--seed S`, repeatable).
    These(Vec<u64>),
}

impl SeedChoice {
    pub fn resolve(&self, recipe: &[u64]) -> Result<Vec<u64>, LifecycleError> {
        Ok(match self {
            SeedChoice::Recipe => recipe.to_vec(),
            SeedChoice::First(0) => return Err(LifecycleError::NoSeeds),
            SeedChoice::First(n) => (1..=*n).collect(),
            SeedChoice::These(seeds) => seeds.clone(),
        })
    }
}

/// What the user asked of a training run, whatever the paper: the harness's flags, parsed.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub place: Place,
    /// A dataset replacing the recipe's.
    pub dataset: Option<String>,
    pub seeds: SeedChoice,
    /// `key=value` recipe overrides, YAML values.
    pub overrides: Vec<String>,
    /// Continue each seed's latest unfinished run.
    pub resume: bool,
    /// A plain progress line every N steps without a terminal (0: none).
    pub log_interval: Option<usize>,
    /// Compute threads (or, for runs of independent trials, worker threads).
    pub threads: Option<usize>,
    /// How the user would type this invocation again; recorded in each manifest.
    pub command: String,
}

/// A flag a kind of run may have no use for; [`RunRequest::refuse`] names the ones given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Dataset,
    DataDir,
    /// A device other than the CPU.
    Device,
    Workers,
    EvalBatchSize,
    LogInterval,
}

impl Flag {
    fn spelling(self) -> &'static str {
        match self {
            Flag::Dataset => "--dataset",
            Flag::DataDir => "--data-dir",
            Flag::Device => "--device",
            Flag::Workers => "-j/--workers",
            Flag::EvalBatchSize => "--eval-batch-size",
            Flag::LogInterval => "--log-interval",
        }
    }
}

impl RunRequest {
    /// The settings that hold for the whole process: progress lines and compute threads.
    pub fn apply_settings(&self) -> Result<(), LifecycleError> {
        if let Some(n) = self.log_interval {
            crate::progress::set_log_interval((n > 0).then_some(n));
        }
        use_compute_threads(self.threads)
    }

    /// The flags among `unused` that were given.
    fn given(&self, unused: &[Flag]) -> Vec<Flag> {
        unused
            .iter()
            .copied()
            .filter(|f| match f {
                Flag::Dataset => self.dataset.is_some(),
                Flag::DataDir => self.place.data_dir().is_some(),
                Flag::Device => self.place.device != "cpu",
                Flag::Workers => self.place.workers.is_some(),
                Flag::EvalBatchSize => self.place.eval_batch_size.is_some(),
                Flag::LogInterval => self.log_interval.is_some(),
            })
            .collect()
    }

    /// `Err(message)` naming the flags of `unused` that were given (a flag that would do nothing
    /// is refused, never silently ignored): `why` says what the run lacks, and the message ends
    /// with what to drop.
    pub fn refuse(&self, unused: &[Flag], why: &str) -> Result<(), String> {
        let given = self.given(unused);
        if given.is_empty() {
            return Ok(());
        }
        let all: Vec<&str> = unused.iter().map(|f| f.spelling()).collect();
        Err(format!("{why}; drop {}", join_or(&all)))
    }
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Sizes the pool burn-flex's CPU kernels run on (rayon's global pool, fixed once per process).
/// Reductions are split by this count, so it changes the last bits of a run, never its recipe.
pub fn use_compute_threads(threads: Option<usize>) -> Result<(), LifecycleError> {
    let Some(n) = threads else { return Ok(()) };
    if n == 0 {
        return Err(LifecycleError::NoThreads);
    }
    match rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == n => Ok(()),
        Err(e) => Err(LifecycleError::ThreadPool { wanted: n, have: rayon::current_num_threads(), reason: e.to_string() }),
    }
}

/// Where one seed's run records: a fresh directory, or (with `--resume`) the unfinished one.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDir {
    pub path: PathBuf,
    /// Continue the record in `path` rather than start it.
    pub resume: bool,
}

/// Chooses the run directory of `seed` under `experiment_dir`: with `resume`, the latest
/// unfinished run of that seed ([`records::latest_unfinished`]) when `resumable` says it holds
/// something to continue from (an error from it, e.g. a damaged checkpoint index, is returned,
/// never taken for "nothing there"); otherwise a fresh `seed<S>-<time>` directory. What it
/// decided is said on stderr.
pub fn run_dir<E: From<RecordError>>(experiment_dir: &Path, seed: u64, resume: bool, resumable: impl Fn(&Path) -> Result<bool, E>) -> Result<RunDir, E> {
    if resume {
        match records::latest_unfinished(experiment_dir, seed) {
            Some(dir) if resumable(&dir)? => return Ok(RunDir { path: dir, resume: true }),
            Some(dir) => eprintln!("{} has no checkpoint yet; starting a new run", dir.display()),
            None => eprintln!("nothing to resume for seed {seed}; starting a new run"),
        }
    }
    Ok(RunDir { path: records::new_run_dir(experiment_dir, seed)?, resume: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_resolve_and_flags_are_refused_by_name() {
        assert_eq!(SeedChoice::Recipe.resolve(&[3, 4]).unwrap(), vec![3, 4]);
        assert_eq!(SeedChoice::First(3).resolve(&[9]).unwrap(), vec![1, 2, 3]);
        assert!(SeedChoice::First(0).resolve(&[9]).is_err());
        assert_eq!(SeedChoice::These(vec![7]).resolve(&[9]).unwrap(), vec![7]);
        let mut r = RunRequest::default();
        assert!(r.refuse(&[Flag::Workers, Flag::EvalBatchSize], "no loader").is_ok());
        r.place.workers = Some(2);
        assert_eq!(r.refuse(&[Flag::Workers, Flag::EvalBatchSize], "no loader").unwrap_err(), "no loader; drop -j/--workers and --eval-batch-size");
    }
}
