//! Turning run records into comparisons, tables, learning curves and the per-paper write-up.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::claims::{self, Claim, Judgement, Metric, Observation, Summary, Verdict};
use crate::config::ExperimentConfig;
use crate::paper::{ImagePaper, LayerRow, Paper, PaperError};
use crate::records::{self, EpochMetrics, Manifest, RecordError, RunStatus};

/// A run read back from `results/`.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Path relative to the results root, with `/` separators.
    pub path: String,
    pub manifest: Manifest,
    pub metrics: Vec<EpochMetrics>,
}

impl RunRecord {
    pub fn final_test_error(&self) -> Option<f64> {
        self.manifest.body.final_metrics.as_ref().map(|m| m.test_error_pct)
    }
}

/// Reads every run of `paper` under `results_root`.
pub fn collect_runs(results_root: &Path, paper: &str) -> Result<Vec<RunRecord>, RecordError> {
    let mut runs = Vec::new();
    for dir in records::find_runs(&results_root.join(paper)) {
        let manifest: Manifest = Manifest::load(&dir)?;
        let metrics = if dir.join("metrics.csv").is_file() { records::load_metrics(&dir)? } else { Vec::new() };
        let path = dir.strip_prefix(results_root).unwrap_or(&dir).to_string_lossy().replace('\\', "/");
        runs.push(RunRecord { path, manifest, metrics });
    }
    Ok(runs)
}

/// True when a run's recipe, of any kind, is the shipped one, so the run may stand for the
/// paper's claim: every field equal but the seed(s) and the prose (description, sources), which
/// do not change what is computed.
pub fn same_recipe(run: &impl serde::Serialize, recipe: &impl serde::Serialize) -> bool {
    fn numbers(mut fields: BTreeMap<String, serde_yaml_ng::Value>) -> BTreeMap<String, serde_yaml_ng::Value> {
        fields.retain(|k, _| !matches!(k.as_str(), "seed" | "seeds" | "description" | "sources") && !k.starts_with("sources."));
        fields
    }
    numbers(claims::flatten(run)) == numbers(claims::flatten(recipe))
}

/// True when an image run used the shipped recipe ([`same_recipe`]).
pub fn follows_recipe(run: &Manifest, recipe: &ExperimentConfig) -> bool {
    same_recipe(&run.body.config, recipe)
}

/// True when a run followed its shipped recipe on whatever dataset it names (`--dataset` or
/// `reproduce --sample` changes only that): its numbers are the recipe's, on that data.
pub fn follows_recipe_on_its_dataset(run: &Manifest, recipe: &ExperimentConfig) -> bool {
    let mut recipe = recipe.clone();
    recipe.data.dataset = run.body.config.data.dataset.clone();
    follows_recipe(run, &recipe)
}

/// One claim against the runs that answer it.
#[derive(Debug, Clone)]
pub struct ClaimComparison {
    pub claim: Claim,
    /// The verdict, the number it rests on and how it was counted.
    pub judgement: Judgement,
    /// Runs counted (on the claim's dataset and split, with the shipped recipe), in seed order,
    /// stopped ones included.
    pub runs: Vec<String>,
    /// Of those, the runs that stopped before their end: failed runs, counted as such.
    pub stopped: Vec<String>,
    /// Runs not finished (interrupted, resumable): listed, not counted.
    pub unfinished: Vec<String>,
    /// Runs whose record does not hold the claim's number: listed, not counted.
    pub unmeasured: Vec<String>,
    /// Evaluations of weights without the claim's pedigree: recorded, never answering it.
    pub foreign: Vec<String>,
    /// Runs on the claim's dataset left out because their recipe was modified.
    pub excluded: Vec<String>,
    /// Where the counted runs' rule differs from the paper's (why a verdict is "other rule").
    pub rule_differences: Vec<String>,
}

impl ClaimComparison {
    pub fn verdict(&self) -> Verdict {
        self.judgement.verdict
    }
    /// The claim's statistic over its runs (a bound when trials were censored).
    pub fn summary(&self) -> Option<&Summary> {
        self.judgement.summary.as_ref()
    }
}

/// A run's answer to a claim: the run (its path under the results root), its seed, what it
/// observed (its number, each trial's outcome, or that it stopped) and its recipe flattened, the
/// rule it ran under.
pub struct Answer {
    pub run: String,
    pub seed: u64,
    pub observations: Vec<Observation>,
    pub rule: BTreeMap<String, serde_yaml_ng::Value>,
}

impl Answer {
    /// A complete run's number.
    pub fn measured(run: impl Into<String>, seed: u64, value: f64, recipe: &impl serde::Serialize) -> Self {
        Self { run: run.into(), seed, observations: vec![Observation::Measured(value)], rule: claims::flatten(recipe) }
    }
    /// A run that stopped before its end: a failed run.
    pub fn stopped(run: impl Into<String>, seed: u64, recipe: &impl serde::Serialize) -> Self {
        Self { run: run.into(), seed, observations: vec![Observation::Stopped], rule: claims::flatten(recipe) }
    }
    /// A run of trials, each succeeded (its number) or censored at its budget.
    pub fn trials(run: impl Into<String>, seed: u64, observations: Vec<Observation>, recipe: &impl serde::Serialize) -> Self {
        Self { run: run.into(), seed, observations, rule: claims::flatten(recipe) }
    }
}

/// What answers one claim: the shipped recipe's runs, the runs not finished (listed, not
/// counted) and the runs on its dataset left out because their recipe was modified.
#[derive(Default)]
pub struct Answers {
    pub used: Vec<Answer>,
    pub unfinished: Vec<String>,
    /// Runs of the shipped recipe whose record does not hold the claim's number (a column
    /// recorded only by later versions): listed, not counted.
    pub unmeasured: Vec<String>,
    /// Evaluations of weights without the claim's pedigree ([`claims::Pedigree`]): listed, never counted.
    pub foreign: Vec<String>,
    pub excluded: Vec<String>,
}

impl Answers {
    /// One run of the shipped recipe, by its status: a complete run answers with `value` (or is
    /// listed as not holding the number), a stopped one counts as failed, an unfinished one is
    /// listed and not counted.
    pub fn add_run(&mut self, run: String, status: RunStatus, seed: u64, value: Option<f64>, recipe: &impl serde::Serialize) {
        match (status, value) {
            (RunStatus::Running, _) => self.unfinished.push(run),
            (RunStatus::Stopped, _) => self.used.push(Answer::stopped(run, seed, recipe)),
            (RunStatus::Complete, Some(v)) => self.used.push(Answer::measured(run, seed, v, recipe)),
            (RunStatus::Complete, None) => self.unmeasured.push(run),
        }
    }
}

/// Judges every claim, for any kind of run: `answers` gives a claim's answers. Every answer
/// counts, in seed order ([`claims::judge`]: stopped runs as failures, failed trials at their
/// budget, the first N seeds of a best-of-N claim), and the rule is checked against each.
pub fn judge_claims(claims: &[Claim], mut answers: impl FnMut(&Claim) -> Answers) -> Vec<ClaimComparison> {
    claims
        .iter()
        .map(|claim| {
            let Answers { mut used, unfinished, unmeasured, foreign, excluded } = answers(claim);
            used.sort_by_key(|a| a.seed);
            let observations: Vec<Vec<Observation>> = used.iter().map(|a| a.observations.clone()).collect();
            let rules: Vec<_> = used.iter().map(|a| a.rule.clone()).collect();
            let mut rule_differences: Vec<String> = rules.iter().flat_map(|r| claims::rule_differences(claim, r)).collect();
            rule_differences.sort();
            rule_differences.dedup();
            let stopped = used.iter().filter(|a| a.observations.contains(&Observation::Stopped)).map(|a| a.run.clone()).collect();
            ClaimComparison {
                claim: claim.clone(),
                judgement: claims::judge(claim, &observations, &rules),
                runs: used.into_iter().map(|a| a.run).collect(),
                stopped,
                unfinished,
                unmeasured,
                foreign,
                excluded,
                rule_differences,
            }
        })
        .collect()
}

