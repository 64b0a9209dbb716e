//! The LSTM write-up: every claim of both papers beside our runs, the trials of each 1997
//! experiment, the weight counts against the paper's, and the commands that made the numbers.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use repro_common::claims::{self, Claim, Metric, Observation, Verdict};
use repro_common::records::{self, RecordError, RunStatus};
use repro_common::report::{Answer, Answers, ClaimComparison, StripLegend, StripRow, group_digits, human_time, judge_claims, same_recipe, strip_plot_svg, verdict_notes, write_claims_figure};

use crate::metrics;
use crate::ptb::PtbManifest;
use crate::trials::{TrialsConfig, TrialsManifest, is_trials_record, load_trials};

/// A finished 1997 trials run.
#[derive(Debug, Clone)]
pub struct TrialsRecord {
    pub path: PathBuf,
    pub manifest: TrialsManifest,
    /// Every trial that ended, read once (none for a run killed before its first).
    pub trials: Vec<crate::trials::TrialResult>,
}

/// A finished PTB run.
#[derive(Debug, Clone)]
pub struct PtbRecord {
    pub path: PathBuf,
    pub manifest: PtbManifest,
}

/// All records under `results/lstm`, told apart by their header's dataset.
pub fn collect(results_root: &Path) -> Result<(Vec<TrialsRecord>, Vec<PtbRecord>), RecordError> {
    let mut trials = Vec::new();
    let mut ptb = Vec::new();
    for path in records::find_runs(&results_root.join(crate::ID)) {
        // Every record, finished or not: a claim lists the unfinished and counts the stopped.
        if is_trials_record(&path)? {
            let done = if path.join("trials.csv").is_file() { load_trials(&path)? } else { Vec::new() };
            trials.push(TrialsRecord { manifest: TrialsManifest::load(&path)?, trials: done, path });
        } else {
            ptb.push(PtbRecord { manifest: PtbManifest::load(&path)?, path });
        }
    }
    Ok((trials, ptb))
}

/// How a run's recipe differs from the shipped one, as `key=value` pairs (seed and prose aside).
pub fn variant_of(run: &TrialsConfig, recipe: &TrialsConfig) -> Vec<String> {
    let ours = claims::flatten(run);
    let shipped = claims::flatten(recipe);
    let show = |v: Option<&serde_yaml_ng::Value>| match v {
        Some(serde_yaml_ng::Value::String(s)) => s.clone(),
        Some(v) => serde_yaml_ng::to_string(v).map(|s| s.trim_end().to_string()).unwrap_or_default(),
        None => "unset".into(),
    };
    let mut keys: Vec<&String> = ours.keys().chain(shipped.keys()).filter(|k| *k != "seed" && *k != "description" && !k.starts_with("sources.")).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| ours.get(*k) != shipped.get(*k)).map(|k| format!("{k}={}", show(ours.get(k)))).collect()
}

/// The study of §2: every run of a modified shipped recipe, beside the shipped recipe's own runs,
/// as "variant → success rate, sequences to success".
pub fn study_table(runs: &[TrialsRecord]) -> String {
    let recipes = crate::trial_experiments();
    let mut rows: Vec<(usize, String, &TrialsRecord)> = Vec::new();
    for run in runs {
        let Some((i, recipe)) = recipes.iter().enumerate().find(|(_, r)| r.name == run.manifest.header.experiment) else { continue };
        let variant = variant_of(&run.manifest.body.config, recipe);
        rows.push((i, if variant.is_empty() { "(the shipped recipe)".into() } else { variant.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(" ") }, run));
    }
    // Only experiments that have variants make a study.
    let studied: Vec<usize> = rows.iter().filter(|(_, v, _)| !v.starts_with('(')).map(|(i, _, _)| *i).collect();
    rows.retain(|(i, _, _)| studied.contains(i));
    rows.sort_by(|a, b| (a.0, !a.1.starts_with('('), &a.1).cmp(&(b.0, !b.1.starts_with('('), &b.1)));
    if rows.is_empty() {
        return String::new();
    }
    let mut s =
        String::from("| experiment | variant | seed | success | sequences to success of the trials that succeeded, mean ± std | test wrong, mean over all trials |\n|---|---|---:|---:|---|---:|\n");
    for (_, variant, run) in rows {
        let Some(sm) = &run.manifest.body.summary else { continue };
        let seqs = match (sm.mean_sequences, sm.std_sequences) {
            (Some(m), Some(sd)) => format!("{} ± {}", group_digits(m.round() as usize), group_digits(sd.round() as usize)),
            _ => "–".into(),
        };
        // Over every trial, failed ones included: how close the failures came.
        let all = &run.trials;
        let wrong = all.iter().map(|t| t.test_wrong as f64).sum::<f64>() / all.len().max(1) as f64;
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {}/{} ({:.0}%) | {} | {:.1} of {} |",
            run.manifest.header.experiment, variant, run.manifest.header.seed, sm.successes, sm.trials, sm.success_rate_pct, seqs, wrong, sm.test_total
        );
    }
    s
}

