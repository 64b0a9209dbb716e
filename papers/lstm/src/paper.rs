//! The crate as the harness sees it ([`Paper`]): the 1997 experiments run as trials on generated
//! data, the PTB language model trained on the Penn Treebank (or any corpus in its layout), both
//! on the shared run lifecycle (seeds, run directories, resume, refused flags).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use repro_common::data::text::load_text;
use repro_common::gate::Gate;
use repro_common::lifecycle::{self, Flag, LifecycleError, RunRequest};
use repro_common::paper::{HelpExample, Paper, PaperError, Recipe, Reproduced};
use repro_common::records::{self, RunStatus};
use repro_common::replay::success_rate_gate;
use repro_common::report::{group_digits, human_time};

use crate::ptb::{self, PtbConfig, PtbSpec};
use crate::trials::{self, TrialsConfig, TrialsManifest, TrialsSpec};

/// Both LSTM papers, registered with the harness as one (`harness … lstm`).
pub struct LstmPaper;

/// A recipe of this crate.
enum LstmRecipe {
    Trials(TrialsConfig),
    Ptb(PtbConfig),
}

fn find(name: &str) -> Option<LstmRecipe> {
    crate::trial_experiment(name).map(LstmRecipe::Trials).or_else(|| ptb::experiment(name).map(LstmRecipe::Ptb))
}

/// A recipe file of this crate: a 1997 experiment (it has a `task`) or a PTB one.
fn from_file(origin: &str, text: &str) -> Result<LstmRecipe, PaperError> {
    let tree: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| PaperError::Refused(format!("invalid config {origin}: {e}")))?;
    if tree.get("task").is_some() { Ok(LstmRecipe::Trials(TrialsConfig::from_yaml(text, origin)?)) } else { Ok(LstmRecipe::Ptb(PtbConfig::from_yaml(text, origin)?)) }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> PaperError {
    PaperError::Other(Box::new(e))
}