/// The claims of image classifiers against their runs (complete, on the claim's dataset and
/// split, with the shipped recipe).
pub fn compare(claims: &[Claim], runs: &[RunRecord], recipes: &[ExperimentConfig]) -> Vec<ClaimComparison> {
    judge_claims(claims, |claim| {
        let recipe = recipes.iter().find(|r| r.name == claim.experiment);
        let candidates = runs.iter().filter(|r| {
            let m = &r.manifest;
            m.header.experiment == claim.experiment && m.header.dataset == claim.dataset && m.body.eval_split == claim.split
        });
        let (shipped, excluded): (Vec<&RunRecord>, Vec<&RunRecord>) = candidates.partition(|r| recipe.is_some_and(|recipe| follows_recipe(&r.manifest, recipe)));
        let mut answers = Answers { excluded: excluded.iter().map(|r| r.path.clone()).collect(), ..Answers::default() };
        for r in shipped {
            let m = &r.manifest;
            let value = m.body.final_metrics.as_ref().and_then(|f| match claim.metric {
                Metric::TEST_ERROR_PCT => Some(f.test_error_pct),
                Metric::TEST_ACCURACY_PCT => Some(100.0 - f.test_error_pct),
                Metric::TOP5_ERROR_PCT => f.test_top5_error_pct,
                Metric::TOP5_ACCURACY_PCT => f.test_top5_error_pct.map(|e| 100.0 - e),
                // Not image-classifier metrics: such claims are answered by their paper crate.
                _ => None,
            });
            // Weights without the claim's pedigree never answer it.
            if m.header.status == RunStatus::Complete && !has_pedigree(claim, m) {
                answers.foreign.push(r.path.clone());
            } else {
                answers.add_run(r.path.clone(), m.header.status, m.header.seed, value, &m.body.config);
            }
        }
        answers
    })
}

/// Whether a run may answer `claim` by the weights it evaluated: any run of a claim that names no
/// pedigree; for one that does, only an evaluation of weights it accepts.
fn has_pedigree(claim: &Claim, run: &Manifest) -> bool {
    let Some(pedigree) = &claim.weights else { return true };
    run.body.imported_weights.as_ref().is_some_and(|w| pedigree.accepts(&w.sha256, w.trained_by.as_ref().map(|t| (t.experiment.as_str(), t.shipped_recipe && t.complete))))
}

/// Markdown table of the claims, as declared.
pub fn claims_table(claims: &[Claim]) -> String {
    let mut s = String::from("| claim | source | dataset / split | metric | published | tolerance | why this tolerance |\n|---|---|---|---|---:|---:|---|\n");
    for c in claims {
        let _ = writeln!(s, "| `{}` | {}, {} | {} / {} | {} | {} | ±{} | {} |", c.id, c.paper, c.source, c.dataset, c.split, c.metric.label(), c.published, c.tolerance, c.tolerance_reason);
    }
    s
}

/// Markdown table: paper vs ours, with the verdict; the "ours" cell says how the runs were
/// counted (best of N, failed trials at their budget, stopped runs).
pub fn comparison_table(rows: &[ClaimComparison]) -> String {
    let mut s = String::from("| claim | dataset / split | metric | paper | ours | Δ | verdict |\n|---|---|---|---:|---:|---:|---|\n");
    for r in rows {
        let delta = match r.summary() {
            Some(sm) => format!("{}{:+.2}", if r.judgement.censored > 0 { "≥ " } else { "" }, sm.mean - r.claim.published.value),
            None => "–".into(),
        };
        let _ = writeln!(
            s,
            "| `{}` | {} / {} | {} | {} | {} | {} | **{}** |",
            r.claim.id,
            r.claim.dataset,
            r.claim.split,
            r.claim.metric.label(),
            r.claim.published,
            r.judgement.ours(&r.claim),
            delta,
            r.verdict()
        );
    }
    s
}

