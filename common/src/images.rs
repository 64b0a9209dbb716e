//! The one generic image experiment: every [`ImagePaper`] is a [`Paper`] through it. Training
//! (seeds, run directories, resume with its recipe check), reproduction, comparison, write-up,
//! replay and the listing are written here once for every paper of image classifiers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::claims::Verdict;
use crate::config::ExperimentConfig;
use crate::data;
use crate::engine::{self, TrainSpec};
use crate::gate::Gate;
use crate::lifecycle::{self, RunRequest};
use crate::paper::{ImagePaper, Paper, PaperError, Recipe, Reproduced};
use crate::records::{self, Manifest, RunStatus};
use crate::replay::ReplayError;
use crate::report;

impl<T: ImagePaper> Paper for T {
    fn id(&self) -> &'static str {
        ImagePaper::id(self)
    }

    fn listing(&self) -> Result<String, PaperError> {
        let mut s = format!("{} — {}\n\n  models:\n", ImagePaper::id(self), self.citation());
        for m in self.models() {
            let params: usize = self.layer_table(m.name)?.iter().map(|r| r.params).sum();
            let _ = writeln!(s, "    {:<16} {} trainable parameters; {}", m.name, report::group_digits(params), m.summary);
        }
        s.push_str("\n  experiments (harness train NAME):\n");
        for e in self.experiments() {
            let _ = writeln!(s, "    {:<18} {} [{} on {}, {} epochs]", e.name, e.description, e.model, e.data.dataset, e.epochs);
        }
        s.push_str("\n  claims:\n");
        for c in self.claims() {
            let _ = writeln!(s, "    {:<36} {} = {} ±{} on {} {} ({})", c.id, c.metric.label(), c.published, c.tolerance, c.dataset, c.split, c.source);
        }
        Ok(s)
    }

    fn experiment_names(&self) -> Vec<String> {
        self.experiments().into_iter().map(|e| e.name).collect()
    }

    fn layer_names(&self) -> Vec<String> {
        self.models().iter().map(|m| m.name.to_owned()).collect()
    }

    fn layers(&self, name: &str) -> Result<String, PaperError> {
        Ok(report::layer_table(&self.layer_table(name)?))
    }

    fn train(&self, recipe: Recipe<'_>, run: &RunRequest, results: &Path) -> Result<usize, PaperError> {
        let recipe = match recipe {
            Recipe::Named(name) => {
                self.experiments().into_iter().find(|e| e.name == name).ok_or_else(|| PaperError::UnknownExperiment { name: name.into(), known: self.experiment_names().join(", ") })?
            }
            Recipe::File { origin, text } => ExperimentConfig::from_yaml(text, origin)?,
        };
        train_experiment(self, &recipe, run, results)
    }

    fn reproduce(&self, sample: bool, run: &RunRequest, results: &Path) -> Result<Reproduced, PaperError> {
        let mut run = run.clone();
        let recipes = if sample {
            if run.dataset.is_some() {
                return Err(PaperError::Refused("--sample already chooses the dataset (mnist-sample); drop --dataset".into()));
            }
            run.dataset = Some("mnist-sample".into());
            self.sample_experiments()
        } else {
            // Weight-import experiments (no epochs) need a weights file: `evaluate-pretrained`.
            self.experiments().into_iter().filter(|e| e.epochs > 0).collect()
        };
        if recipes.is_empty() {
            return Err(PaperError::Refused(format!("paper `{}` has no {}experiments", ImagePaper::id(self), if sample { "sample " } else { "" })));
        }
        let mut failures = 0;
        for recipe in &recipes {
            failures += train_experiment(self, recipe, &run, results)?;
        }
        let note = if sample {
            format!(
                "Note: the bundled sample's 2,000 held-out digits come from the MNIST *training* set, so these\n\
                 numbers are not comparable with the paper's; the claims above stay `not run` until a run on the\n\
                 official MNIST test set exists (harness reproduce {} --data-dir DIR).\n",
                ImagePaper::id(self)
            )
        } else {
            String::new()
        };
        Ok(Reproduced { failures, note })
    }

    fn compare_text(&self, results: &Path) -> Result<String, PaperError> {
        let runs = report::collect_runs(results, ImagePaper::id(self))?;
        let rows = report::compare(&self.claims(), &runs, &self.experiments());
        let mut s = format!("{} — paper vs ours\n\n{}{}", ImagePaper::id(self), report::comparison_table(&rows), report::verdict_notes(&rows));
        let other: Vec<_> = runs.iter().filter(|r| !rows.iter().any(|c| c.runs.contains(&r.path))).cloned().collect();
        if !other.is_empty() {
            s.push_str("\nRuns with no published number to compare (other datasets, modified recipes):\n\n");
            s.push_str(&report::results_table(&other));
        }
        let not_run = rows.iter().filter(|r| r.verdict() == Verdict::NotRun).count();
        let _ = writeln!(s, "\n{} claim(s), {} not run.", rows.len(), not_run);
        Ok(s)
    }

    fn write_report(&self, results: &Path) -> Result<PathBuf, PaperError> {
        Ok(report::write_paper_report(self, results)?)
    }

    fn readme_section(&self, results: &Path) -> Result<String, PaperError> {
        Ok(report::readme_paper_results(self, results)?)
    }

    fn upgrade_record(&self, run_dir: &Path) -> Result<bool, PaperError> {
        Ok(Manifest::<records::EpochRun>::rewrite_in_current_layout(run_dir)?)
    }

    fn replay(&self, run_dir: &Path, run: &RunRequest, scratch: &Path) -> Result<Vec<(Gate, f64)>, PaperError> {
        let recorded: Manifest = Manifest::load(run_dir)?;
        let selected = run.place.select().map_err(lifecycle::LifecycleError::from)?;
        let dataset = data::load(&recorded.header.dataset, &run.place.data_source)
            .map_err(|e| PaperError::during(format!("loading dataset `{}` recorded by {}", recorded.header.dataset, run_dir.display()), e))?;
        let replayed = crate::replay::replay(self, run_dir, &selected, &dataset, scratch, run.command.clone()).map_err(|e| match e {
            ReplayError::Paper(p) => p,
            other => PaperError::Replay(Box::new(other)),
        })?;
        Ok(replayed.checks)
    }

    fn images(&self) -> Option<&dyn ImagePaper> {
        Some(self)
    }

    fn help_examples(&self) -> &'static [crate::paper::HelpExample] {
        self.files().help_examples
    }
}