/// Writes `results/lstm/trials.svg`, every trial of the shipped recipes' runs (seeds pooled) as a
/// strip per experiment, sequences to success on a log scale, failures where they stopped, the
/// paper's mean where a claim gives it; returns the write-up's paragraph.
pub fn write_trials_figure(results_root: &Path, trials: &[TrialsRecord], claims: &[Claim]) -> Result<String, RecordError> {
    let mut rows: Vec<StripRow> = Vec::new();
    for recipe in crate::trial_experiments() {
        let runs: Vec<&TrialsRecord> =
            trials.iter().filter(|r| r.manifest.header.status == RunStatus::Complete && r.manifest.header.experiment == recipe.name && same_recipe(&r.manifest.body.config, &recipe)).collect();
        let mut items = Vec::new();
        for run in &runs {
            items.extend(run.trials.iter().map(|t| (t.sequences as f64, t.success)));
        }
        if items.is_empty() {
            continue;
        }
        let reference = claims.iter().find(|c| c.experiment == recipe.name && c.metric == metrics::SEQUENCES_TO_SUCCESS).map(|c| c.published.value);
        let pooled = if runs.len() == 1 { String::new() } else { format!(", {} runs", runs.len()) };
        rows.push(StripRow { label: format!("{} ({} trials{pooled})", recipe.name, items.len()), items, reference });
    }
    let legend = StripLegend { success: "a trial's sequences to success", failure: "a failed trial, where it stopped", mean: "our mean over successes", reference: "the paper's mean" };
    let Some(svg) = strip_plot_svg("1997 experiments: training sequences of every trial", "training sequences (log scale)", legend, &rows) else { return Ok(String::new()) };
    records::write_atomic(&results_root.join(crate::ID).join("trials.svg"), svg.as_bytes())?;
    Ok("Every trial of the shipped recipes' runs: a dot where it succeeded, a cross where it failed (at the budget, or where it diverged); the bar is our mean over successes, the triangle the paper's mean where it states one.\n\n![sequences to success of every trial](trials.svg)\n\n".into())
}

/// Both papers' claims against the records: the 1997 claims read every trial of a run (a failed
/// trial counts at its budget, [`TrialsConfig::censored_at`]; a column the run did not record
/// leaves it unanswered), the PTB claims its final perplexities (a stopped run counts as failed).
pub fn compare(claims: &[Claim], trials: &[TrialsRecord], ptb: &[PtbRecord]) -> Vec<ClaimComparison> {
    let trial_recipes = crate::trial_experiments();
    let ptb_recipes = crate::ptb::experiments();
    judge_claims(claims, |claim| {
        let mut answers = Answers::default();
        if let Some(recipe) = trial_recipes.iter().find(|r| r.name == claim.experiment) {
            for run in trials.iter().filter(|r| r.manifest.header.experiment == claim.experiment && same_recipe(&r.manifest.body.config, recipe)) {
                let config = &run.manifest.body.config;
                let seed = run.manifest.header.seed;
                let path = run.path.display().to_string();
                if run.manifest.header.status != RunStatus::Complete {
                    answers.unfinished.push(path);
                    continue;
                }
                match observations(claim.metric, run) {
                    Some(o) => answers.used.push(Answer::trials(path, seed, o, config)),
                    None => answers.unmeasured.push(path),
                }
            }
        } else if let Some(recipe) = ptb_recipes.iter().find(|r| r.name == claim.experiment) {
            for run in ptb.iter().filter(|r| r.manifest.header.experiment == claim.experiment && r.manifest.header.dataset == claim.dataset && same_recipe(&r.manifest.body.config, recipe)) {
                let m = &run.manifest;
                let value = m.body.final_metrics.as_ref().map(|f| if claim.split == "valid" { f.valid_perplexity } else { f.test_perplexity });
                answers.add_run(run.path.display().to_string(), m.header.status, m.header.seed, value, &m.body.config);
            }
        }
        answers
    })
}

