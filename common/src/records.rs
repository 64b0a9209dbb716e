//! Run records: `results/<paper>/<experiment>/<dataset>/<run>/` with `manifest.yaml` and
//! `metrics.csv`, checkpoints beside them. Every write is atomic (temporary file + rename), and a
//! new run never reuses an existing directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ExperimentConfig;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid record: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Burn version the workspace pins (`=0.22.1` in Cargo.toml).
pub const BURN_VERSION: &str = "0.22.1";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished (or killed): `--resume` continues it.
    Running,
    Complete,
    /// Stopped by the engine (e.g. a non-finite loss); the last good checkpoint is kept.
    Stopped,
}

/// One epoch's numbers, as in `metrics.csv`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_error_pct: f64,
    pub test_loss: f64,
    pub test_error_pct: f64,
    /// Training images per second during this epoch.
    pub train_img_per_s: f64,
    pub epoch_s: f64,
    /// Training time so far, summed over epochs (resumed runs included).
    pub elapsed_s: f64,
    /// Top-5 error on the evaluation split, for datasets with many classes (ImageNet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_top5_error_pct: Option<f64>,
}

/// A weights file from elsewhere (torchvision) that a run evaluated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImportedWeights {
    pub file: String,
    pub sha256: String,
    /// The training run the file came from, when it lies in one (a checkpoint of a run under a
    /// results folder): its pedigree, which an evaluation claim asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_by: Option<TrainedBy>,
}

/// The run that trained a weights file, as its manifest says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainedBy {
    /// The run's folder, as given.
    pub run: String,
    pub experiment: String,
    pub seed: u64,
    pub git_commit: String,
    /// Whether it ran the shipped recipe of `experiment` as it is at evaluation time (seeds and
    /// prose aside), so its weights can stand for that recipe.
    pub shipped_recipe: bool,
    /// Whether the run finished.
    pub complete: bool,
}

/// The run folder a checkpoint belongs to: `file` must lie in `<run>/checkpoint/` beside the run's
/// `manifest.yaml` (a file saved anywhere else inherits no run's pedigree).
pub fn run_holding(file: &Path) -> Option<PathBuf> {
    let file = file.canonicalize().ok()?;
    let dir = file.parent()?;
    let run = dir.parent()?;
    (dir.file_name()? == "checkpoint" && run.join("manifest.yaml").is_file()).then(|| run.to_path_buf())
}

/// What a run record is, read without knowing its kind: enough to find a seed's runs and
/// dispatch on the paper. It reads every layout a manifest has had.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RunIdentity {
    pub paper: String,
    pub experiment: String,
    /// Absent in some layouts older than the shared header.
    #[serde(default)]
    pub dataset: Option<String>,
    pub seed: u64,
    pub status: RunStatus,
}

impl RunIdentity {
    pub fn load(run_dir: &Path) -> Result<Self, RecordError> {
        load_yaml(&run_dir.join("manifest.yaml"))
    }
}

/// The header every run record's manifest starts with, whatever the kind of run (trained by
/// epochs, repeated trials, a language model): what ran, how it ended, and where and how it was
/// made. A kind adds its own body ([`Manifest`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunHeader {
    pub paper: String,
    pub experiment: String,
    pub dataset: String,
    pub seed: u64,
    /// The run directory's name.
    pub run: String,
    pub status: RunStatus,
    #[serde(default)]
    pub stop_reason: Option<String>,
    pub provenance: Provenance,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Wall-clock seconds spent in the run, evaluation and checkpoints included, summed over
    /// sessions when it was resumed.
    #[serde(default)]
    pub wall_time_s: f64,
}

/// The keys of [`RunHeader`] in a manifest, in order (checked against the struct by a test).
const HEADER_KEYS: [&str; 11] = ["paper", "experiment", "dataset", "seed", "run", "status", "stop_reason", "provenance", "started_at", "finished_at", "wall_time_s"];

impl RunHeader {
    /// The header of a run starting now in `run_dir`, made by `command`.
    pub fn start(paper: &str, experiment: &str, dataset: &str, seed: u64, run_dir: &Path, command: &str) -> Self {
        Self {
            paper: paper.to_owned(),
            experiment: experiment.to_owned(),
            dataset: dataset.to_owned(),
            seed,
            run: run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            status: RunStatus::Running,
            stop_reason: None,
            provenance: Provenance::capture(command),
            started_at: now(),
            finished_at: None,
            wall_time_s: 0.0,
        }
    }

    /// Marks the run complete now.
    pub fn finish(&mut self) {
        self.status = RunStatus::Complete;
        self.finished_at = Some(now());
    }