fn worker_threads(run: &RunRequest) -> usize {
    run.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

impl Paper for LstmPaper {
    fn id(&self) -> &'static str {
        crate::ID
    }

    fn help_examples(&self) -> &'static [HelpExample] {
        &[
            HelpExample { command: "train", example: "train exp2a", what: "1997's trials on generated sequences (CPU, minutes)" },
            HelpExample { command: "replay", example: "replay results/lstm/exp1-3x2-lr0.1", what: "every run in the folder" },
        ]
    }

    fn listing(&self) -> Result<String, PaperError> {
        let mut s = format!("{} — {}\n       {}\n\n", crate::ID, crate::CITATION_1997, crate::CITATION_2014);
        s.push_str("  experiments, 1997 (harness train NAME; generated data, CPU):\n");
        for e in crate::trial_experiments() {
            let _ = writeln!(s, "    {:<16} {} [{} weights, lr {}, {} trials]", e.name, e.description, e.net.weight_count(), e.learning_rate, e.trials);
        }
        s.push_str("\n  experiments, PTB (harness train NAME --data-dir DIR):\n");
        for e in ptb::experiments() {
            let _ = writeln!(s, "    {:<16} {} [{} epochs]", e.name, e.description, e.epochs);
        }
        s.push_str("\n  claims:\n");
        for c in crate::claims() {
            let _ = writeln!(s, "    {:<34} {} = {} ±{} ({}, {})", c.id, c.metric.label(), c.published, c.tolerance, c.source, c.split);
        }
        Ok(s)
    }

    fn experiment_names(&self) -> Vec<String> {
        crate::trial_experiments().into_iter().map(|e| e.name).chain(ptb::experiments().into_iter().map(|e| e.name)).collect()
    }

    /// Each experiment builds its own net: `harness layers EXPERIMENT`.
    fn layer_names(&self) -> Vec<String> {
        self.experiment_names()
    }

    fn layers(&self, name: &str) -> Result<String, PaperError> {
        match find(name).ok_or_else(|| PaperError::UnknownExperiment { name: name.into(), known: self.experiment_names().join(", ") })? {
            LstmRecipe::Trials(c) => {
                let mut s = format!("{} — {}\n\n| group | weights |\n|---|---:|\n", c.name, c.description);
                for (g, n) in c.net.weight_table() {
                    let _ = writeln!(s, "| {g} | {} |", group_digits(n));
                }
                let _ = writeln!(s, "| **total** | **{}** (paper: {}) |", group_digits(c.net.weight_count()), c.paper_weights.map(group_digits).unwrap_or_else(|| "–".into()));
                Ok(s)
            }
            LstmRecipe::Ptb(c) => {
                let device = burn::tensor::Device::flex();
                let vocab = 10_000;
                let h = c.model.hidden;
                let model = ptb::LanguageModel::new(&c.model, vocab, &device);
                let lstm = 2 * 4 * (h * h + h);
                Ok(format!(
                    "{} — {}\n\n| layer | parameters |\n|---|---:|\n| embedding {vocab} × {h} | {} |\n| {} LSTM layers (4 gates × (W_x, W_h, two biases)) | {} |\n| softmax layer {h} → {vocab} | {} |\n| **total** | **{}** |\n\nThe paper gives no parameter count; with a 10,000-word vocabulary.\n",
                    c.name,
                    c.description,
                    group_digits(vocab * h),
                    c.model.layers,
                    group_digits(c.model.layers * lstm),
                    group_digits(h * vocab + vocab),
                    group_digits(model.param_count())
                ))
            }
        }
    }

    fn train(&self, recipe: Recipe<'_>, run: &RunRequest, results: &Path) -> Result<usize, PaperError> {
        let recipe = match recipe {
            Recipe::Named(name) => find(name).ok_or_else(|| PaperError::UnknownExperiment { name: name.into(), known: self.experiment_names().join(", ") })?,
            Recipe::File { origin, text } => from_file(origin, text)?,
        };
        match recipe {
            LstmRecipe::Trials(c) => train_trials(&c, run, results),
            LstmRecipe::Ptb(c) => train_ptb(&c, run, results),
        }
    }

    /// The 1997 experiments that fit a CPU in minutes ([`crate::DEFAULT_TRIALS`]).
    fn reproduce(&self, sample: bool, run: &RunRequest, results: &Path) -> Result<Reproduced, PaperError> {
        if sample {
            return Err(PaperError::Refused(format!("paper `{}` has no sample reproduction: its experiments generate their own data (drop --sample)", crate::ID)));
        }
        let mut failures = 0;
        for name in crate::DEFAULT_TRIALS {
            let recipe = crate::trial_experiment(name).expect("default experiments exist");
            failures += train_trials(&recipe, run, results)?;
        }
        Ok(Reproduced { failures, note: String::new() })
    }

    fn compare_text(&self, results: &Path) -> Result<String, PaperError> {
        Ok(crate::report::compare_text(results)?)
    }

    fn write_report(&self, results: &Path) -> Result<PathBuf, PaperError> {
        Ok(crate::report::write(results)?)
    }

    fn readme_section(&self, results: &Path) -> Result<String, PaperError> {
        Ok(format!("{}\n\n", crate::report::readme_results(results)?.trim_end()))
    }

    /// A 1997 record's dataset is `generated`; a PTB record's is its corpus.
    fn upgrade_record(&self, run_dir: &Path) -> Result<bool, PaperError> {
        Ok(if trials::is_trials_record(run_dir)? { TrialsManifest::rewrite_in_current_layout(run_dir)? } else { crate::ptb::PtbManifest::rewrite_in_current_layout(run_dir)? })
    }

    /// A 1997 record: the trials run again; the success rate over the trials is gated like an
    /// error rate on that many items. PTB records are not replayed (hours on a GPU).
    fn replay(&self, run_dir: &Path, run: &RunRequest, scratch: &Path) -> Result<Vec<(Gate, f64)>, PaperError> {
        if !trials::is_trials_record(run_dir)? {
            return Err(PaperError::Refused(format!("cannot replay {}: only the 1997 trials records are replayed, not PTB's", run_dir.display())));
        }
        let recorded = TrialsManifest::load(run_dir)?;
        let summary = recorded.body.summary.as_ref().ok_or_else(|| PaperError::Refused(format!("{} has no summary: only complete runs can be replayed", run_dir.display())))?;
        let replayed =
            trials::run(TrialsSpec { config: &recorded.body.config, run_dir: scratch.to_owned(), resume: false, threads: worker_threads(run), command: run.command.clone() }).map_err(other)?;
        let observed = replayed.body.summary.as_ref().map(|s| s.success_rate_pct).unwrap_or(f64::NAN);
        let what = format!("{} seed {}: success rate % over {} trials", recorded.header.experiment, recorded.header.seed, summary.trials);
        Ok(vec![(success_rate_gate(what, summary.success_rate_pct, summary.trials), observed)])
    }

    /// Sequences/s of one net, and of one net per core, for `experiments` (default: the
    /// reproduction's).
    fn bench(&self, experiments: &[String], sequences: u64) -> Result<String, PaperError> {
        let chosen: Vec<TrialsConfig> = if experiments.is_empty() {
            crate::DEFAULT_TRIALS.iter().filter_map(|n| crate::trial_experiment(n)).collect()
        } else {
            experiments.iter().filter_map(|n| crate::trial_experiment(n)).collect()
        };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let mut s = String::from("| experiment | weights | threads | sequences/s | time steps/s |\n|---|---:|---:|---:|---:|\n");
        for c in &chosen {
            for threads in [1, cores] {
                let (seq, steps) = trials::bench(c, sequences, threads);
                let _ = writeln!(s, "| `{}` | {} | {threads} | {} | {} |", c.name, c.net.weight_count(), group_digits(seq.round() as usize), group_digits(steps.round() as usize));
                if cores == 1 {
                    break;
                }
            }
        }
        let _ = writeln!(s, "\n{sequences} training sequences per thread (forward, backward, update) with each recipe's gradient and update rule; CPU: {}", repro_common::device::cpu_description());
        Ok(s)
    }
}