/// What one trials run observed for a claim's metric: one observation per trial (a failed trial
/// censored at its budget for a count; every trial's final test for a test column), or the
/// run's success rate; None when its record does not hold the column.
fn observations(metric: Metric, run: &TrialsRecord) -> Option<Vec<Observation>> {
    let all = &run.trials;
    let censored = Observation::Censored { budget: run.manifest.body.config.censored_at() as f64 };
    // A non-finite test value is a net that diverged: a failed trial, counted at the worst.
    let per_trial = |value: &dyn Fn(&crate::trials::TrialResult) -> Option<f64>| -> Option<Vec<Observation>> {
        all.iter().map(|t| value(t).map(|v| if v.is_finite() { Observation::Measured(v) } else { Observation::Stopped })).collect()
    };
    match metric {
        metrics::SUCCESS_RATE_PCT => run.manifest.body.summary.as_ref().map(|s| vec![Observation::Measured(s.success_rate_pct)]),
        metrics::SEQUENCES_TO_SUCCESS => Some(all.iter().map(|t| if t.success { Observation::Measured(t.sequences as f64) } else { censored }).collect()),
        metrics::SEQUENCES_TO_ST1 => Some(all.iter().map(|t| t.st1_sequences.map(|s| Observation::Measured(s as f64)).unwrap_or(censored)).collect()),
        // Every trial's net is tested, a failed one where it stopped.
        metrics::TEST_WRONG => per_trial(&|t| Some(t.test_wrong as f64)),
        metrics::FRACTION_MISCLASSIFIED => per_trial(&|t| (t.test_total > 0).then(|| t.test_wrong as f64 / t.test_total as f64)),
        metrics::TEST_MSE => per_trial(&|t| Some(t.test_mse)),
        metrics::MEAN_ABS_DIFFERENCE => per_trial(&|t| t.test_mae),
        _ => None,
    }
    .filter(|o| !o.is_empty())
}