/// One line per claim whose counting is not plain (stopped runs, failed trials, best of N, runs
/// not finished) or whose rule is not the paper's: why its verdict is what it is.
pub fn verdict_notes(rows: &[ClaimComparison]) -> String {
    let mut s = String::new();
    for r in rows {
        let mut notes = r.judgement.notes.clone();
        if !r.stopped.is_empty() {
            notes.push(format!("stopped: {}", r.stopped.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")));
        }
        if !r.unfinished.is_empty() {
            notes.push(format!("not finished, so not counted yet (`--resume` continues them): {}", r.unfinished.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")));
        }
        if !r.foreign.is_empty() {
            notes.push(format!(
                "weights without the claim's pedigree ({}), recorded but not counted: {}",
                r.claim.weights.as_ref().map(|p| p.describe()).unwrap_or_default(),
                r.foreign.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        if !r.unmeasured.is_empty() {
            notes.push(format!("not counted: the records of {} hold no such number", r.unmeasured.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")));
        }
        if !r.rule_differences.is_empty() {
            notes.push(format!("measured under another rule than the paper's ({})", r.rule_differences.join("; ")));
        }
        if !notes.is_empty() {
            let _ = writeln!(s, "- `{}`: {}.", r.claim.id, notes.join("; "));
        }
    }
    s
}

/// Where a number sits against a claim, in units of the claim's tolerance: 0 is the published
/// number, +1 the worst accepted, −1 the best accepted (`better_tolerance`), whatever the
/// metric's direction.
pub fn in_tolerances(claim: &Claim, value: f64) -> f64 {
    let worse_by = if claim.metric.lower_is_better() { value - claim.published.value } else { claim.published.value - value };
    let unit = if worse_by > 0.0 { claim.tolerance } else { claim.better_tolerance.unwrap_or(claim.tolerance) };
    worse_by / unit.max(1e-12)
}

fn verdict_colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Reproduced => "#1b7837",
        Verdict::WithinTolerance => "#7fbc41",
        Verdict::BetterThanPublished => "#e08214",
        Verdict::NotReproduced => "#c51b7d",
        Verdict::OtherRule => "#762a83",
        Verdict::NotComparable | Verdict::NotRun => "#999999",
    }
}

/// The claims figure of a write-up (`claims.svg`): one row per claim, the published number at 0
/// with its tolerance band, ours as a point (the mean, with ± one standard deviation over runs)
/// coloured by verdict, all in units of each claim's tolerance so that claims of any metric share
/// one axis; points beyond ±3 tolerances sit at the edge as arrows. Claims not run are left out
/// (the table lists them); None when no claim was run.
pub fn claims_figure_svg(title: &str, rows: &[ClaimComparison]) -> Option<String> {
    let not_run = rows.iter().filter(|r| r.summary().is_none()).count();
    let rows: Vec<&ClaimComparison> = rows.iter().filter(|r| r.summary().is_some()).collect();
    if rows.is_empty() {
        return None;
    }
    const LIMIT: f64 = 3.0;
    let (width, left, right, top, row_h) = (760.0, 300.0, 730.0, 56.0, 22.0);
    let height = top + row_h * rows.len() as f64 + 64.0;
    let x = |d: f64| left + (d.clamp(-LIMIT, LIMIT) + LIMIT) / (2.0 * LIMIT) * (right - left);
    let mut s = String::new();
    let _ = writeln!(s, r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"##);
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(s, r##"<text x="{}" y="20" font-size="15" text-anchor="middle">{}</text>"##, width / 2.0, xml_escape(title));
    let _ = writeln!(
        s,
        r##"<text x="{}" y="38" fill="#555" text-anchor="middle">ours against the published number, in units of each claim's tolerance (right: worse){}</text>"##,
        width / 2.0,
        if not_run > 0 { format!("; {not_run} claims not run are left out") } else { String::new() }
    );
    let bottom = top + row_h * rows.len() as f64;
    let _ = writeln!(s, r##"<rect x="{:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="#e8e8e8"/>"##, x(-1.0), x(1.0) - x(-1.0), bottom - top);
    for tick in [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0] {
        let stroke = if tick == 0.0 { r##"stroke="#000" stroke-width="1.5""## } else { r##"stroke="#ccc""## };
        let _ = writeln!(s, r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{bottom}" {stroke}/>"##, x(tick));
        let label = if tick == 0.0 { "published".to_string() } else { format!("{tick:+}") };
        let _ = writeln!(s, r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">{label}</text>"##, x(tick), bottom + 16.0);
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let colour = verdict_colour(r.verdict());
        let _ = writeln!(s, r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##, left - 8.0, y + 4.0, xml_escape(&r.claim.id));
        let Some(sm) = r.summary() else { continue };
        let d = in_tolerances(&r.claim, sm.mean);
        if sm.values.len() > 1 {
            let (a, b) = (in_tolerances(&r.claim, sm.mean - sm.std), in_tolerances(&r.claim, sm.mean + sm.std));
            let _ = writeln!(s, r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"/>"##, x(a.min(b)), x(a.max(b)));
        }
        let cx = x(d);
        if d.abs() > LIMIT {
            let dir = d.signum();
            let _ = writeln!(s, r##"<path d="M {:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} Z" fill="{colour}"/>"##, cx + dir * 7.0, y, cx - dir * 3.0, y - 6.0, cx - dir * 3.0, y + 6.0);
        } else {
            let _ = writeln!(s, r##"<circle cx="{cx:.1}" cy="{y:.1}" r="5" fill="{colour}"/>"##);
        }
    }
    let verdicts = [Verdict::Reproduced, Verdict::WithinTolerance, Verdict::BetterThanPublished, Verdict::NotReproduced, Verdict::OtherRule, Verdict::NotComparable];
    let mut lx = 20.0;
    for v in verdicts {
        let _ = writeln!(s, r##"<circle cx="{lx:.1}" cy="{:.1}" r="5" fill="{}"/><text x="{:.1}" y="{:.1}">{v}</text>"##, bottom + 40.0, verdict_colour(v), lx + 9.0, bottom + 44.0);
        lx += 24.0 + 7.0 * v.to_string().len() as f64;
    }
    s.push_str("</svg>\n");
    Some(s)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Writes (or, when no claim was run, removes) `results/<paper>/claims.svg`; the Markdown that
/// shows it, empty without a figure.
pub fn write_claims_figure(results_root: &Path, paper: &str, title: &str, rows: &[ClaimComparison]) -> Result<String, RecordError> {
    let path = results_root.join(paper).join("claims.svg");
    match claims_figure_svg(title, rows) {
        Some(svg) => {
            records::write_atomic(&path, svg.as_bytes())?;
            Ok("![each claim against ours, in units of its tolerance](claims.svg)\n\n".into())
        }
        None => {
            let _ = std::fs::remove_file(&path);
            Ok(String::new())
        }
    }
}

/// Final numbers of every (experiment, dataset) pair, over seeds.
pub fn results_table(runs: &[RunRecord]) -> String {
    let mut groups: BTreeMap<(String, String), Vec<&RunRecord>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.manifest.header.status == RunStatus::Complete) {
        groups.entry((r.manifest.header.dataset.clone(), r.manifest.header.experiment.clone())).or_default().push(r);
    }
    let mut s =
        String::from("| dataset | experiment | model | epochs | seeds | final test error % | final train error % | train time / run | throughput |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for ((dataset, experiment), rs) in &groups {
        let test = Summary::of(rs.iter().filter_map(|r| r.final_test_error()).collect()).map(|s| s.display(2)).unwrap_or_default();
        let train = Summary::of(rs.iter().filter_map(|r| r.manifest.body.final_metrics.as_ref().map(|m| m.train_error_pct)).collect()).map(|s| s.display(2)).unwrap_or_default();
        let time = rs.iter().map(|r| r.manifest.body.train_time_s).sum::<f64>() / rs.len() as f64;
        let speed = rs.iter().flat_map(|r| r.metrics.iter().map(|m| m.train_img_per_s)).sum::<f64>() / rs.iter().map(|r| r.metrics.len()).sum::<usize>().max(1) as f64;
        let m = &rs[0].manifest;
        let _ = writeln!(
            s,
            "| {dataset} | `{experiment}` | {} | {} | {} | {test} | {train} | {} | {:.0} img/s ({}, {}) |",
            m.body.config.model,
            m.body.config.epochs,
            rs.len(),
            human_time(time),
            speed,
            m.body.backend,
            m.body.device
        );
    }
    s
}

/// Final test error per dataset (rows) and experiment (columns, in the paper's recipe order), so
/// variants read side by side, with a key from each recipe's description.
pub fn pivot_table(runs: &[RunRecord], recipes: &[ExperimentConfig]) -> String {
    let complete: Vec<&RunRecord> = runs.iter().filter(|r| r.manifest.header.status == RunStatus::Complete).collect();
    let position = |e: &str| recipes.iter().position(|r| r.name == e).unwrap_or(usize::MAX);
    let mut experiments: Vec<String> = complete.iter().map(|r| r.manifest.header.experiment.clone()).collect();
    experiments.sort_by_key(|e| (position(e), e.clone()));
    experiments.dedup();
    let mut datasets: Vec<String> = complete.iter().map(|r| r.manifest.header.dataset.clone()).collect();
    datasets.sort();
    datasets.dedup();
    let mut s = format!("| dataset (held-out split) | {} |\n|---|{}\n", experiments.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(" | "), "---:|".repeat(experiments.len()));
    for d in &datasets {
        let cells: Vec<String> = experiments
            .iter()
            .map(|e| {
                let values = complete.iter().filter(|r| &r.manifest.header.dataset == d && &r.manifest.header.experiment == e).filter_map(|r| r.final_test_error()).collect();
                Summary::of(values).map(|s| s.display(2)).unwrap_or_else(|| "–".into())
            })
            .collect();
        let official = crate::data::dataset(d).map(|spec| spec.official_test_split).unwrap_or(true);
        let _ = writeln!(s, "| {d}{} | {} |", if official { "" } else { " ¹" }, cells.join(" | "));
    }
    if datasets.iter().any(|d| crate::data::dataset(d).is_some_and(|spec| !spec.official_test_split)) {
        s.push_str("\n¹ Not an official test split: mnist-sample's 2,000 held-out digits come from the MNIST training set, so its numbers are not comparable with published MNIST test errors.\n");
    }
    s.push('\n');
    for e in &experiments {
        if let Some(r) = recipes.iter().find(|r| &r.name == e) {
            let _ = writeln!(s, "- `{e}`: {}", r.description);
        }
    }
    s
}

/// A run of the same recipe in another framework (`<paper>/pytorch/<experiment>/seed-<n>/`),
/// written by a paper's `parity/proxy_*.py`: its `run.yaml` and the harness's `metrics.csv` columns.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReferenceRun {
    pub experiment: String,
    pub dataset: String,
    pub seed: u64,
    /// e.g. `torch 2.15.0+cu132`.
    pub framework: String,
    pub threads: usize,
    pub commit: String,
    pub command: String,
    #[serde(skip)]
    pub metrics: Vec<EpochMetrics>,
}

/// Every reference run of `paper` under `results_root/<paper>/pytorch/`.
pub fn collect_reference_runs(results_root: &Path, paper: &str) -> Result<Vec<ReferenceRun>, RecordError> {
    let mut out = Vec::new();
    let root = results_root.join(paper).join("pytorch");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).into_iter().flatten().flatten().flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten().map(|s| s.path())).collect();
    dirs.sort();
    for dir in dirs.into_iter().filter(|d| d.join("run.yaml").is_file()) {
        let path = dir.join("run.yaml");
        let text = std::fs::read_to_string(&path).map_err(|e| RecordError::Invalid { path: path.clone(), reason: e.to_string() })?;
        let mut run: ReferenceRun = serde_yaml_ng::from_str(&text).map_err(|e| RecordError::Invalid { path: path.clone(), reason: e.to_string() })?;
        run.metrics = records::load_csv(&dir.join("metrics.csv"))?;
        out.push(run);
    }
    Ok(out)
}

/// "Same recipe, same data, two frameworks": for each experiment with reference runs, the final
/// test errors of both (per seed and mean ± std) and the test error per epoch, with the commands.
/// Only our runs of the shipped recipe count.
pub fn two_frameworks_section(runs: &[RunRecord], references: &[ReferenceRun], recipes: &[ExperimentConfig]) -> String {
    let mut s = String::new();
    let mut keys: Vec<(String, String)> = references.iter().map(|r| (r.experiment.clone(), r.dataset.clone())).collect();
    keys.dedup();
    for (experiment, dataset) in keys {
        let recipe = recipes.iter().find(|r| r.name == experiment);
        let ours: Vec<&RunRecord> = runs
            .iter()
            .filter(|r| {
                r.manifest.header.status == RunStatus::Complete
                    && r.manifest.header.experiment == experiment
                    && r.manifest.header.dataset == dataset
                    && recipe.is_some_and(|c| follows_recipe_on_its_dataset(&r.manifest, c))
            })
            .collect();
        let theirs: Vec<&ReferenceRun> = references.iter().filter(|r| r.experiment == experiment && r.dataset == dataset).collect();
        let _ = writeln!(s, "**`{experiment}` on {dataset}**\n");
        let _ = writeln!(s, "| framework | seeds | final test error % (mean ± std) | per seed | train time / run |\n|---|---:|---:|---|---:|");
        let row = |name: String, finals: Vec<(u64, f64)>, time: f64| {
            let summary = Summary::of(finals.iter().map(|(_, e)| *e).collect()).map(|x| x.display(2)).unwrap_or_else(|| "–".into());
            let per_seed = finals.iter().map(|(seed, e)| format!("{e:.2} (seed {seed})")).collect::<Vec<_>>().join(", ");
            format!("| {name} | {} | {summary} | {per_seed} | {} |\n", finals.len(), human_time(time))
        };
        let ours_finals: Vec<(u64, f64)> = ours.iter().filter_map(|r| r.final_test_error().map(|e| (r.manifest.header.seed, e))).collect();
        let ours_time = ours.iter().map(|r| r.manifest.body.train_time_s).sum::<f64>() / ours.len().max(1) as f64;
        s.push_str(&row(format!("this project (burn {})", records::BURN_VERSION), ours_finals, ours_time));
        let theirs_finals: Vec<(u64, f64)> = theirs.iter().filter_map(|r| r.metrics.last().map(|m| (r.seed, m.test_error_pct))).collect();
        let theirs_time = theirs.iter().filter_map(|r| r.metrics.last().map(|m| m.elapsed_s)).sum::<f64>() / theirs.len().max(1) as f64;
        s.push_str(&row(format!("PyTorch ({})", theirs[0].framework), theirs_finals, theirs_time));
        let epochs = ours.iter().map(|r| r.metrics.len()).chain(theirs.iter().map(|r| r.metrics.len())).max().unwrap_or(0);
        let _ = writeln!(s, "\nTest error % per epoch (mean over seeds):\n\n| epoch | this project | PyTorch |\n|---:|---:|---:|");
        let mean_at = |values: Vec<f64>| Summary::of(values).map(|x| format!("{:.2}", x.mean)).unwrap_or_else(|| "–".into());
        for e in 0..epochs {
            let a = mean_at(ours.iter().filter_map(|r| r.metrics.get(e).map(|m| m.test_error_pct)).collect());
            let b = mean_at(theirs.iter().filter_map(|r| r.metrics.get(e).map(|m| m.test_error_pct)).collect());
            let _ = writeln!(s, "| {} | {a} | {b} |", e + 1);
        }
        let _ = writeln!(s, "\nMade by:\n");
        for r in &ours {
            let _ = writeln!(s, "- `{}` (`{}`, {} compute threads)", r.manifest.header.provenance.command, r.path, r.manifest.header.provenance.compute_threads);
        }
        for r in &theirs {
            let _ = writeln!(s, "- `{}` ({}, {} threads, commit `{}`)", r.command, r.framework, r.threads, &r.commit[..r.commit.len().min(10)]);
        }
        s.push('\n');
    }
    s
}

/// Every run with its evidence.
pub fn runs_table(runs: &[RunRecord]) -> String {
    let mut s = String::from("| run | status | seed | epochs | test error % | time | backend / device | commit |\n|---|---|---:|---:|---:|---:|---|---|\n");
    for r in runs {
        let m = &r.manifest;
        let _ = writeln!(
            s,
            "| [`{}`]({}/manifest.yaml) | {:?} | {} | {}/{} | {} | {} | {} / {} | `{}`{} |",
            r.path,
            r.path.split_once('/').map(|(_, rest)| rest).unwrap_or(&r.path),
            m.header.status,
            m.header.seed,
            m.body.epochs_completed,
            m.body.config.epochs,
            r.final_test_error().map(|e| format!("{e:.2}")).unwrap_or_else(|| "–".into()),
            human_time(m.body.train_time_s),
            m.body.backend,
            m.body.device,
            &m.header.provenance.git_commit[..m.header.provenance.git_commit.len().min(10)],
            if m.header.provenance.git_dirty { " (dirty)" } else { "" }
        );
    }
    s
}

/// Layer table in markdown: output shapes, trainable parameters, the paper's per-layer counts
/// where it gives them, and multiply-adds per image where the model counts them.
pub fn layer_table(rows: &[LayerRow]) -> String {
    let with_paper = rows.iter().any(|r| r.paper_params.is_some());
    let with_macs = rows.iter().any(|r| r.macs > 0);
    let mut s = String::from("| layer | what | output | params |");
    let mut rule = String::from("|---|---|---|---:|");
    if with_paper {
        s.push_str(" paper |");
        rule.push_str("---:|");
    }
    if with_macs {
        s.push_str(" mult-adds |");
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "\n{rule}");
    for r in rows {
        let shape = r.output.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
        let _ = write!(s, "| {} | {} | {} | {} |", r.name, r.description, shape, group_digits(r.params));
        if with_paper {
            let _ = write!(s, " {} |", r.paper_params.map(group_digits).unwrap_or_default());
        }
        if with_macs {
            let _ = write!(s, " {} |", if r.macs > 0 { group_digits(r.macs as usize) } else { String::new() });
        }
        s.push('\n');
    }
    let total: usize = rows.iter().map(|r| r.params).sum();
    let _ = write!(s, "| **total** | | | **{}** |", group_digits(total));
    if with_paper {
        let _ = write!(s, " **{}** |", group_digits(rows.iter().filter_map(|r| r.paper_params).sum()));
    }
    if with_macs {
        let _ = write!(s, " **{}** ({:.3} G) |", group_digits(rows.iter().map(|r| r.macs as usize).sum()), rows.iter().map(|r| r.macs).sum::<u64>() as f64 / 1e9);
    }
    s.push('\n');
    s
}

pub fn group_digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn human_time(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// The axes of every error-by-epoch figure: epochs from 1 to `max_epoch`, error % on a log scale
/// from `lo` to `hi` with labelled key points.
type ErrorByEpoch<'a, 'b> = plotters::chart::ChartContext<
    'a,
    plotters::backend::SVGBackend<'b>,
    plotters::coord::cartesian::Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::combinators::WithKeyPoints<plotters::coord::combinators::LogCoord<f64>>>,
>;

fn error_by_epoch_chart<'a, 'b>(
    root: &'a plotters::drawing::DrawingArea<plotters::backend::SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    max_epoch: f64,
    (lo, hi): (f64, f64),
    y_desc: &str,
) -> Option<ErrorByEpoch<'a, 'b>> {
    use plotters::prelude::*;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(1f64..max_epoch, (lo..hi).log_scale().with_key_points(vec![0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]))
        .ok()?;
    let _ = chart.configure_mesh().x_desc("epoch").y_desc(y_desc).x_label_formatter(&|x| format!("{x:.0}")).y_label_formatter(&|y| format!("{y}")).light_line_style(WHITE).draw();
    Some(chart)
}

/// Learning curve (train and test error per epoch) as SVG, error on a log scale so the last
/// epochs' fractions of a percent stay readable beside the first epoch's tens.
pub fn learning_curve_svg(title: &str, metrics: &[EpochMetrics]) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max_epoch = metrics.iter().map(|m| m.epoch).max().unwrap_or(1).max(2) as f64;
        let errors = || metrics.iter().flat_map(|m| [m.train_error_pct, m.test_error_pct]);
        let floor = 0.01;
        let lo = errors().fold(f64::INFINITY, f64::min).max(floor) * 0.8;
        let hi = errors().fold(0.0f64, f64::max).max(lo * 2.0) * 1.25;
        if let Some(mut chart) = error_by_epoch_chart(&root, title, max_epoch, (lo, hi), "error % (log scale)") {
            let series = [("train error (running, during the epoch)", BLUE, true), ("test error (end of epoch)", RED, false)];
            for (label, colour, train) in series {
                let points: Vec<(f64, f64)> = metrics.iter().map(|m| (m.epoch as f64, (if train { m.train_error_pct } else { m.test_error_pct }).max(floor))).collect();
                if let Ok(drawn) = chart.draw_series(LineSeries::new(points, colour.stroke_width(2))) {
                    drawn.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
                }
            }
            let _ = chart.configure_series_labels().position(SeriesLabelPosition::UpperRight).border_style(BLACK).background_style(WHITE.mix(0.8)).draw();
        }
        let _ = root.present();
    }
    svg
}

/// One experiment's test-error curves over its seeds (error on a log scale): each seed a thin
/// line, their range a band and their mean (over the seeds that reached each epoch) a thick one,
/// and the paper's number, where a claim gives one for this experiment and dataset, a dashed line.
pub fn experiment_curves_svg(title: &str, runs: &[&RunRecord], paper: Option<f64>) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max_epoch = runs.iter().flat_map(|r| r.metrics.iter().map(|m| m.epoch)).max().unwrap_or(1).max(2);
        let floor = 0.01;
        let values = || runs.iter().flat_map(|r| r.metrics.iter().map(|m| m.test_error_pct)).chain(paper);
        let lo = values().fold(f64::INFINITY, f64::min).max(floor) * 0.8;
        let hi = values().fold(0.0f64, f64::max).max(lo * 2.0) * 1.25;
        let per_epoch = epoch_spreads(runs, floor);
        if let Some(mut chart) = error_by_epoch_chart(&root, title, max_epoch as f64, (lo, hi), "test error % (log scale)") {
            let band: Vec<(f64, f64)> = per_epoch.iter().map(|p| (p.epoch, p.min)).chain(per_epoch.iter().rev().map(|p| (p.epoch, p.max))).collect();
            if let Ok(drawn) = chart.draw_series(std::iter::once(Polygon::new(band, RED.mix(0.15)))) {
                drawn.label(format!("range over {} seed(s)", runs.len())).legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], RED.mix(0.15).filled()));
            }
            for r in runs {
                let points: Vec<(f64, f64)> = r.metrics.iter().filter(|m| m.epoch >= 1).map(|m| (m.epoch as f64, m.test_error_pct.max(floor))).collect();
                let _ = chart.draw_series(LineSeries::new(points, RED.mix(0.35).stroke_width(1)));
            }
            let mean: Vec<(f64, f64)> = per_epoch.iter().map(|p| (p.epoch, p.mean)).collect();
            if let Ok(drawn) = chart.draw_series(LineSeries::new(mean, RED.stroke_width(3))) {
                drawn.label("mean over seeds").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED.stroke_width(3)));
            }
            if let Some(p) = paper {
                let dashes: Vec<(f64, f64)> = (1..=max_epoch).map(|e| (e as f64, p)).collect();
                if let Ok(drawn) = chart.draw_series(DashedLineSeries::new(dashes, 6, 4, BLACK.stroke_width(2))) {
                    drawn.label(format!("paper: {p}")).legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
                }
            }
            let _ = chart.configure_series_labels().position(SeriesLabelPosition::UpperRight).border_style(BLACK).background_style(WHITE.mix(0.8)).draw();
        }
        let _ = root.present();
    }
    svg
}

/// Writes `curves.svg` into each experiment's dataset folder (every complete seed's test error,
/// with the paper's number where a claim gives one) and returns the write-up's learning-curves
/// section.
pub fn write_experiment_curves(results_root: &Path, runs: &[&RunRecord], claims: &[Claim]) -> Result<String, RecordError> {
    let mut groups: BTreeMap<(String, String), Vec<&RunRecord>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.metrics.iter().filter(|m| m.epoch >= 1).count() >= 2) {
        groups.entry((r.manifest.header.experiment.clone(), r.manifest.header.dataset.clone())).or_default().push(r);
    }
    let mut s = String::new();
    for ((experiment, dataset), group) in &groups {
        let paper = claims.iter().find(|c| &c.experiment == experiment && &c.dataset == dataset && c.metric == Metric::TEST_ERROR_PCT).map(|c| c.published.value);
        let dir = Path::new(&group[0].path).parent().map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
        let title = format!("{experiment} on {dataset}: test error of {} seed(s)", group.len());
        records::write_atomic(&results_root.join(&dir).join("curves.svg"), experiment_curves_svg(&title, group, paper).as_bytes())?;
        let relative = dir.split_once('/').map(|(_, p)| p).unwrap_or(&dir);
        let reference = match paper {
            Some(p) => format!("; dashed: the paper's {p} %"),
            None => "; the paper gives no number for this dataset".into(),
        };
        let _ = writeln!(s, "**{experiment} on {dataset}**, {} seed(s){reference}\n\n![test error of every seed]({relative}/curves.svg)\n", group.len());
    }
    Ok(s)
}

/// One epoch of a group of runs: the mean test error over the runs that reached it, and its range.
struct EpochSpread {
    epoch: f64,
    mean: f64,
    min: f64,
    max: f64,
}

fn epoch_spreads(runs: &[&RunRecord], floor: f64) -> Vec<EpochSpread> {
    let max_epoch = runs.iter().flat_map(|r| r.metrics.iter().map(|m| m.epoch)).max().unwrap_or(0);
    (1..=max_epoch)
        .filter_map(|e| {
            let v: Vec<f64> = runs.iter().filter_map(|r| r.metrics.iter().find(|m| m.epoch == e)).map(|m| m.test_error_pct.max(floor)).collect();
            (!v.is_empty()).then(|| EpochSpread {
                epoch: e as f64,
                mean: v.iter().sum::<f64>() / v.len() as f64,
                min: v.iter().copied().fold(f64::INFINITY, f64::min),
                max: v.iter().copied().fold(0.0, f64::max),
            })
        })
        .collect()
}

/// The experiments run on one dataset overlaid (error on a log scale): per experiment its mean
/// test error over seeds and, shaded, their range.
pub fn variants_svg(title: &str, experiments: &[(String, Vec<&RunRecord>)]) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let floor = 0.01;
        let curves: Vec<(&str, usize, Vec<EpochSpread>)> = experiments.iter().map(|(name, runs)| (name.as_str(), runs.len(), epoch_spreads(runs, floor))).collect();
        let max_epoch = curves.iter().flat_map(|(_, _, c)| c.iter().map(|p| p.epoch)).fold(2.0, f64::max);
        let lo = curves.iter().flat_map(|(_, _, c)| c.iter().map(|p| p.min)).fold(f64::INFINITY, f64::min).max(floor) * 0.8;
        let hi = curves.iter().flat_map(|(_, _, c)| c.iter().map(|p| p.max)).fold(0.0f64, f64::max).max(lo * 2.0) * 1.25;
        if let Some(mut chart) = error_by_epoch_chart(&root, title, max_epoch, (lo, hi), "test error % (log scale)") {
            for (i, (name, seeds, curve)) in curves.iter().enumerate() {
                let colour = Palette99::pick(i).to_rgba();
                let band: Vec<(f64, f64)> = curve.iter().map(|p| (p.epoch, p.min)).chain(curve.iter().rev().map(|p| (p.epoch, p.max))).collect();
                let _ = chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))));
                let mean: Vec<(f64, f64)> = curve.iter().map(|p| (p.epoch, p.mean)).collect();
                if let Ok(drawn) = chart.draw_series(LineSeries::new(mean, colour.stroke_width(2))) {
                    drawn.label(format!("{name} ({seeds} seed{})", if *seeds == 1 { "" } else { "s" })).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
                }
            }
            let _ = chart.configure_series_labels().position(SeriesLabelPosition::UpperRight).border_style(BLACK).background_style(WHITE.mix(0.8)).draw();
        }
        let _ = root.present();
    }
    svg
}

