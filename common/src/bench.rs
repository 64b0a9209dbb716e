//! Throughput measurements as records: what `harness bench` (and the PyTorch script beside it)
//! measured, on which machine, at which commit, with the raw timings, so that every figure of a
//! `bench.md`, of the README's throughput table, every ratio to PyTorch and every time estimate is
//! generated from one, never typed in.
//!
//! A record lies in `results/bench/<UTC time>/bench.yaml`; its rows name their experiment, so a
//! paper's write-up takes the rows of its own recipes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ExperimentConfig;
use crate::records::{self, Provenance, RecordError};

/// The folder under the results root that holds the bench records.
pub const BENCH_DIR: &str = "bench";
const RECORD_FILE: &str = "bench.yaml";

/// One `harness bench` invocation (or one PyTorch comparison), with every raw timing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BenchRecord {
    /// When it was measured (UTC, RFC 3339).
    pub measured: String,
    /// The command, commit, CPU and compute threads.
    pub provenance: Provenance,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub train_steps: Vec<StepTiming>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loader: Vec<LoaderTiming>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beside_pytorch: Vec<BesidePytorch>,
}

/// Training steps of one recipe: epochs of synthetic images of its input size through the real
/// engine; the first warms up, the last is the figure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepTiming {
    pub experiment: String,
    pub model: String,
    pub backend: String,
    pub device: String,
    /// Whose kernels computed the step: `project` or `burn`.
    pub kernels: String,
    pub batch_size: usize,
    pub images_per_epoch: usize,
    /// Training images per second of each epoch, in order.
    pub epoch_img_per_s: Vec<f64>,
    /// Wall seconds of the whole measurement (every epoch and its evaluation).
    pub wall_s: f64,
}

impl StepTiming {
    /// The figure: the last epoch's images per second.
    pub fn img_per_s(&self) -> f64 {
        self.epoch_img_per_s.last().copied().unwrap_or(f64::NAN)
    }
    pub fn s_per_step(&self) -> f64 {
        self.batch_size as f64 / self.img_per_s()
    }
}

/// The ImageNet input pipeline alone: images decoded and augmented per second.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoaderTiming {
    pub pipeline: String,
    pub threads: usize,
    pub images: usize,
    pub seconds: f64,
}

impl LoaderTiming {
    pub fn img_per_s(&self) -> f64 {
        self.images as f64 / self.seconds
    }
}

/// One net's training step in PyTorch and in `harness bench`, measured in turn `repeats` times
/// on the same threads: every measurement kept, medians and ratios computed from them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BesidePytorch {
    /// The harness experiment whose net and input size both sides train.
    pub experiment: String,
    pub batch_size: usize,
    pub threads: usize,
    /// e.g. `2.15.0+cu132`.
    pub pytorch_version: String,
    /// Images per second of each measurement, in the order taken.
    pub harness_burn: Vec<f64>,
    pub harness_project: Vec<f64>,
    pub pytorch: Vec<f64>,
}

/// The median of the measurements (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Writes `record` as `results_root/bench/<UTC time>/bench.yaml` (a new folder, never over
/// another record); returns the file.
pub fn write_record(results_root: &Path, record: &BenchRecord) -> Result<PathBuf, RecordError> {
    let stamp: String = record.measured.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let base = results_root.join(BENCH_DIR);
    let mut dir = base.join(&stamp);
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = base.join(format!("{stamp}-{n}"));
    }
    let text = serde_yaml_ng::to_string(record).map_err(|e| RecordError::Invalid { path: dir.join(RECORD_FILE), reason: e.to_string() })?;
    let path = dir.join(RECORD_FILE);
    records::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Every bench record under `results_root/bench/`, oldest first, with its path relative to the
/// results root.
pub fn load_records(results_root: &Path) -> Result<Vec<(String, BenchRecord)>, RecordError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(results_root.join(BENCH_DIR)).into_iter().flatten().flatten().map(|e| e.path()).filter(|d| d.join(RECORD_FILE).is_file()).collect();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        let record: BenchRecord = records::load_yaml(&dir.join(RECORD_FILE))?;
        out.push((dir.strip_prefix(results_root).unwrap_or(&dir).join(RECORD_FILE).to_string_lossy().replace('\\', "/"), record));
    }
    Ok(out)
}