fn fmt_value(metric: Metric, v: f64) -> String {
    match metric {
        metrics::SEQUENCES_TO_SUCCESS | metrics::SEQUENCES_TO_ST1 => group_digits(v.round() as usize),
        metrics::SUCCESS_RATE_PCT => format!("{v:.0}"),
        metrics::TEST_WRONG | metrics::PERPLEXITY => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

pub fn comparison_table(rows: &[ClaimComparison]) -> String {
    let mut s = String::from("| claim | source | metric | paper | ours | verdict |\n|---|---|---|---:|---:|---|\n");
    for r in rows {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | **{}** |",
            r.claim.id,
            r.claim.source,
            r.claim.metric.label(),
            claims::format_like(&r.claim, r.claim.published.value),
            r.judgement.ours(&r.claim),
            r.verdict()
        );
    }
    s
}

/// The paper's weight count beside ours, for every shipped 1997 net.
pub fn weights_table(recipes: &[TrialsConfig]) -> String {
    let mut s = String::from("| experiment | net | weights (ours) | paper |\n|---|---|---:|---:|\n");
    for r in recipes {
        let n = &r.net;
        let _ = writeln!(
            s,
            "| `{}` | {} in, {} × {} cell(s){}, {} out | {} | {} |",
            r.name,
            n.inputs,
            n.blocks,
            n.cells_per_block,
            if n.output_gates { "" } else { ", no output gate" },
            n.outputs,
            group_digits(n.weight_count()),
            r.paper_weights.map(group_digits).unwrap_or_else(|| "–".into())
        );
    }
    s
}

/// One line per trials run.
pub fn trials_table(runs: &[TrialsRecord]) -> String {
    let mut s = String::from(
        "| experiment | seed | trials | success | sequences to success of the trials that succeeded, mean ± std [min–max] | test wrong, mean of those trials | their test MSE | wall time | sequences/s |\n|---|---:|---:|---:|---|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let Some(sm) = &r.manifest.body.summary else { continue };
        let seqs = match (sm.mean_sequences, sm.std_sequences, sm.min_sequences, sm.max_sequences) {
            (Some(m), Some(sd), Some(lo), Some(hi)) => {
                format!("{} ± {} [{}–{}]", group_digits(m.round() as usize), group_digits(sd.round() as usize), group_digits(lo as usize), group_digits(hi as usize))
            }
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {}/{} ({:.0}%) | {} | {} of {} | {} | {} | {} |",
            r.manifest.header.experiment,
            r.manifest.header.seed,
            sm.trials,
            sm.successes,
            sm.trials,
            sm.success_rate_pct,
            seqs,
            if sm.successes > 0 { format!("{:.1}", sm.mean_test_wrong) } else { "–".into() },
            sm.test_total,
            if sm.successes > 0 { format!("{:.4}", sm.mean_test_mse) } else { "–".into() },
            human_time(r.manifest.header.wall_time_s),
            group_digits(sm.sequences_per_s.round() as usize)
        );
    }
    s
}

/// Every trial of a run, as the paper's tables would list them.
pub fn per_trial_table(run: &TrialsRecord) -> String {
    let mut s = String::from("| trial | success | sequences | test wrong | test MSE | time | note |\n|---:|---|---:|---:|---:|---:|---|\n");
    for t in &run.trials {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} of {} | {:.4} | {:.1} s | {} |",
            t.trial,
            if t.success { "yes" } else { "no" },
            group_digits(t.sequences as usize),
            t.test_wrong,
            t.test_total,
            t.test_mse,
            t.time_s,
            t.note
        );
    }
    s
}

pub fn ptb_table(runs: &[PtbRecord]) -> String {
    let mut s = String::from("| experiment | dataset | seed | epochs | valid ppl | test ppl | words/s | train time |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    for r in runs {
        let m = &r.manifest;
        let Some(f) = &m.body.final_metrics else { continue };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {:.1} | {:.1} | {:.0} | {} |",
            m.header.experiment,
            m.header.dataset,
            m.header.seed,
            f.epoch,
            f.valid_perplexity,
            f.test_perplexity,
            f.words_per_s,
            human_time(m.body.train_time_s)
        );
    }
    s
}

/// The paper-vs-ours text `harness compare lstm` prints.
pub fn compare_text(results_root: &Path) -> Result<String, RecordError> {
    let (trials, ptb) = collect(results_root)?;
    let rows = compare(&crate::claims(), &trials, &ptb);
    let not_run = rows.iter().filter(|r| r.verdict() == Verdict::NotRun).count();
    Ok(format!("lstm — paper vs ours\n\n{}\n{}{} claim(s), {} not run.\n", comparison_table(&rows), verdict_notes(&rows), rows.len(), not_run))
}

