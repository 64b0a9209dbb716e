//! The harness side of `papers/lstm`: the 1997 experiments run as trials on generated data, the
//! PTB language model trained on the Penn Treebank (or any corpus in its layout).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use repro_common::data::DataSource;
use repro_common::data::text::load_text;
use repro_common::records::{self, RunStatus};
use repro_common::report::{group_digits, human_time};
use repro_lstm::ptb::{self, PtbConfig, PtbManifest, PtbSpec};
use repro_lstm::trials::{self, TrialsConfig, TrialsManifest, TrialsSpec};

use crate::{RunArgs, command_line, select};

/// A recipe of this crate.
pub enum Recipe {
    Trials(TrialsConfig),
    Ptb(PtbConfig),
}

pub fn find(name: &str) -> Option<Recipe> {
    let name = name.strip_prefix("lstm/").unwrap_or(name);
    repro_lstm::trial_experiment(name).map(Recipe::Trials).or_else(|| ptb::experiment(name).map(Recipe::Ptb))
}

/// Reads a recipe file whose `paper` is `lstm`: a 1997 experiment (it has a `task`) or a PTB one.
pub fn from_file(path: &Path, text: &str) -> Result<Recipe> {
    let origin = path.display().to_string();
    let tree: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).with_context(|| format!("invalid config {origin}"))?;
    if tree.get("task").is_some() { Ok(Recipe::Trials(TrialsConfig::from_yaml(text, &origin)?)) } else { Ok(Recipe::Ptb(PtbConfig::from_yaml(text, &origin)?)) }
}

pub fn train(recipe: Recipe, run: &RunArgs, results: &Path) -> Result<usize> {
    match recipe {
        Recipe::Trials(c) => train_trials(&c, run, results),
        Recipe::Ptb(c) => train_ptb(&c, run, results),
    }
}

fn seeds(default: Vec<u64>, run: &RunArgs) -> Result<Vec<u64>> {
    Ok(match (run.seeds, run.seed.is_empty()) {
        (Some(0), _) => bail!("--seeds must be at least 1"),
        (Some(n), _) => (1..=n).collect(),
        (None, false) => run.seed.clone(),
        (None, true) => default,
    })
}

/// The latest unfinished run of this seed under `dir`, for `--resume`.
fn unfinished(dir: &Path, seed: u64, status: impl Fn(&Path) -> Option<(u64, RunStatus)>) -> Option<PathBuf> {
    records::find_runs(dir).into_iter().filter(|d| status(d).is_some_and(|(s, st)| s == seed && st != RunStatus::Complete)).max()
}

fn train_trials(recipe: &TrialsConfig, run: &RunArgs, results: &Path) -> Result<usize> {
    if run.dataset.is_some() || run.place.data_dir.is_some() {
        bail!("`{}` generates its own sequences (Hochreiter & Schmidhuber 1997, §5); drop --dataset/--data-dir", recipe.name);
    }
    if run.place.device != "cpu" {
        bail!("the 1997 experiments run on the CPU only (nets of under 400 weights learning one sequence at a time; see papers/lstm/src/net1997.rs)");
    }
    if run.place.workers.is_some() || run.place.eval_batch_size.is_some() || run.log_interval.is_some() {
        bail!(
            "`{}` has no image loader, evaluation batches or training steps to log (each trial is one sequence at a time, with a line a minute when there is no terminal); drop -j/--workers, --eval-batch-size and --log-interval",
            recipe.name
        );
    }
    let config = recipe.with_overrides(&run.overrides)?;
    let threads = run.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let exp_dir = records::experiment_dir(results, repro_lstm::ID, &config.name, "generated");
    for seed in seeds(vec![config.seed], run)? {
        let mut config = config.clone();
        config.seed = seed;
        let resume_dir = if run.resume { unfinished(&exp_dir, seed, |d| TrialsManifest::load(d).ok().map(|m| (m.seed, m.status))) } else { None };
        let (run_dir, resume) = match resume_dir {
            Some(d) => {
                eprintln!("resuming {}", d.display());
                (d, true)
            }
            None => (records::new_run_dir(&exp_dir, seed)?, false),
        };
        eprintln!(
            "{}: {} trials of {} ({} weights, lr {}, {:?} gradient), seed {seed}, {threads} thread(s)",
            config.name,
            config.trials,
            config.description,
            config.net.weight_count(),
            config.learning_rate,
            config.gradient
        );
        let m = trials::run(TrialsSpec { config: &config, run_dir: run_dir.clone(), resume, threads, command: command_line() })?;
        let s = m.summary.as_ref().expect("complete runs have a summary");
        eprintln!(
            "{} seed {seed}: {}/{} trials succeeded ({:.0}%), sequences to success {}; {} wrong of {} test on average over those; {} ({} sequences/s) -> {}",
            config.name,
            s.successes,
            s.trials,
            s.success_rate_pct,
            s.mean_sequences.map(|m| format!("{} ± {}", group_digits(m.round() as usize), group_digits(s.std_sequences.unwrap_or(0.0).round() as usize))).unwrap_or_else(|| "–".into()),
            if s.successes > 0 { format!("{:.1}", s.mean_test_wrong) } else { "–".into() },
            s.test_total,
            human_time(m.wall_time_s),
            group_digits(s.sequences_per_s.round() as usize),
            run_dir.display()
        );
    }
    Ok(0)
}