/// A machine as the tables name it: the CPU and the compute threads.
fn machine(p: &Provenance) -> String {
    if p.compute_threads > 0 && !p.cpu.contains("thread") { format!("{}, {} threads", p.cpu, p.compute_threads) } else { p.cpu.clone() }
}

fn commit(p: &Provenance) -> String {
    format!("`{}`{}", p.git_commit.chars().take(7).collect::<String>(), if p.git_dirty { " (dirty)" } else { "" })
}

/// The records to show: for each machine, each row `key` selects (a row's key: experiment and
/// kernels) taken from the newest record that has it; the records in that order, newest first,
/// each with the indices of its rows shown.
fn newest_rows<T>(records: &[(String, BenchRecord)], rows: impl Fn(&BenchRecord) -> &[T], key: impl Fn(&T) -> Option<String>) -> Vec<(&(String, BenchRecord), Vec<usize>)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for r in records.iter().rev() {
        let m = machine(&r.1.provenance);
        let mut shown = Vec::new();
        for (i, row) in rows(&r.1).iter().enumerate() {
            let Some(k) = key(row) else { continue };
            if !seen.contains(&(m.clone(), k.clone())) {
                seen.push((m.clone(), k));
                shown.push(i);
            }
        }
        if !shown.is_empty() {
            out.push((r, shown));
        }
    }
    out
}

fn date(measured: &str) -> &str {
    measured.split('T').next().unwrap_or(measured)
}

/// How many images a recipe's dataset trains on, where the project knows it (for estimates).
pub fn train_images(dataset: &str) -> Option<u64> {
    match dataset {
        "mnist" | "fashion-mnist" => Some(60_000),
        "mnist-sample" => Some(6_000),
        d if d.starts_with("cifar") => Some(50_000),
        // ILSVRC-2012's training set, and ILSVRC-2010's.
        "imagenet" => Some(1_281_167),
        "ilsvrc2010" => Some(1_261_406),
        _ => None,
    }
}