/// Writes `results/<paper>/variants-<dataset>.svg` for each dataset on which two or more
/// experiments ran (each with at least two epochs), and returns the write-up's paragraphs.
pub fn write_variant_figures(results_root: &Path, paper_id: &str, runs: &[&RunRecord]) -> Result<String, RecordError> {
    let mut by_dataset: BTreeMap<&str, BTreeMap<&str, Vec<&RunRecord>>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.metrics.iter().filter(|m| m.epoch >= 1).count() >= 2) {
        by_dataset.entry(r.manifest.header.dataset.as_str()).or_default().entry(r.manifest.header.experiment.as_str()).or_default().push(r);
    }
    let mut s = String::new();
    for (dataset, experiments) in by_dataset.iter().filter(|(_, e)| e.len() >= 2) {
        let experiments: Vec<(String, Vec<&RunRecord>)> = experiments.iter().map(|(name, runs)| (name.to_string(), runs.clone())).collect();
        let file = format!("variants-{dataset}.svg");
        let title = format!("{paper_id} on {dataset}: every experiment's mean test error");
        records::write_atomic(&results_root.join(paper_id).join(&file), variants_svg(&title, &experiments).as_bytes())?;
        let names: Vec<String> = experiments.iter().map(|(n, _)| format!("`{n}`")).collect();
        let _ = writeln!(
            s,
            "**The experiments on {dataset} overlaid** ({}): each one's mean test error over its seeds, shaded over their range\n\n![every experiment on {dataset}]({file})\n",
            names.join(", ")
        );
    }
    Ok(s)
}