fn train_ptb(recipe: &PtbConfig, run: &RunArgs, results: &Path) -> Result<usize> {
    if run.place.workers.is_some() || run.place.eval_batch_size.is_some() {
        bail!("`{}` reads a text corpus without image loaders or evaluation batches; drop -j/--workers and --eval-batch-size", recipe.name);
    }
    crate::apply_run_settings(run)?;
    let mut overrides = run.overrides.clone();
    if let Some(d) = &run.dataset {
        overrides.push(format!("dataset={d}"));
    }
    let config = recipe.with_overrides(&overrides)?;
    let selected = select(&run.place)?;
    let source = match &run.place.data_dir {
        Some(dir) => DataSource::Dir(dir.clone()),
        None => DataSource::Auto,
    };
    let corpus = load_text(&config.dataset, &source).with_context(|| format!("loading `{}` for experiment `{}`", config.dataset, config.name))?;
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
    let exp_dir = records::experiment_dir(results, repro_lstm::ID, &config.name, &config.dataset);
    let mut failures = 0;
    for seed in seeds(config.seeds.clone(), run)? {
        let resume_dir = if run.resume { unfinished(&exp_dir, seed, |d| PtbManifest::load(d).ok().map(|m| (m.seed, m.status))) } else { None };
        let (run_dir, resume) = match resume_dir {
            Some(d) if d.join("checkpoint/latest.yaml").is_file() => (d, true),
            _ => (records::new_run_dir(&exp_dir, seed)?, false),
        };
        eprintln!("{} seed {seed}: recording in {}", config.name, run_dir.display());
        let m = ptb::train(PtbSpec { config: &config, seed, selected: &selected, corpus: &corpus, run_dir: run_dir.clone(), resume, command: command_line() })?;
        match (&m.status, &m.final_metrics) {
            (RunStatus::Complete, Some(f)) => eprintln!(
                "{} seed {seed}: valid perplexity {:.2}, test {:.2} after {} epochs ({}) -> {}",
                config.name,
                f.valid_perplexity,
                f.test_perplexity,
                f.epoch,
                human_time(m.train_time_s),
                run_dir.display()
            ),
            _ => {
                eprintln!("error: {} seed {seed} stopped: {}", config.name, m.stop_reason.as_deref().unwrap_or("unknown reason"));
                failures += 1;
            }
        }
    }
    Ok(failures)
}

/// `harness reproduce lstm`: the 1997 experiments that fit a CPU in minutes.
pub fn reproduce(run: &RunArgs, results: &Path) -> Result<usize> {
    let mut failures = 0;
    for name in repro_lstm::DEFAULT_TRIALS {
        let recipe = repro_lstm::trial_experiment(name).expect("default experiments exist");
        failures += train_trials(&recipe, run, results)?;
    }
    Ok(failures)
}

pub fn list() {
    println!("lstm — {}\n       {}\n", repro_lstm::CITATION_1997, repro_lstm::CITATION_2014);
    println!("  experiments, 1997 (harness train NAME; generated data, CPU):");
    for e in repro_lstm::trial_experiments() {
        println!("    {:<16} {} [{} weights, lr {}, {} trials]", e.name, e.description, e.net.weight_count(), e.learning_rate, e.trials);
    }
    println!("\n  experiments, PTB (harness train NAME --data-dir DIR):");
    for e in ptb::experiments() {
        println!("    {:<16} {} [{} epochs]", e.name, e.description, e.epochs);
    }
    println!("\n  claims:");
    for c in repro_lstm::claims() {
        println!("    {:<34} {} = {} ±{} ({}, {})", c.id, c.metric.label(), c.published, c.tolerance, c.source, c.split);
    }
    println!();
}

/// `harness layers NAME` for this crate's nets.
pub fn layers(name: &str) -> Option<String> {
    match find(name)? {
        Recipe::Trials(c) => {
            let mut s = format!("{} — {}\n\n| group | weights |\n|---|---:|\n", c.name, c.description);
            for (g, n) in c.net.weight_table() {
                s.push_str(&format!("| {g} | {} |\n", group_digits(n)));
            }
            s.push_str(&format!("| **total** | **{}** (paper: {}) |\n", group_digits(c.net.weight_count()), c.paper_weights.map(group_digits).unwrap_or_else(|| "–".into())));
            Some(s)
        }
        Recipe::Ptb(c) => {
            let device = burn::tensor::Device::flex();
            let vocab = 10_000;
            let h = c.model.hidden;
            let model = ptb::LanguageModel::new(&c.model, vocab, &device);
            let lstm = 2 * 4 * (h * h + h);
            Some(format!(
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

pub fn all_names() -> Vec<String> {
    repro_lstm::trial_experiments().into_iter().map(|e| e.name).chain(ptb::experiments().into_iter().map(|e| e.name)).collect()
}

/// `harness bench` for the 1997 experiments: sequences/s of one net, and of one net per core.
pub fn bench(names: &[String], sequences: u64) -> Result<()> {
    let chosen: Vec<TrialsConfig> = if names.is_empty() {
        repro_lstm::DEFAULT_TRIALS.iter().filter_map(|n| repro_lstm::trial_experiment(n)).collect()
    } else {
        names.iter().filter_map(|n| repro_lstm::trial_experiment(n)).collect()
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("| experiment | weights | threads | sequences/s | time steps/s |\n|---|---:|---:|---:|---:|");
    for c in &chosen {
        for threads in [1, cores] {
            let (seq, steps) = trials::bench(c, sequences, threads);
            println!("| `{}` | {} | {threads} | {} | {} |", c.name, c.net.weight_count(), group_digits(seq.round() as usize), group_digits(steps.round() as usize));
            if cores == 1 {
                break;
            }
        }
    }
    println!("\n{sequences} training sequences per thread (forward, backward, update) with each recipe's gradient and update rule; CPU: {}", repro_common::device::cpu_description());
    Ok(())
}