/// The paper's `bench.md`: the newest training-step timings of its recipes on each machine, the
/// newest comparison with PyTorch and (for papers with ImageNet recipes) the loader, each with
/// its command, commit and machine, and what a full run of each timed recipe would take there,
/// computed from the `project` row; `notes` (the paper's prose) after. None when no record
/// times any of `recipes`.
pub fn paper_bench_section(paper: &str, recipes: &[ExperimentConfig], records: &[(String, BenchRecord)], notes: &str) -> Option<String> {
    let ours = |e: &str| recipes.iter().any(|r| r.name == e);
    let steps = newest_rows(records, |r| &r.train_steps, |t| ours(&t.experiment).then(|| format!("{} {} {} {} {}", t.experiment, t.backend, t.device, t.kernels, t.batch_size)));
    let pytorch = newest_rows(records, |r| &r.beside_pytorch, |t| ours(&t.experiment).then(|| format!("{} {} {}", t.experiment, t.threads, t.batch_size)));
    let imagenet = recipes.iter().any(|r| matches!(r.data.dataset.as_str(), "imagenet" | "ilsvrc2010") && r.epochs > 0);
    let loader = if imagenet { newest_rows(records, |r| &r.loader, |l| Some(format!("{} {}", l.pipeline, l.threads))) } else { Vec::new() };
    if steps.is_empty() && pytorch.is_empty() {
        return None;
    }
    let mut s = format!("<!-- generated by `harness report {paper}` from the bench records under results/{BENCH_DIR}/; edit the paper crate's BENCH.md instead -->\n");
    s.push_str("Measured alone (nothing else running) by `harness bench`: synthetic inputs of each recipe's size through the real engine, each epoch's throughput kept in the record, the last epoch the figure (the first warms up). `burn` times burn-flex's own ops and burn's autodiff graph throughout, `project` the project's kernels, what every run uses (`common/src/kernels.rs`).\n\n");
    for ((path, r), shown) in &steps {
        let p = &r.provenance;
        let rows: Vec<&StepTiming> = shown.iter().map(|&i| &r.train_steps[i]).collect();
        let _ = writeln!(s, "**Training step**, {} at commit {}, {} ([record]({}), `{}`):\n", machine(p), commit(p), date(&r.measured), relative(path), p.command);
        s.push_str("| experiment | model | backend / device | kernels | batch | train img/s | s per step | wall s (all epochs + eval) |\n|---|---|---|---|---:|---:|---:|---:|\n");
        for t in &rows {
            let _ =
                writeln!(s, "| `{}` | {} | {} / {} | {} | {} | {:.1} | {:.3} | {:.1} |", t.experiment, t.model, t.backend, t.device, t.kernels, t.batch_size, t.img_per_s(), t.s_per_step(), t.wall_s);
        }
        s.push('\n');
        let estimates: Vec<String> = rows
            .iter()
            .filter(|t| t.kernels == "project")
            .filter_map(|t| {
                let recipe = recipes.iter().find(|e| e.name == t.experiment)?;
                let per_epoch = train_images(&recipe.data.dataset)?.div_ceil(recipe.batch_size as u64);
                let (iterations, how) = match recipe.max_iterations {
                    Some(n) => (n, format!("{} iterations", crate::report::group_digits(n as usize))),
                    None => (per_epoch * recipe.epochs as u64, format!("{} epochs of {} images", recipe.epochs, crate::report::group_digits(train_images(&recipe.data.dataset)? as usize))),
                };
                let seconds = iterations as f64 * recipe.batch_size as f64 / t.img_per_s();
                Some(format!("`{}` ({how} at batch {}): {}", recipe.name, recipe.batch_size, long_time(seconds)))
            })
            .collect();
        if !estimates.is_empty() {
            let _ = writeln!(s, "A full run on this machine, the recipe's training images (iterations × batch) at the `project` row's images per second:\n");
            for e in estimates {
                let _ = writeln!(s, "- {e}");
            }
            s.push('\n');
        }
    }
    for ((path, r), shown) in &pytorch {
        let p = &r.provenance;
        let rows: Vec<&BesidePytorch> = shown.iter().map(|&i| &r.beside_pytorch[i]).collect();
        let versions: Vec<String> = {
            let mut v: Vec<String> = rows.iter().map(|t| t.pytorch_version.clone()).collect();
            v.dedup();
            v
        };
        let _ = writeln!(
            s,
            "**Beside PyTorch** {}, {} at commit {}, {} ([record]({}), `{}`): the same nets and input sizes, SGD with momentum on random inputs, the same threads; each side measured in turn, the medians and their ratio computed from every measurement:\n",
            versions.join(", "),
            machine(p),
            commit(p),
            date(&r.measured),
            relative(path),
            p.command
        );
        s.push_str("| net | batch | threads | harness img/s, burn's kernels | harness img/s, the project's | PyTorch img/s | ratio, burn's | ratio, the project's | measurements (PyTorch) |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for t in rows {
            let (burn, project, theirs) = (median(&t.harness_burn), median(&t.harness_project), median(&t.pytorch));
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {:.1} | {:.1} | {:.1} | {:.2}× | {:.2}× | {} |",
                t.experiment,
                t.batch_size,
                t.threads,
                burn,
                project,
                theirs,
                burn / theirs,
                project / theirs,
                t.pytorch.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(", ")
            );
        }
        s.push('\n');
    }
    for ((path, r), shown) in &loader {
        let p = &r.provenance;
        let _ = writeln!(s, "**ImageNet loader alone**, {} at commit {}, {} ([record]({}), `{}`):\n", machine(p), commit(p), date(&r.measured), relative(path), p.command);
        s.push_str("| pipeline | loader threads | images | images/s |\n|---|---:|---:|---:|\n");
        for l in shown.iter().map(|&i| &r.loader[i]) {
            let _ = writeln!(s, "| {} | {} | {} | {:.0} |", l.pipeline, l.threads, l.images, l.img_per_s());
        }
        s.push('\n');
    }
    let notes = notes.trim();
    if !notes.is_empty() {
        s.push_str(notes);
        s.push_str("\n\n");
    }
    Some(s)
}

/// A record's path as a link from `results/<paper>/`.
fn relative(path: &str) -> String {
    format!("../{path}")
}