/// Writes `results/lstm/README.md`.
pub fn write(results_root: &Path) -> Result<PathBuf, RecordError> {
    let (trials, ptb) = collect(results_root)?;
    let claims = crate::claims();
    let rows = compare(&claims, &trials, &ptb);
    let recipes = crate::trial_experiments();
    let mut s = String::new();
    s.push_str("<!-- generated by `harness report lstm` from the records below; edit papers/lstm/INTRO.md or DEVIATIONS.md instead -->\n");
    s.push_str(crate::INTRO);
    s.push_str("\n## Paper vs ours\n\n");
    s.push_str("Each claim is compared with every run of the shipped recipe (any seed) and every trial of each; runs of modified recipes are listed below but never compared. Tolerances and the paper's rules are in `papers/lstm/claims.yaml`. ");
    s.push_str(&claims::set_after_runs_note(&claims));
    s.push('\n');
    s.push_str(claims::VERDICT_LEGEND);
    s.push_str("\n\n");
    s.push_str(&comparison_table(&rows));
    let notes = verdict_notes(&rows);
    if !notes.is_empty() {
        s.push('\n');
        s.push_str(&notes);
    }
    s.push('\n');
    s.push_str(&write_claims_figure(results_root, crate::ID, "lstm: the papers' claims against our runs", &rows)?);
    // The experiments no record answers yet, each with the command that would.
    let mut not_run: Vec<&str> = rows.iter().filter(|r| r.verdict() == Verdict::NotRun && recipes.iter().any(|e| e.name == r.claim.experiment)).map(|r| r.claim.experiment.as_str()).collect();
    not_run.dedup();
    if !not_run.is_empty() {
        let _ = writeln!(
            s,
            "\n**Not run** where these records were made (too long for the 2-core CPU of the session that made them; `harness bench --experiment NAME` measures the speed on yours), with the command that runs each:\n"
        );
        for e in not_run {
            let _ = writeln!(s, "- `{e}`: `cargo run --release -p harness -- train {e}`");
        }
    }
    let _ = writeln!(s, "\n{} claims; {} not run.\n", rows.len(), rows.iter().filter(|r| r.verdict() == Verdict::NotRun).count());
    s.push_str("## 1997 experiments: the runs\n\n");
    if trials.is_empty() {
        s.push_str("No runs yet: `cargo run --release -p harness -- reproduce lstm`.\n\n");
    } else {
        s.push_str(&trials_table(&trials));
        s.push_str("\nSequences/s counts training sequences over wall time with all trials running side by side (threads in each run's manifest).\n\n");
        s.push_str(&write_trials_figure(results_root, &trials, &claims)?);
        for run in &trials {
            let _ = writeln!(
                s,
                "<details><summary><code>{}</code> seed {}: every trial</summary>\n\n{}\nCommand: `{}`  \nRecord: `{}` (commit {}{}, {} threads, {}, {})\n\n</details>\n",
                run.manifest.header.experiment,
                run.manifest.header.seed,
                per_trial_table(run),
                run.manifest.header.provenance.command,
                run.path.strip_prefix(results_root).unwrap_or(&run.path).display(),
                &run.manifest.header.provenance.git_commit[..run.manifest.header.provenance.git_commit.len().min(10)],
                if run.manifest.header.provenance.git_dirty { ", dirty" } else { "" },
                run.manifest.body.threads,
                run.manifest.header.provenance.cpu,
                run.manifest.header.provenance.host
            );
        }
    }
    let study = study_table(&trials);
    if !study.is_empty() {
        s.push_str("## The study: variants of the shipped recipes\n\nEach row is a recorded run of the shipped trial runner with the recipe changed by `--set` (the variant column lists every key that differs). Such runs never answer a claim; they show what the paper's open choices do.\n\n");
        s.push_str(&study);
        s.push('\n');
        s.push_str(crate::STUDY);
        s.push('\n');
    }
    s.push_str("## Weight counts\n\nCounted from the net each recipe builds (`harness layers EXPERIMENT`), beside the figure the paper states.\n\n");
    s.push_str(&weights_table(&recipes));
    s.push_str("\n## PTB language model (Zaremba et al. 2014)\n\n");
    if ptb.is_empty() {
        s.push_str("No PTB run yet. On a machine with the data (or network) and, realistically, a GPU:\n\n```\n");
        for e in crate::ptb::experiments() {
            let _ = writeln!(s, "cargo run --release -p harness --features cuda -- train {} --device cuda --data-dir DIR_WITH_ptb.*.txt", e.name);
        }
        s.push_str("```\n\n");
    } else {
        s.push_str(&ptb_table(&ptb));
        s.push('\n');
        for r in &ptb {
            let _ = writeln!(s, "- `{}`: `{}`", r.manifest.header.experiment, r.manifest.header.provenance.command);
        }
        s.push('\n');
    }
    s.push_str("## How to reproduce\n\n```\ncargo run --release -p harness -- reproduce lstm            # exp. 1 (both nets, lr 0.5), exp. 4 at T = 100 and exp. 6a\ncargo run --release -p harness -- train exp1-4x1-lr0.1        # any experiment by name (harness list)\ncargo run --release -p harness -- train exp4-t100 --set trials=3 --set gradient=full\ncargo run --release -p harness -- report lstm\n```\n\n");
    s.push_str(crate::DEVIATIONS);
    let path = results_root.join(crate::ID).join("README.md");
    records::write_atomic(&path, s.as_bytes())?;
    Ok(path)
}