fn train_trials(recipe: &TrialsConfig, run: &RunRequest, results: &Path) -> Result<usize, PaperError> {
    run.refuse(&[Flag::Dataset, Flag::DataDir], &format!("`{}` generates its own sequences (Hochreiter & Schmidhuber 1997, §5)", recipe.name)).map_err(PaperError::Refused)?;
    run.refuse(&[Flag::Device], "the 1997 experiments run on the CPU only (nets of under 400 weights learning one sequence at a time; see papers/lstm/src/net1997.rs)").map_err(PaperError::Refused)?;
    run.refuse(
        &[Flag::Workers, Flag::EvalBatchSize, Flag::LogInterval],
        &format!("`{}` has no image loader, evaluation batches or training steps to log (each trial is one sequence at a time, with a line a minute when there is no terminal)", recipe.name),
    )
    .map_err(PaperError::Refused)?;
    let config = recipe.with_overrides(&run.overrides)?;
    let threads = worker_threads(run);
    let exp_dir = records::experiment_dir(results, crate::ID, &config.name, "generated");
    for seed in run.seeds.resolve(&[config.seed])? {
        let mut config = config.clone();
        config.seed = seed;
        // Any unfinished trials run resumes: the trials already in trials.csv are skipped.
        let dir = lifecycle::run_dir(&exp_dir, seed, run.resume, |_| Ok::<_, PaperError>(true))?;
        if dir.resume {
            eprintln!("resuming {}", dir.path.display());
        }
        eprintln!(
            "{}: {} trials of {} ({} weights, lr {}, {:?} gradient), seed {seed}, {threads} thread(s)",
            config.name,
            config.trials,
            config.description,
            config.net.weight_count(),
            config.learning_rate,
            config.gradient
        );
        let m = trials::run(TrialsSpec { config: &config, run_dir: dir.path.clone(), resume: dir.resume, threads, command: run.command.clone() }).map_err(other)?;
        let s = m.body.summary.as_ref().expect("complete runs have a summary");
        eprintln!(
            "{} seed {seed}: {}/{} trials succeeded ({:.0}%), sequences to success {}; {} wrong of {} test on average over those; {} ({} sequences/s) -> {}",
            config.name,
            s.successes,
            s.trials,
            s.success_rate_pct,
            s.mean_sequences.map(|m| format!("{} ± {}", group_digits(m.round() as usize), group_digits(s.std_sequences.unwrap_or(0.0).round() as usize))).unwrap_or_else(|| "–".into()),
            if s.successes > 0 { format!("{:.1}", s.mean_test_wrong) } else { "–".into() },
            s.test_total,
            human_time(m.header.wall_time_s),
            group_digits(s.sequences_per_s.round() as usize),
            dir.path.display()
        );
    }
    Ok(0)
}