    /// Marks the run stopped now, for `reason` (e.g. a non-finite loss); it is not resumed.
    pub fn stop(&mut self, reason: String) {
        self.status = RunStatus::Stopped;
        self.stop_reason = Some(reason);
        self.finished_at = Some(now());
    }
}

/// What a kind of run record adds to the [`RunHeader`]: its own fields, in the same YAML mapping.
pub trait ManifestBody: Serialize + serde::de::DeserializeOwned {
    /// Rewrites an older layout of this kind's manifest into today's before it is read, so old
    /// records keep loading (`harness migrate` rewrites them on disk). The default changes nothing.
    fn upgrade(_manifest: &mut serde_yaml_ng::Mapping) {}
}

/// A run record's `manifest.yaml`: the shared header, then the body of its kind, as one mapping.
/// Both halves refuse keys they do not know, naming them.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest<B = EpochRun> {
    pub header: RunHeader,
    pub body: B,
}

impl<B: ManifestBody> Manifest<B> {
    pub fn save(&self, run_dir: &Path) -> Result<(), RecordError> {
        save_yaml(&run_dir.join("manifest.yaml"), self)
    }

    pub fn load(run_dir: &Path) -> Result<Self, RecordError> {
        load_yaml(&run_dir.join("manifest.yaml"))
    }

    /// Rewrites `run_dir/manifest.yaml` in today's layout when it is in an older one; true when
    /// the file changed.
    pub fn rewrite_in_current_layout(run_dir: &Path) -> Result<bool, RecordError> {
        let path = run_dir.join("manifest.yaml");
        let before = std::fs::read_to_string(&path).map_err(|source| RecordError::Read { path: path.clone(), source })?;
        let manifest: Self = serde_yaml_ng::from_str(&before).map_err(|e| RecordError::Invalid { path: path.clone(), reason: e.to_string() })?;
        let after = serde_yaml_ng::to_string(&manifest).expect("records serialize");
        if after == before {
            return Ok(false);
        }
        write_atomic(&path, after.as_bytes())?;
        Ok(true)
    }
}

impl<B: Serialize> Serialize for Manifest<B> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Flattened straight into the output (not through a YAML value, which would print an
        // f32 such as 0.1 as 0.10000000149011612).
        #[derive(Serialize)]
        struct Flat<'a, B> {
            #[serde(flatten)]
            header: &'a RunHeader,
            #[serde(flatten)]
            body: &'a B,
        }
        Flat { header: &self.header, body: &self.body }.serialize(serializer)
    }
}

impl<'de, B: ManifestBody> Deserialize<'de> for Manifest<B> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut body = serde_yaml_ng::Mapping::deserialize(deserializer)?;
        B::upgrade(&mut body);
        let mut header = serde_yaml_ng::Mapping::new();
        for key in HEADER_KEYS {
            if let Some(value) = body.remove(key) {
                header.insert(key.into(), value);
            }
        }
        let header = serde_yaml_ng::from_value(header.into()).map_err(|e| D::Error::custom(format!("header: {e}")))?;
        let body = serde_yaml_ng::from_value(body.into()).map_err(D::Error::custom)?;
        Ok(Self { header, body })
    }
}

/// The provenance keys that manifests of runs trained by epochs kept at the top level before the
/// header nested them under `provenance:`.
const FLAT_PROVENANCE_KEYS: [&str; 10] = ["command", "git_commit", "git_dirty", "repro_version", "burn_version", "cpu", "cpu_features", "compute_threads", "host", "os"];

/// Nests a manifest's top-level provenance keys (the layout before the shared header) under
/// `provenance:`; a manifest that has `provenance:` already is left as it is.
fn nest_flat_provenance(manifest: &mut serde_yaml_ng::Mapping) {
    if manifest.contains_key("provenance") || !manifest.contains_key("git_commit") {
        return;
    }
    let mut provenance = serde_yaml_ng::Mapping::new();
    for key in FLAT_PROVENANCE_KEYS {
        if let Some(value) = manifest.remove(key) {
            provenance.insert(key.into(), value);
        }
    }
    manifest.insert("provenance".into(), provenance.into());
}

/// The body of a run trained by epochs (the image classifiers): its data, device, progress and
/// recipe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EpochRun {
    pub eval_split: String,
    pub backend: String,
    pub device: String,
    pub dataset_origin: String,
    /// File -> SHA-256 of its decompressed content.
    pub dataset_sha256: BTreeMap<String, String>,
    pub epochs_completed: usize,
    /// Training time in seconds (sum over epochs, across resumes).
    pub train_time_s: f64,
    /// Epochs at which the run was resumed.
    #[serde(default)]
    pub resumed_at_epochs: Vec<usize>,
    #[serde(default)]
    pub final_metrics: Option<EpochMetrics>,
    /// Imported weights the run evaluated (no training), with their SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_weights: Option<ImportedWeights>,
    pub config: ExperimentConfig,
}