/// Trains every seed of one experiment; returns how many runs stopped early.
fn train_experiment(paper: &dyn ImagePaper, recipe: &ExperimentConfig, run: &RunRequest, results: &Path) -> Result<usize, PaperError> {
    run.apply_settings()?;
    if recipe.epochs == 0 {
        return Err(PaperError::Refused(format!(
            "experiment `{}` trains nothing: it evaluates imported weights (`harness evaluate-pretrained {} --weights FILE --data-dir DIR`)",
            recipe.name, recipe.name
        )));
    }
    let mut overrides = run.overrides.clone();
    if let Some(d) = &run.dataset {
        overrides.push(format!("data.dataset={d}"));
    }
    let mut config = recipe.with_overrides(&overrides)?;
    if config.epochs == 0 {
        return Err(PaperError::Refused(format!("experiment `{}` with epochs=0 trains nothing: to evaluate weights, use `harness evaluate-pretrained`", config.name)));
    }
    paper.check_recipe(&config).map_err(|e| PaperError::Refused(format!("experiment `{}`: {e}", config.name)))?;
    config.seeds = run.seeds.resolve(&config.seeds)?;
    let selected = run.place.select().map_err(lifecycle::LifecycleError::from)?;
    let dataset = data::load(&config.data.dataset, &run.place.data_source).map_err(|e| PaperError::during(format!("loading dataset `{}` for experiment `{}`", config.data.dataset, config.name), e))?;
    let exp_dir = records::experiment_dir(results, paper.id(), &config.name, &config.data.dataset);
    eprintln!("{}: {} on {} ({}), {} epochs, seeds {:?}, {} / {}", config.name, config.model, config.data.dataset, dataset.origin, config.epochs, config.seeds, selected.backend, selected.name);
    let mut failures = 0;
    for &seed in &config.seeds.clone() {
        // A damaged checkpoint index is an error naming it, never "no checkpoint yet".
        let dir = lifecycle::run_dir(&exp_dir, seed, run.resume, |d| engine::checkpoint_weights(d).map(|w| w.is_some()))?;
        if dir.resume {
            let previous: Manifest = Manifest::load(&dir.path)?;
            let wanted = config_for_seed(&config, &previous);
            if previous.body.config != wanted {
                return Err(PaperError::Refused(format!(
                    "cannot resume {}: its recipe differs from the one requested now in {} (compare its manifest.yaml)",
                    dir.path.display(),
                    differing_fields(&previous.body.config, &wanted).join(", ")
                )));
            }
            eprintln!("resuming {} after epoch {}", dir.path.display(), previous.body.epochs_completed);
        }
        eprintln!("{} seed {seed}: recording in {}", config.name, dir.path.display());
        let spec = TrainSpec { config: &config, seed, selected: &selected, dataset: &dataset, run_dir: dir.path.clone(), resume: dir.resume, command: run.command.clone(), stop_after_epoch: None };
        let manifest = paper.train(spec)?;
        match manifest.header.status {
            RunStatus::Complete => {
                let m = manifest.body.final_metrics.as_ref().expect("complete runs have metrics");
                eprintln!(
                    "{} seed {seed}: {} error {:.2}% after {} epochs ({}) -> {}",
                    config.name,
                    config.data.eval_split,
                    m.test_error_pct,
                    m.epoch,
                    report::human_time(manifest.body.train_time_s),
                    dir.path.display()
                );
            }
            RunStatus::Stopped => {
                eprintln!("error: {} seed {seed} stopped: {}", config.name, manifest.header.stop_reason.as_deref().unwrap_or("unknown reason"));
                failures += 1;
            }
            RunStatus::Running => {}
        }
    }
    Ok(failures)
}