/// One row of a strip plot: a label and its items, each a value and whether it counts as a
/// success (failures are drawn as crosses), with a reference number (the paper's) where there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct StripRow {
    pub label: String,
    pub items: Vec<(f64, bool)>,
    pub reference: Option<f64>,
}

/// What a strip plot's legend calls its marks: a success, a failure, the mean of the successes
/// and the reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StripLegend<'a> {
    pub success: &'a str,
    pub failure: &'a str,
    pub mean: &'a str,
    pub reference: &'a str,
}

/// A strip plot on a log scale: per row, each item a dot (a cross for a failure, at the value it
/// stopped at), jittered vertically within its row by its position (the same items draw the same
/// figure), the row's mean of successes a short bar and its reference a black triangle. For
/// trial-based papers: sequences to success per trial. None when there is nothing to draw.
pub fn strip_plot_svg(title: &str, x_label: &str, legend_text: StripLegend<'_>, rows: &[StripRow]) -> Option<String> {
    use plotters::prelude::*;
    let values = || rows.iter().flat_map(|r| r.items.iter().map(|i| i.0).chain(r.reference)).filter(|v| *v > 0.0);
    let lo = values().fold(f64::INFINITY, f64::min);
    let hi = values().fold(0.0f64, f64::max);
    if rows.is_empty() || !lo.is_finite() {
        return None;
    }
    let (lo, hi) = (lo / 2.0, hi * 2.0);
    let n = rows.len() as f64;
    let mut svg = String::new();
    {
        let height = 90 + 28 * rows.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let label_width = rows.iter().map(|r| r.label.len()).max().unwrap_or(8) as u32 * 7 + 12;
        let chart =
            ChartBuilder::on(&root).caption(title, ("sans-serif", 16)).margin(12).x_label_area_size(36).y_label_area_size(label_width).build_cartesian_2d((lo..hi).log_scale(), -0.5f64..n - 0.5);
        if let Ok(mut chart) = chart {
            let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
            let _ = chart
                .configure_mesh()
                .x_desc(x_label)
                .y_labels(rows.len())
                .y_label_formatter(&|y| {
                    let i = y.round();
                    let row = (n as usize).checked_sub(1 + i.max(0.0) as usize);
                    if (y - i).abs() < 1e-6 && i >= 0.0 { row.and_then(|r| labels.get(r)).cloned().unwrap_or_default() } else { String::new() }
                })
                .x_label_formatter(&|x| {
                    if *x >= 1e6 {
                        format!("{}M", x / 1e6)
                    } else if *x >= 1e3 {
                        format!("{}k", x / 1e3)
                    } else {
                        format!("{x}")
                    }
                })
                .light_line_style(WHITE)
                .draw();
            let mut legend = [false; 4];
            for (i, row) in rows.iter().enumerate() {
                let y = n - 1.0 - i as f64;
                for (k, &(v, ok)) in row.items.iter().enumerate() {
                    // A fixed jitter by position, so the same records draw the same figure.
                    let dy = ((k * 7919) % 17) as f64 / 17.0 * 0.5 - 0.25;
                    if ok {
                        let drawn = chart.draw_series(std::iter::once(Circle::new((v, y + dy), 3, BLUE.mix(0.6).filled())));
                        if let (Ok(d), false) = (drawn, legend[0]) {
                            d.label(legend_text.success).legend(|(x, y)| Circle::new((x + 8, y), 3, BLUE.mix(0.6).filled()));
                            legend[0] = true;
                        }
                    } else {
                        let drawn = chart.draw_series(std::iter::once(Cross::new((v, y + dy), 4, RED.stroke_width(2))));
                        if let (Ok(d), false) = (drawn, legend[1]) {
                            d.label(legend_text.failure).legend(|(x, y)| Cross::new((x + 8, y), 4, RED.stroke_width(2)));
                            legend[1] = true;
                        }
                    }
                }
                let ok: Vec<f64> = row.items.iter().filter(|i| i.1).map(|i| i.0).collect();
                if !ok.is_empty() {
                    let mean = ok.iter().sum::<f64>() / ok.len() as f64;
                    let drawn = chart.draw_series(std::iter::once(PathElement::new(vec![(mean, y - 0.38), (mean, y + 0.38)], BLUE.stroke_width(3))));
                    if let (Ok(d), false) = (drawn, legend[2]) {
                        d.label(legend_text.mean).legend(|(x, y)| PathElement::new(vec![(x + 8, y - 6), (x + 8, y + 6)], BLUE.stroke_width(3)));
                        legend[2] = true;
                    }
                }
                if let Some(p) = row.reference {
                    let drawn = chart.draw_series(std::iter::once(TriangleMarker::new((p, y + 0.3), 6, BLACK.filled())));
                    if let (Ok(d), false) = (drawn, legend[3]) {
                        d.label(legend_text.reference).legend(|(x, y)| TriangleMarker::new((x + 8, y), 6, BLACK.filled()));
                        legend[3] = true;
                    }
                }
            }
            let _ = chart.configure_series_labels().position(SeriesLabelPosition::UpperRight).border_style(BLACK).background_style(WHITE.mix(0.85)).draw();
        }
        let _ = root.present();
    }
    Some(svg)
}