impl ManifestBody for EpochRun {
    fn upgrade(manifest: &mut serde_yaml_ng::Mapping) {
        nest_flat_provenance(manifest);
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a file and a crash never destroys the previous version.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    use std::io::Write;
    let err = |source| RecordError::Write { path: path.to_owned(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(".{}.tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("file"), std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes any record as YAML, atomically.
pub fn save_yaml<T: Serialize>(path: &Path, value: &T) -> Result<(), RecordError> {
    write_atomic(path, serde_yaml_ng::to_string(value).expect("records serialize").as_bytes())
}

/// Reads a YAML record, naming the file in every error.
pub fn load_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RecordError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecordError::Read { path: path.to_owned(), source })?;
    serde_yaml_ng::from_str(&text).map_err(|e| RecordError::Invalid { path: path.to_owned(), reason: e.to_string() })
}

/// Rewrites a small CSV table whole, atomically (per-epoch metrics, per-trial results).
pub fn save_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<(), RecordError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row).expect("rows serialize");
    }
    write_atomic(path, &w.into_inner().expect("in-memory writer"))
}

pub fn load_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RecordError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| RecordError::Invalid { path: path.to_owned(), reason: e.to_string() })?;
    r.deserialize().collect::<Result<Vec<_>, _>>().map_err(|e| RecordError::Invalid { path: path.to_owned(), reason: e.to_string() })
}

/// Rewrites `metrics.csv` whole (it is small), atomically.
pub fn save_metrics(run_dir: &Path, rows: &[EpochMetrics]) -> Result<(), RecordError> {
    save_csv(&run_dir.join("metrics.csv"), rows)
}

pub fn load_metrics(run_dir: &Path) -> Result<Vec<EpochMetrics>, RecordError> {
    load_csv(&run_dir.join("metrics.csv"))
}

/// The rows of epochs `1..=epoch` of `metrics.csv` (later rows, written just before a crash, are
/// left out); an error naming the file when one of them is missing, as in a truncated file.
pub fn load_metrics_through(run_dir: &Path, epoch: usize) -> Result<Vec<EpochMetrics>, RecordError> {
    let rows: Vec<EpochMetrics> = load_metrics(run_dir)?.into_iter().filter(|r| r.epoch <= epoch).collect();
    let epochs: Vec<usize> = rows.iter().map(|r| r.epoch).collect();
    if epochs != (1..=epoch).collect::<Vec<_>>() {
        return Err(RecordError::Invalid { path: run_dir.join("metrics.csv"), reason: format!("holds the rows of epochs {epochs:?} instead of one row for each of epochs 1 to {epoch}") });
    }
    Ok(rows)
}

/// `results/<paper>/<experiment>/<dataset>`.
pub fn experiment_dir(results: &Path, paper: &str, experiment: &str, dataset: &str) -> PathBuf {
    results.join(paper).join(experiment).join(dataset)
}

/// A fresh run directory `seed<S>-<UTC timestamp>`, suffixed when that name is taken.
pub fn new_run_dir(experiment_dir: &Path, seed: u64) -> Result<PathBuf, RecordError> {
    std::fs::create_dir_all(experiment_dir).map_err(|source| RecordError::Write { path: experiment_dir.to_owned(), source })?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    for n in 0.. {
        let name = if n == 0 { format!("seed{seed}-{stamp}") } else { format!("seed{seed}-{stamp}-{n}") };
        let dir = experiment_dir.join(name);
        // create_dir fails if it exists: two processes can never share a run directory.
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(RecordError::Write { path: dir, source }),
        }
    }
    unreachable!()
}

/// All run directories (those with a manifest) below `dir`, sorted by path.
pub fn find_runs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.join("manifest.yaml").is_file() {
                out.push(path);
            } else {
                out.extend(find_runs(&path));
            }
        }
    }
    out.sort();
    out
}

/// The most recent unfinished run of this experiment, dataset and seed, if any. A run whose
/// manifest cannot be read counts as unfinished when its directory name (`seed<S>-…`) says it is
/// this seed's, so that resuming reports the damaged manifest instead of silently starting over.
pub fn latest_unfinished(experiment_dir: &Path, seed: u64) -> Option<PathBuf> {
    let named_for_seed = |dir: &Path| dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("seed{seed}-")));
    find_runs(experiment_dir)
        .into_iter()
        .filter(|dir| match RunIdentity::load(dir) {
            Ok(m) => m.seed == seed && m.status != RunStatus::Complete,
            Err(_) => named_for_seed(dir),
        })
        .max()
}