/// The recipe a resumed run must have: the requested one, with the run's own seed list (seeds
/// may legitimately differ between invocations).
fn config_for_seed(requested: &ExperimentConfig, previous: &Manifest) -> ExperimentConfig {
    let mut c = requested.clone();
    c.seeds = previous.body.config.seeds.clone();
    c
}

/// The dotted keys (`schedule.steps`, `data.train_limit`) whose values differ between two recipes.
fn differing_fields(a: &ExperimentConfig, b: &ExperimentConfig) -> Vec<String> {
    fn walk(prefix: &str, a: &serde_yaml_ng::Value, b: &serde_yaml_ng::Value, out: &mut Vec<String>) {
        match (a.as_mapping(), b.as_mapping()) {
            (Some(ma), Some(mb)) => {
                let keys: std::collections::BTreeSet<String> = ma.keys().chain(mb.keys()).filter_map(|k| k.as_str().map(str::to_owned)).collect();
                let null = serde_yaml_ng::Value::Null;
                for k in keys {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&path, ma.get(k.as_str()).unwrap_or(&null), mb.get(k.as_str()).unwrap_or(&null), out);
                }
            }
            _ if a != b => out.push(format!("`{prefix}`")),
            _ => {}
        }
    }
    let (Ok(a), Ok(b)) = (serde_yaml_ng::to_value(a), serde_yaml_ng::to_value(b)) else { return vec!["its fields".into()] };
    let mut out = Vec::new();
    walk("", &a, &b, &mut out);
    out
}