/// Hours, days or years, whichever reads best.
fn long_time(seconds: f64) -> String {
    let hours = seconds / 3600.0;
    if hours < 1.5 {
        format!("{:.0} minutes", seconds / 60.0)
    } else if hours < 48.0 {
        format!("{hours:.1} hours")
    } else if hours < 24.0 * 365.0 {
        format!("{:.0} days", hours / 24.0)
    } else {
        format!("{:.1} years", hours / 24.0 / 365.25)
    }
}

/// The README's throughput table: every paper's newest training-step timings on each machine,
/// and the newest ratios to PyTorch, from the bench records; empty when there are none.
pub fn readme_bench_table(papers: &[(&str, Vec<ExperimentConfig>)], records: &[(String, BenchRecord)]) -> String {
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    for (paper, recipes) in papers {
        let ours = |e: &str| recipes.iter().any(|r| r.name == e);
        for ((_, r), shown) in newest_rows(records, |r| &r.train_steps, |t| ours(&t.experiment).then(|| format!("{} {} {} {} {}", t.experiment, t.backend, t.device, t.kernels, t.batch_size))) {
            for t in shown.iter().map(|&i| &r.train_steps[i]) {
                rows.push(format!(
                    "| [{paper}](results/{paper}/bench.md) | `{}` | {} | {} / {} | {} | {} | {:.1} | {:.3} | {} | {} |",
                    t.experiment,
                    t.model,
                    t.backend,
                    t.device,
                    t.kernels,
                    t.batch_size,
                    t.img_per_s(),
                    t.s_per_step(),
                    machine(&r.provenance),
                    commit(&r.provenance)
                ));
            }
        }
        for ((_, r), shown) in newest_rows(records, |r| &r.beside_pytorch, |t| ours(&t.experiment).then(|| format!("{} {} {}", t.experiment, t.threads, t.batch_size))) {
            for t in shown.iter().map(|&i| &r.beside_pytorch[i]) {
                let theirs = median(&t.pytorch);
                ratios.push(format!(
                    "| [{paper}](results/{paper}/bench.md) | `{}` | {} | {} | {:.2}× | {:.2}× | PyTorch {} | {} | {} |",
                    t.experiment,
                    t.batch_size,
                    t.threads,
                    median(&t.harness_burn) / theirs,
                    median(&t.harness_project) / theirs,
                    t.pytorch_version,
                    machine(&r.provenance),
                    commit(&r.provenance)
                ));
            }
        }
    }
    if rows.is_empty() && ratios.is_empty() {
        return String::new();
    }
    let mut s = String::from("### Training throughput, measured alone\n\n");
    s.push_str(&format!("From the `harness bench` records under [`results/{BENCH_DIR}/`](results/{BENCH_DIR}/) (synthetic inputs of each recipe's size through the real engine, nothing else running), the newest on each machine:\n\n"));
    s.push_str("| paper | experiment | model | backend / device | kernels | batch | train img/s | s per step | machine | commit |\n|---|---|---|---|---|---:|---:|---:|---|---|\n");
    for r in rows {
        s.push_str(&r);
        s.push('\n');
    }
    if !ratios.is_empty() {
        s.push_str("\nBeside PyTorch, the same nets on the same threads, medians of measurements taken in turn (`harness/bench/pytorch_train_step.py`, its records beside the others):\n\n");
        s.push_str("| paper | net | batch | threads | ours / PyTorch, burn's kernels | ours / PyTorch, the project's | framework | machine | commit |\n|---|---|---:|---:|---:|---:|---|---|---|\n");
        for r in ratios {
            s.push_str(&r);
            s.push('\n');
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance(cpu: &str, commit: &str) -> Provenance {
        Provenance {
            command: "cargo run --release -p harness -- bench".into(),
            git_commit: commit.into(),
            git_dirty: false,
            repro_version: "0".into(),
            burn_version: "0".into(),
            cpu: cpu.into(),
            cpu_features: String::new(),
            compute_threads: 2,
            host: "h".into(),
            os: "linux".into(),
        }
    }

    fn step(experiment: &str, kernels: &str, img_per_s: f64) -> StepTiming {
        StepTiming {
            experiment: experiment.into(),
            model: "m".into(),
            backend: "flex".into(),
            device: "cpu".into(),
            kernels: kernels.into(),
            batch_size: 128,
            images_per_epoch: 1024,
            epoch_img_per_s: vec![1.0, img_per_s],
            wall_s: 9.0,
        }
    }

    /// A paper's bench section takes its own recipes' rows, from the newest record of each
    /// machine, with the last epoch's figure; its estimate is the recipe's iterations times the
    /// `project` row's time per step; the PyTorch ratio is of medians over every measurement.
    #[test]
    fn a_bench_section_is_computed_from_the_records() {
        let recipe = crate::config::ExperimentConfig::from_yaml(
            "name: net\npaper: p\ndescription: d\nmodel: m\ndata: {dataset: cifar10, train_split: train, eval_split: test}\noptimizer: {kind: sgd}\nschedule: {unit: epoch, steps: [[1, 0.1]]}\nepochs: 10\nbatch_size: 128\nseeds: [1]\nsources: {}\n",
            "net.yaml",
        )
        .unwrap();
        let old = BenchRecord {
            measured: "2026-01-01T00:00:00Z".into(),
            provenance: provenance("CPU A", "aaaaaaa1"),
            train_steps: vec![step("net", "project", 1.0)],
            loader: vec![],
            beside_pytorch: vec![],
        };
        let new = BenchRecord {
            measured: "2026-02-01T00:00:00Z".into(),
            provenance: provenance("CPU A", "bbbbbbb2"),
            train_steps: vec![step("net", "project", 128.0), step("net", "burn", 64.0), step("other-paper's", "project", 5.0)],
            loader: vec![],
            beside_pytorch: vec![BesidePytorch {
                experiment: "net".into(),
                batch_size: 128,
                threads: 2,
                pytorch_version: "2.15".into(),
                harness_burn: vec![50.0, 60.0, 70.0],
                harness_project: vec![130.0, 120.0, 125.0],
                pytorch: vec![100.0, 250.0, 110.0],
            }],
        };
        let other_machine = BenchRecord { measured: "2026-01-15T00:00:00Z".into(), provenance: provenance("CPU B", "ccccccc3"), ..old.clone() };
        let mut records = vec![("bench/1/bench.yaml".to_string(), old), ("bench/2/bench.yaml".into(), other_machine), ("bench/3/bench.yaml".into(), new)];
        let s = paper_bench_section("p", std::slice::from_ref(&recipe), &records, "notes").unwrap();
        assert!(s.contains("| `net` | m | flex / cpu | project | 128 | 128.0 | 1.000 | 9.0 |"), "{s}");
        assert!(!s.contains("other-paper's") && !s.contains("aaaaaaa"), "only the paper's rows, each from the newest record of its machine:\n{s}");
        assert!(s.contains("CPU B, 2 threads at commit `ccccccc`"), "{s}");
        // 10 epochs of ceil(50,000 / 128) = 391 steps of 128 images at 128 images/s.
        assert!(s.contains("`net` (10 epochs of 50,000 images at batch 128): 65 minutes"), "{s}");
        assert!(s.contains("| `net` | 128 | 2 | 60.0 | 125.0 | 110.0 | 0.55× | 1.14× | 100.0, 250.0, 110.0 |"), "{s}");
        assert!(s.trim_end().ends_with("notes"), "{s}");
        assert!(paper_bench_section("p", &[], &records, "").is_none());
        // A newer record that re-measures one row replaces that row only.
        records.push((
            "bench/4/bench.yaml".into(),
            BenchRecord {
                measured: "2026-03-01T00:00:00Z".into(),
                provenance: provenance("CPU A", "ddddddd4"),
                train_steps: vec![step("net", "project", 256.0)],
                loader: vec![],
                beside_pytorch: vec![],
            },
        ));
        let s = paper_bench_section("p", &[recipe], &records, "").unwrap();
        assert!(s.contains("| project | 128 | 256.0 |") && s.contains("| burn | 128 | 64.0 |") && !s.contains("| project | 128 | 128.0 |"), "{s}");
    }

    #[test]
    fn the_median_of_even_and_odd_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