/// Writes `curve.svg` beside each run's records.
pub fn write_curves(results_root: &Path, runs: &[RunRecord]) -> Result<(), RecordError> {
    for r in runs.iter().filter(|r| !r.metrics.is_empty()) {
        let m = &r.manifest;
        let title = format!("{} on {} (seed {})", m.header.experiment, m.header.dataset, m.header.seed);
        records::write_atomic(&results_root.join(&r.path).join("curve.svg"), learning_curve_svg(&title, &r.metrics).as_bytes())?;
    }
    Ok(())
}

/// The commands that made the runs, each once.
pub fn commands(runs: &[RunRecord]) -> Vec<String> {
    let mut seen = Vec::new();
    for r in runs {
        if !seen.contains(&r.manifest.header.provenance.command) {
            seen.push(r.manifest.header.provenance.command.clone());
        }
    }
    seen
}

/// Writes `results/<paper>/README.md` from the records; returns its path.
pub fn write_paper_report(paper: &dyn ImagePaper, results_root: &Path) -> Result<PathBuf, RecordError> {
    let intro = paper.intro();
    let runs = collect_runs(results_root, paper.id())?;
    write_curves(results_root, &runs)?;
    let recipes = paper.experiments();
    let comparisons = compare(&paper.claims(), &runs, &recipes);
    let mut s = String::new();
    let _ = writeln!(s, "<!-- Generated by `harness report {}` from the run records below; edit the paper crate, not this file. -->\n", paper.id());
    s.push_str(intro.trim_end());
    s.push_str("\n\n");

    // Evidence header: what the numbers rest on.
    let complete: Vec<&RunRecord> = runs.iter().filter(|r| r.manifest.header.status == RunStatus::Complete).collect();
    let hw: Vec<String> = {
        let mut v: Vec<String> = complete.iter().map(|r| format!("{} / {} on {}", r.manifest.body.backend, r.manifest.body.device, r.manifest.header.provenance.cpu)).collect();
        v.sort();
        v.dedup();
        v
    };
    let total_time: f64 = complete.iter().map(|r| r.manifest.body.train_time_s).sum::<f64>() + 0.0; // no runs: 0, not -0
    let _ = writeln!(s, "## Evidence\n");
    let _ = writeln!(s, "- **Runs:** {} complete ({} in all), {} of training in total.", complete.len(), runs.len(), human_time(total_time));
    let _ = writeln!(s, "- **Hardware:** {}.", if hw.is_empty() { "–".to_string() } else { hw.join("; ") });
    let mut commits: BTreeMap<String, usize> = BTreeMap::new();
    for r in &complete {
        let m = &r.manifest;
        *commits.entry(format!("`{}`{}", &m.header.provenance.git_commit[..m.header.provenance.git_commit.len().min(10)], if m.header.provenance.git_dirty { " (dirty)" } else { "" })).or_default() +=
            1;
    }
    let commits: Vec<String> = commits.iter().map(|(c, n)| format!("{c} ({n} run{})", if *n == 1 { "" } else { "s" })).collect();
    let _ = writeln!(s, "- **Code:** commits {}.", if commits.is_empty() { "–".to_string() } else { commits.join(", ") });
    let _ = writeln!(s, "- **Software:** burn {}, repro {}; every run's commit, config, dataset checksums and command are in its `manifest.yaml`.", records::BURN_VERSION, env!("CARGO_PKG_VERSION"));
    let _ = writeln!(s, "- **Throughput** columns are measured during the runs and include whatever else the machine was doing; `harness bench` measures it alone.\n");

    let _ = writeln!(s, "## The paper's numbers against ours\n\n{}\n", claims::VERDICT_LEGEND);
    s.push_str(&comparison_table(&comparisons));
    s.push('\n');
    s.push_str(&write_claims_figure(results_root, paper.id(), &format!("{}: the paper's claims against our runs", paper.id()), &comparisons)?);
    // Claims not run, grouped by the command that would answer them.
    let mut not_run: Vec<(String, Vec<String>)> = Vec::new();
    for c in comparisons.iter().filter(|c| c.verdict() == Verdict::NotRun) {
        let recipe = recipes.iter().find(|r| r.name == c.claim.experiment);
        let dir = if crate::data::downloadable(&c.claim.dataset) { " --data-dir DIR` (or without `--data-dir` where the download works)" } else { " --data-dir DIR`" };
        let how = match recipe {
            Some(r) if r.data.eval_split != c.claim.split => format!("its protocol (`{}`) is not implemented here (see the deviations below)", c.claim.split),
            Some(r) if r.epochs == 0 => {
                // The weights the claim accepts: a checkpoint of its training recipe, or the published file.
                let (weights, whose) = match c.claim.weights.as_ref() {
                    Some(p) if p.trained_by.is_some() => ("RUN/checkpoint/EPOCH.model.bpk".to_string(), format!(" (RUN: a complete run of `{}`)", p.trained_by.as_deref().unwrap_or_default())),
                    Some(p) => (p.url.as_deref().and_then(|u| u.rsplit('/').next()).unwrap_or("FILE").to_string(), p.url.as_deref().map(|u| format!(" (from {u})")).unwrap_or_default()),
                    None => ("FILE".to_string(), String::new()),
                };
                format!("run `cargo run --release -p harness -- evaluate-pretrained {} --weights {weights}{dir}{whose}", c.claim.experiment)
            }
            _ => format!("run `cargo run --release -p harness -- train {}{dir}", c.claim.experiment),
        };
        match not_run.iter_mut().find(|(h, _)| *h == how) {
            Some((_, ids)) => ids.push(format!("`{}`", c.claim.id)),
            None => not_run.push((how, vec![format!("`{}`", c.claim.id)])),
        }
    }
    if !not_run.is_empty() {
        let _ = writeln!(s, "**Not run** where these records were made (the data was not there). On a GPU, add `--features cuda` after `--release` and `--device cuda` at the end.\n");
        for (how, ids) in &not_run {
            let _ = writeln!(s, "- {}: {how}.", ids.join(", "));
        }
    }
    for c in comparisons.iter().filter(|c| c.verdict() != Verdict::NotRun || !c.excluded.is_empty() || !c.unfinished.is_empty()) {
        if !c.runs.is_empty() {
            let _ = writeln!(s, "- `{}`: {} run(s) counted: {}.", c.claim.id, c.runs.len(), c.runs.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "));
        }
        if !c.excluded.is_empty() {
            let _ = writeln!(s, "  `{}`: left out because their recipe was modified: {}.", c.claim.id, c.excluded.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "));
        }
    }
    let notes = verdict_notes(&comparisons);
    if !notes.is_empty() {
        let _ = writeln!(s, "\nHow claims were counted, where it is not a plain mean of complete runs, and rules other than the paper's:\n");
        s.push_str(&notes);
    }
    s.push('\n');

    // Throughput measured alone: `bench.md`, generated from the bench records.
    let bench_path = results_root.join(paper.id()).join("bench.md");
    match crate::bench::paper_bench_section(paper.id(), &recipes, &crate::bench::load_records(results_root)?, paper.bench_notes()) {
        Some(bench) => {
            records::write_atomic(&bench_path, bench.as_bytes())?;
            let _ = writeln!(s, "## Throughput\n");
            // The write-up sits beside bench.md, one folder below the records' links.
            s.push_str(bench.split_once('\n').map(|(_, rest)| rest).unwrap_or(&bench).trim_end());
            s.push_str("\n\n");
        }
        None => {
            let _ = std::fs::remove_file(&bench_path);
        }
    }

    let _ = writeln!(s, "## Everything we ran\n");
    let _ = writeln!(s, "Final-epoch test error % (never the best epoch: the test split is not used for model selection), mean ± sample std over seeds.\n");
    // The shipped recipes' runs; runs of modified recipes apart, never mixed into their means.
    let shipped: Vec<RunRecord> =
        complete.iter().filter(|r| recipes.iter().any(|c| c.name == r.manifest.header.experiment && follows_recipe_on_its_dataset(&r.manifest, c))).map(|r| (*r).clone()).collect();
    let modified: Vec<&RunRecord> = complete.iter().filter(|r| !shipped.iter().any(|k| k.path == r.path)).copied().collect();
    s.push_str(&pivot_table(&shipped, &recipes));
    s.push('\n');
    s.push_str(&results_table(&shipped));
    s.push('\n');
    if !modified.is_empty() {
        let _ = writeln!(s, "Runs of modified recipes (`--set`), never counted above or towards a claim:\n");
        s.push_str("| run | final test error % | command |\n|---|---:|---|\n");
        for r in &modified {
            let _ = writeln!(s, "| `{}` | {} | `{}` |", r.path, r.final_test_error().map(|e| format!("{e:.2}")).unwrap_or_else(|| "–".into()), r.manifest.header.provenance.command);
        }
        s.push('\n');
    }
    let shipped: Vec<&RunRecord> = shipped.iter().collect();

    let references = collect_reference_runs(results_root, paper.id())?;
    if !references.is_empty() {
        let _ = writeln!(s, "## Same recipe, same data, two frameworks\n");
        let _ = writeln!(
            s,
            "The shipped recipe run by this project and by a PyTorch script of the same recipe (preprocessing, augmentation, optimiser, schedule, initialisation), on the same data. The random streams differ (shuffles, crops, initial weights), so the two agree in distribution, not draw for draw: a gap beyond the seeds' spread is a bug to find.\n"
        );
        s.push_str(&two_frameworks_section(&runs, &references, &recipes));
    }

    for (title, body) in paper.write_up_sections(results_root, &shipped)? {
        let _ = writeln!(s, "## {title}\n");
        s.push_str(&body);
    }

    let _ = writeln!(s, "## Learning curves\n");
    s.push_str(&write_variant_figures(results_root, paper.id(), &shipped)?);
    let curves = write_experiment_curves(results_root, &shipped, &paper.claims())?;
    if !curves.is_empty() {
        s.push_str("Each experiment's test error over its seeds; each run's own curve, train and test error, is `curve.svg` in its folder.\n\n");
        s.push_str(&curves);
    }

    let _ = writeln!(s, "## Claims, as declared\n");
    s.push_str(&claims_table(&paper.claims()));
    s.push('\n');
    s.push_str(&claims::set_after_runs_note(&paper.claims()));
    s.push('\n');

    let _ = writeln!(s, "## Parameter counts\n");
    if let Some(summary) = paper.parameter_summary() {
        s.push_str(summary.trim_end());
        s.push_str("\n\n");
    } else {
        for model in paper.models() {
            if let Ok(rows) = paper.layer_table(model.name) {
                let total: usize = rows.iter().map(|r| r.params).sum();
                let _ = writeln!(
                    s,
                    "**`{}`**: {}. {} trainable parameters{}.\n",
                    model.name,
                    model.summary,
                    group_digits(total),
                    model.published_params.map(|p| format!(" (paper: {})", group_digits(p))).unwrap_or_default()
                );
                s.push_str(&layer_table(&rows));
                s.push('\n');
            }
        }
    }

    s.push_str(paper.deviations().trim_end());
    s.push_str("\n\n");

    let _ = writeln!(s, "## Reproduce\n");
    let _ = writeln!(s, "The commands that produced the runs above (each run's manifest has its own):\n\n```sh");
    for c in commands(&runs) {
        let _ = writeln!(s, "{c}");
    }
    let _ = writeln!(s, "cargo run --release -p harness -- report {}\n```\n", paper.id());

    let _ = writeln!(s, "## All runs\n");
    s.push_str(&runs_table(&runs));
    let path = results_root.join(paper.id()).join("README.md");
    records::write_atomic(&path, s.as_bytes())?;
    Ok(path)
}

/// The first line of the top-level README's generated results section.
pub const README_RESULTS_BEGIN: &str = "<!-- results: generated by `cargo run --release -p harness -- report readme` from results/; do not edit -->";
/// The line that ends it.
pub const README_RESULTS_END: &str = "<!-- end results -->";

/// The top-level README's generated "Results so far", markers included: each paper's part
/// ([`Paper::readme_section`], in registry order; empty for a paper without records), then the
/// training throughput measured alone, from the bench records ([`crate::bench`]). Links are relative to the
/// README.
pub fn readme_results(papers: &[&dyn Paper], results_root: &Path) -> Result<String, PaperError> {
    let mut s = format!("{README_RESULTS_BEGIN}\n");
    for paper in papers {
        s.push_str(&paper.readme_section(results_root)?);
    }
    let recipes: Vec<(&str, Vec<ExperimentConfig>)> = papers.iter().filter_map(|p| p.images()).map(|p| (p.id(), p.experiments())).collect();
    s.push_str(&crate::bench::readme_bench_table(&recipes, &crate::bench::load_records(results_root)?));
    let _ = writeln!(s, "{README_RESULTS_END}");
    Ok(s)
}

/// One paper's claims and runs for the README; empty when it has no complete run. A run counts
/// when it followed its shipped recipe on whatever dataset it names (seeds and prose aside).
pub fn readme_paper_results(paper: &dyn ImagePaper, results_root: &Path) -> Result<String, RecordError> {
    let id = paper.id();
    let recipes = paper.experiments();
    let runs = collect_runs(results_root, id)?;
    let recipe_of = |r: &RunRecord| recipes.iter().find(|e| e.name == r.manifest.header.experiment);
    let counted: Vec<&RunRecord> =
        runs.iter().filter(|r| r.manifest.header.status == RunStatus::Complete && recipe_of(r).is_some_and(|recipe| follows_recipe_on_its_dataset(&r.manifest, recipe))).collect();
    if counted.is_empty() {
        return Ok(String::new());
    }
    let modified = runs.iter().filter(|r| r.manifest.header.status == RunStatus::Complete).count() - counted.len();
    let experiments: Vec<&ExperimentConfig> = recipes.iter().filter(|e| counted.iter().any(|r| r.manifest.header.experiment == e.name)).collect();
    let mut datasets: Vec<&str> = counted.iter().map(|r| r.manifest.header.dataset.as_str()).collect();
    datasets.sort();
    datasets.dedup();
    let claims = paper.claims();
    let comparisons = compare(&claims, &runs, &recipes);

    let mut s = String::new();
    let _ = writeln!(
        s,
        "From the records in [`results/{id}/`](results/{id}/README.md) (final-epoch test error %, mean ± std over seeds; the test split is never used for selection; each run's manifest holds its command, commit, config and dataset checksums){}:\n",
        if modified > 0 { format!("; {modified} run(s) of modified recipes left out") } else { String::new() }
    );
    let _ = writeln!(s, "| `{id}`: test error % | paper | {} |\n|---|---:|{}", experiments.iter().map(|e| format!("`{}`", e.name)).collect::<Vec<_>>().join(" | "), "---:|".repeat(experiments.len()));
    // The claims on the experiments that ran: `not run` there means not on the claim's dataset.
    for c in comparisons.iter().filter(|c| experiments.iter().any(|e| e.name == c.claim.experiment)) {
        let ours = match c.summary() {
            Some(_) => format!("{}, {}", c.judgement.ours(&c.claim), c.verdict()),
            None => "not run".into(),
        };
        let cells: Vec<String> = experiments.iter().map(|e| if e.name == c.claim.experiment { ours.clone() } else { "–".into() }).collect();
        let _ = writeln!(s, "| the paper's claim `{}` ({} / {}, {}) | {} | {} |", c.claim.id, c.claim.dataset, c.claim.split, c.claim.metric.label(), c.claim.published, cells.join(" | "));
    }
    for d in &datasets {
        let cells: Vec<String> = experiments
            .iter()
            .map(|e| {
                let values = counted.iter().filter(|r| r.manifest.header.dataset == *d && r.manifest.header.experiment == e.name).filter_map(|r| r.final_test_error()).collect();
                Summary::of(values).map(|s| s.display(2)).unwrap_or_else(|| "–".into())
            })
            .collect();
        let official = crate::data::dataset(d).map(|spec| spec.official_test_split).unwrap_or(true);
        let splits: Vec<&str> = {
            let mut v: Vec<&str> = counted.iter().filter(|r| r.manifest.header.dataset == *d).map(|r| r.manifest.body.eval_split.as_str()).collect();
            v.sort();
            v.dedup();
            v
        };
        let _ = writeln!(s, "| {d} / {}{} | – | {} |", splits.join(", "), if official { "" } else { " ¹" }, cells.join(" | "));
    }
    s.push('\n');
    if datasets.iter().any(|d| crate::data::dataset(d).is_some_and(|spec| !spec.official_test_split)) {
        let unofficial: Vec<String> = datasets.iter().filter(|d| crate::data::dataset(d).is_some_and(|spec| !spec.official_test_split)).map(|d| format!("`{d}`")).collect();
        let _ = writeln!(s, "¹ Not an official test split ({}), so not comparable with published test errors: see the dataset's description in `harness list`.\n", unofficial.join(", "));
    }
    for e in &experiments {
        let _ = writeln!(s, "- `{}`: {}", e.name, e.description);
    }
    s.push('\n');

    // Parameter counts of the models these runs trained, against the paper's where it gives them.
    let models: Vec<&str> = experiments.iter().map(|e| e.model.as_str()).collect();
    for spec in paper.models().iter().filter(|m| models.contains(&m.name)) {
        let Ok(rows) = paper.layer_table(spec.name) else { continue };
        let total: usize = rows.iter().map(|r| r.params).sum();
        let per_layer: Vec<&LayerRow> = rows.iter().filter(|r| r.paper_params.is_some()).collect();
        let layers_match = per_layer.iter().all(|r| r.paper_params == Some(r.params));
        match spec.published_params {
            Some(published) if total == published && layers_match && !per_layer.is_empty() => {
                let counts: Vec<String> = per_layer.iter().map(|r| group_digits(r.params)).collect();
                let (last, rest) = counts.split_last().expect("not empty");
                let _ = writeln!(s, "`{}`'s parameter counts come out as the paper's, layer by layer ({} and {last}: {}).\n", spec.name, rest.join(", "), group_digits(total));
            }
            Some(published) => {
                let _ = writeln!(
                    s,
                    "`{}` has {} trainable parameters; the paper's: {}{}.\n",
                    spec.name,
                    group_digits(total),
                    group_digits(published),
                    if layers_match { "" } else { " (some layers differ: `harness layers` shows them)" }
                );
            }
            None => {}
        }
    }

    // Throughput during the runs: what a reproduction costs on the machine that made them.
    let mut hardware: Vec<String> = counted.iter().map(|r| format!("{} / {} on {}", r.manifest.body.backend, r.manifest.body.device, r.manifest.header.provenance.cpu)).collect();
    hardware.sort();
    hardware.dedup();
    let _ =
        writeln!(s, "Training throughput during these runs, img/s averaged over epochs ({}; whatever else the machine was doing included, `harness bench` measures it alone):\n", hardware.join("; "));
    let _ = writeln!(s, "| experiment | model | batch | {} |\n|---|---|---:|{}", datasets.join(" | "), "---:|".repeat(datasets.len()));
    for e in &experiments {
        let cells: Vec<String> = datasets
            .iter()
            .map(|d| {
                let rs: Vec<&&RunRecord> = counted.iter().filter(|r| r.manifest.header.dataset == *d && r.manifest.header.experiment == e.name).collect();
                let epochs: Vec<f64> = rs.iter().flat_map(|r| r.metrics.iter().map(|m| m.train_img_per_s)).collect();
                if epochs.is_empty() { "–".into() } else { group_digits((epochs.iter().sum::<f64>() / epochs.len() as f64).round() as usize) }
            })
            .collect();
        let _ = writeln!(s, "| `{}` | {} | {} | {} |", e.name, e.model, e.batch_size, cells.join(" | "));
    }
    s.push('\n');
    Ok(s)
}

/// Where the generated results section of `readme` lies: from [`README_RESULTS_BEGIN`] to the
/// end of the [`README_RESULTS_END`] line.
fn readme_results_span(readme: &str) -> Option<(usize, usize)> {
    let begin = readme.find(README_RESULTS_BEGIN)?;
    let end = begin + readme[begin..].find(README_RESULTS_END)? + README_RESULTS_END.len();
    Some((begin, if readme[end..].starts_with('\n') { end + 1 } else { end }))
}

/// `readme` with its generated results section replaced by `section`; everything else untouched.
pub fn splice_readme_results(readme: &str, section: &str) -> Option<String> {
    readme_results_span(readme).map(|(begin, end)| format!("{}{section}{}", &readme[..begin], &readme[end..]))
}

/// Rewrites only the generated results section of the README at `readme_path`.
pub fn write_readme_results(readme_path: &Path, section: &str) -> Result<(), RecordError> {
    let readme = std::fs::read_to_string(readme_path).map_err(|source| RecordError::Read { path: readme_path.to_owned(), source })?;
    let spliced = splice_readme_results(&readme, section).ok_or_else(|| RecordError::Invalid {
        path: readme_path.to_owned(),
        reason: format!("it has no generated results section: add a line `{README_RESULTS_BEGIN}` and, below it, `{README_RESULTS_END}`"),
    })?;
    records::write_atomic(readme_path, spliced.as_bytes())
}