fn train_ptb(recipe: &PtbConfig, run: &RunRequest, results: &Path) -> Result<usize, PaperError> {
    run.refuse(&[Flag::Workers, Flag::EvalBatchSize], &format!("`{}` reads a text corpus without image loaders or evaluation batches", recipe.name)).map_err(PaperError::Refused)?;
    run.apply_settings()?;
    let mut overrides = run.overrides.clone();
    if let Some(d) = &run.dataset {
        overrides.push(format!("dataset={d}"));
    }
    let config = recipe.with_overrides(&overrides)?;
    let selected = run.place.select().map_err(LifecycleError::from)?;
    let corpus = load_text(&config.dataset, &run.place.data_source).map_err(|e| PaperError::during(format!("loading `{}` for experiment `{}`", config.dataset, config.name), e))?;
    eprintln!(
        "{}: {} ({} train / {} valid / {} test words, vocabulary {}), {} epochs, {} / {}",
        config.name,
        corpus.origin,
        group_digits(corpus.train.len()),
        group_digits(corpus.valid.len()),
        group_digits(corpus.test.len()),
        group_digits(corpus.vocab.len()),
        config.epochs,
        selected.backend,
        selected.name
    );
    let exp_dir = records::experiment_dir(results, crate::ID, &config.name, &config.dataset);
    let mut failures = 0;
    for seed in run.seeds.resolve(&config.seeds)? {
        let dir = lifecycle::run_dir(&exp_dir, seed, run.resume, |d| Ok::<_, PaperError>(ptb::checkpoint_epoch(d).map_err(other)?.is_some()))?;
        if dir.resume {
            eprintln!("resuming {}", dir.path.display());
        }
        eprintln!("{} seed {seed}: recording in {}", config.name, dir.path.display());
        let m = ptb::train(PtbSpec { config: &config, seed, selected: &selected, corpus: &corpus, run_dir: dir.path.clone(), resume: dir.resume, command: run.command.clone() }).map_err(other)?;
        match (&m.header.status, &m.body.final_metrics) {
            (RunStatus::Complete, Some(f)) => eprintln!(
                "{} seed {seed}: valid perplexity {:.2}, test {:.2} after {} epochs ({}) -> {}",
                config.name,
                f.valid_perplexity,
                f.test_perplexity,
                f.epoch,
                human_time(m.body.train_time_s),
                dir.path.display()
            ),
            _ => {
                eprintln!("error: {} seed {seed} stopped: {}", config.name, m.header.stop_reason.as_deref().unwrap_or("unknown reason"));
                failures += 1;
            }
        }
    }
    Ok(failures)
}