/// The LSTM part of the top-level README's generated results (`harness report readme` places it
/// with the image papers'): every 1997 trials run of a shipped recipe against the paper's numbers,
/// the weight counts, and the throughput of the runs, all from the records and recipes.
pub fn readme_results(results_root: &Path) -> Result<String, RecordError> {
    let (trials, ptb) = collect(results_root)?;
    let recipes = crate::trial_experiments();
    let claims = crate::claims();
    let rows = compare(&claims, &trials, &ptb);
    // Runs of modified recipes are in the write-up, never here.
    let recipe_of = |run: &TrialsRecord| recipes.iter().find(|r| r.name == run.manifest.header.experiment && same_recipe(&run.manifest.body.config, r));
    let mut runs: Vec<(&TrialsRecord, &TrialsConfig)> = trials.iter().filter_map(|run| recipe_of(run).map(|recipe| (run, recipe))).filter(|(run, _)| run.manifest.body.summary.is_some()).collect();
    let position = |name: &str| recipes.iter().position(|r| r.name == name);
    runs.sort_by_key(|(run, _)| (position(&run.manifest.header.experiment), run.manifest.header.seed));

    let mut s = String::from("### LSTM (1997): trials on generated data\n\n");
    if runs.is_empty() {
        s.push_str("No 1997 trials recorded yet: `cargo run --release -p harness -- reproduce lstm`.\n\n");
        return Ok(s);
    }
    let distinct = |mut v: Vec<String>| {
        v.sort();
        v.dedup();
        v
    };
    let default_time: f64 = crate::DEFAULT_TRIALS
        .iter()
        .filter_map(|name| {
            let times: Vec<f64> = runs.iter().filter(|(run, _)| run.manifest.header.experiment == *name).map(|(run, _)| run.manifest.header.wall_time_s).collect();
            (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64)
        })
        .sum();
    let cpus = distinct(runs.iter().map(|(run, _)| run.manifest.header.provenance.cpu.clone()).collect());
    let seeds = distinct(runs.iter().map(|(run, _)| run.manifest.header.seed.to_string()).collect());
    let learning = distinct(
        runs.iter()
            .map(|(run, _)| {
                let c = &run.manifest.body.config;
                let gradient = match c.gradient {
                    crate::net1997::Gradient::Truncated => "the paper's truncated gradient",
                    crate::net1997::Gradient::Full => "the full gradient",
                };
                let update = match c.update {
                    crate::trials::Update::Sequence => "one update per sequence",
                    crate::trials::Update::Step => "an update at every step",
                };
                format!("{gradient}, {update}")
            })
            .collect(),
    );
    let _ = writeln!(
        s,
        "`cargo run --release -p harness -- reproduce lstm` ({}: {} of wall time in the records, on {}) and `harness train NAME` for the others. From [`results/{}/`](results/{}/README.md), seed{} {}, {}:\n",
        crate::DEFAULT_TRIALS.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
        human_time(default_time),
        cpus.join("; "),
        crate::ID,
        crate::ID,
        if seeds.len() == 1 { "" } else { "s" },
        seeds.join(", "),
        learning.join("; ")
    );
    s.push_str("| experiment | paper | ours: trials that succeeded; wrong test sequences and sequences to success, over every trial (a failed one at its budget: ≥) | verdict |\n|---|---|---|---|\n");
    for (run, recipe) in &runs {
        let Some(sm) = &run.manifest.body.summary else { continue };
        let own: Vec<&ClaimComparison> = rows.iter().filter(|r| r.claim.experiment == recipe.name).collect();
        let claim_value = |metric: Metric| own.iter().find(|r| r.claim.metric == metric).map(|r| r.claim.published.value);
        let mut paper = Vec::new();
        if let Some(v) = claim_value(metrics::SUCCESS_RATE_PCT) {
            paper.push(format!("{}% succeed", fmt_value(metrics::SUCCESS_RATE_PCT, v)));
        }
        if let Some(v) = claim_value(metrics::TEST_WRONG) {
            paper.push(format!("{} wrong", whole_or_tenths(v)));
        }
        if let Some(v) = claim_value(metrics::SEQUENCES_TO_SUCCESS) {
            paper.push(fmt_value(metrics::SEQUENCES_TO_SUCCESS, v));
        }
        // This run's every trial, counted as its claims count them.
        let judged = |metric: Metric| own.iter().find(|r| r.claim.metric == metric).and_then(|r| observations(metric, run).map(|o| claims::judge(&r.claim, &[o], &[]).ours(&r.claim)));
        let mut ours = format!("{}/{} within {}", sm.successes, sm.trials, group_digits(run.manifest.body.config.max_sequences as usize));
        if let Some(wrong) = judged(metrics::TEST_WRONG) {
            let _ = write!(ours, "; {wrong} wrong of {}", group_digits(sm.test_total as usize));
        }
        let _ = write!(ours, "; {}", judged(metrics::SEQUENCES_TO_SUCCESS).unwrap_or_else(|| "–".into()));
        let verdicts: Vec<String> = own.iter().map(|r| format!("{}: {}", r.claim.metric.label(), r.verdict())).collect();
        let _ = writeln!(s, "| `{}`: {} ({}) | {} | {} | {} |", recipe.name, recipe.description, recipe.table, paper.join(", "), ours, verdicts.join("; "));
    }
    s.push('\n');

    // The weight counts of every shipped net, in recipe order, each once.
    let mut counts: Vec<usize> = Vec::new();
    for r in &recipes {
        if !counts.contains(&r.net.weight_count()) {
            counts.push(r.net.weight_count());
        }
    }
    let all_match = recipes.iter().all(|r| r.paper_weights.is_none_or(|w| w == r.net.weight_count()));
    let _ = write!(
        s,
        "The weight counts of the {} shipped nets {} ({}), and the gradients pass finite-difference checks (`tests/tests/gradcheck.rs`).",
        recipes.len(),
        if all_match { "equal the paper's" } else { "are, against the paper's (see the write-up)," },
        counts.iter().map(|&c| group_digits(c)).collect::<Vec<_>>().join(", ")
    );
    if runs.iter().any(|(run, r)| matches!(r.task, crate::tasks::Task::EmbeddedReber { .. }) && run.manifest.body.summary.as_ref().is_some_and(|sm| sm.success_rate_pct < 50.0)) {
        s.push_str(" Most exp. 1 trials learn the grammar but not the long-lag symbol.");
    }
    let reber: Vec<f64> =
        runs.iter().filter(|(_, r)| matches!(r.task, crate::tasks::Task::EmbeddedReber { .. })).filter_map(|(run, _)| run.manifest.body.summary.as_ref().map(|sm| sm.sequences_per_s)).collect();
    if !reber.is_empty() {
        let threads = distinct(runs.iter().map(|(run, _)| run.manifest.body.threads.to_string()).collect());
        let (lo, hi) = (reber.iter().copied().fold(f64::INFINITY, f64::min), reber.iter().copied().fold(0.0, f64::max));
        let _ = write!(
            s,
            " With the trials side by side on {} thread{}, the hand-written cell trained {}–{} Reber strings/s in the exp. 1 runs; `harness bench --experiment exp1-4x1-lr0.5 --experiment exp4-t100` measures it alone.",
            threads.join(" or "),
            if threads == ["1"] { "" } else { "s" },
            group_digits(lo.round() as usize),
            group_digits(hi.round() as usize)
        );
    }
    s.push_str("\n\n");
    Ok(s)
}

/// `18` for whole numbers, `0.5` otherwise (mean wrong test sequences over runs).
fn whole_or_tenths(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}