/// Git commit of the working tree and whether tracked files outside `results/` differ from it.
pub fn git_state() -> (String, bool) {
    let run = |args: &[&str]| std::process::Command::new("git").args(args).output().ok().filter(|o| o.status.success());
    let commit = run(&["rev-parse", "HEAD"]).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_else(|| "unknown".into());
    let dirty = run(&["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"]).map(|o| !o.stdout.is_empty()).unwrap_or(false);
    (commit, dirty)
}

pub fn hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Where and how a record was made: the fields every kind of run record carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The command line that produced the record.
    pub command: String,
    pub git_commit: String,
    pub git_dirty: bool,
    pub repro_version: String,
    pub burn_version: String,
    pub cpu: String,
    /// SIMD features that choose the kernels (`avx2 fma avx512f`); empty in older records.
    #[serde(default)]
    pub cpu_features: String,
    /// Threads of the compute pool (`RAYON_NUM_THREADS`); 0 in older records.
    #[serde(default)]
    pub compute_threads: usize,
    pub host: String,
    pub os: String,
}

impl Provenance {
    pub fn capture(command: &str) -> Self {
        let (git_commit, git_dirty) = git_state();
        Self {
            command: command.to_owned(),
            git_commit,
            git_dirty,
            repro_version: env!("CARGO_PKG_VERSION").into(),
            burn_version: BURN_VERSION.into(),
            cpu: crate::device::cpu_description(),
            cpu_features: crate::device::cpu_features(),
            compute_threads: crate::device::compute_threads(),
            host: hostname(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Steps {
        steps: usize,
        rate: f32,
    }

    impl ManifestBody for Steps {
        fn upgrade(manifest: &mut serde_yaml_ng::Mapping) {
            nest_flat_provenance(manifest);
        }
    }

    fn manifest() -> Manifest<Steps> {
        Manifest { header: RunHeader::start("p", "e", "d", 3, Path::new("results/p/e/d/seed3-x"), "harness train e"), body: Steps { steps: 7, rate: 0.1 } }
    }

    #[test]
    fn the_header_keys_are_the_header_fields_in_order() {
        let serde_yaml_ng::Value::Mapping(m) = serde_yaml_ng::to_value(&manifest().header).unwrap() else { panic!("a mapping") };
        let keys: Vec<String> = m.keys().map(|k| k.as_str().unwrap().to_owned()).collect();
        assert_eq!(keys, HEADER_KEYS);
    }

    #[test]
    fn a_manifest_is_one_mapping_header_first_and_reads_back() {
        let m = manifest();
        let text = serde_yaml_ng::to_string(&m).unwrap();
        assert!(text.starts_with("paper: p\nexperiment: e\ndataset: d\nseed: 3\nrun: seed3-x\nstatus: running\n"), "{text}");
        assert!(text.contains("\nsteps: 7\nrate: 0.1\n"), "the body follows the header, f32 printed as written: {text}");
        assert_eq!(serde_yaml_ng::from_str::<Manifest<Steps>>(&text).unwrap(), m);
    }

    #[test]
    fn unknown_keys_of_the_header_and_the_body_are_named() {
        let text = serde_yaml_ng::to_string(&manifest()).unwrap();
        let body_typo = text.replace("steps: 7", "stepz: 7");
        let err = serde_yaml_ng::from_str::<Manifest<Steps>>(&body_typo).unwrap_err().to_string();
        assert!(err.contains("stepz"), "{err}");
        let header_typo = text.replace("git_dirty:", "git_dirt:");
        let err = serde_yaml_ng::from_str::<Manifest<Steps>>(&header_typo).unwrap_err().to_string();
        assert!(err.contains("header") && err.contains("git_dirt"), "{err}");
    }

    #[test]
    fn a_flat_provenance_of_an_older_record_is_nested_when_read() {
        let m = manifest();
        let nested = serde_yaml_ng::to_string(&m).unwrap();
        let serde_yaml_ng::Value::Mapping(mut flat) = serde_yaml_ng::from_str(&nested).unwrap() else { panic!("a mapping") };
        let serde_yaml_ng::Value::Mapping(provenance) = flat.remove("provenance").unwrap() else { panic!("a mapping") };
        flat.extend(provenance);
        assert!(!flat.contains_key("provenance") && flat.contains_key("git_commit"));
        let read: Manifest<Steps> = serde_yaml_ng::from_value(flat.into()).unwrap();
        assert_eq!(read, m);
    }
}
