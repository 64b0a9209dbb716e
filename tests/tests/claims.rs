//! The claims as declared, and the verdict rule.

use std::collections::BTreeMap;

use repro_common::claims::{Claim, Metric, Observation, Published, Summary, Verdict, flatten, judge, kaplan_meier_median, rule_differences, verdict};
use repro_common::paper::ImagePaper;
use repro_common::report::claims_table;
use repro_lenet::LenetPaper;
use repro_lstm::metrics;

#[test]
fn lenet_claims_table() {
    let claims = LenetPaper.claims();
    assert_eq!(claims.len(), 2);
    // Every claim answers to a shipped experiment on the dataset it names.
    for c in &claims {
        let recipe = (&LenetPaper as &dyn ImagePaper).experiment(&c.experiment).unwrap_or_else(|| panic!("claim {} names no experiment", c.id));
        assert_eq!(recipe.data.dataset, c.dataset, "claim {}", c.id);
    }
    insta::assert_snapshot!(claims_table(&claims));
}

fn error_claim(published: f64, tolerance: f64) -> Claim {
    Claim {
        id: "x".into(),
        paper: "p".into(),
        source: "s".into(),
        description: "d".into(),
        experiment: "e".into(),
        dataset: "mnist".into(),
        split: "test".into(),
        metric: Metric::TEST_ERROR_PCT,
        published: published.into(),
        tolerance,
        tolerance_reason: "r".into(),
        set_after_runs: None,
        statistic: Default::default(),
        best_of: None,
        rule: BTreeMap::new(),
        weights: None,
        better_tolerance: None,
    }
}

#[test]
fn verdicts_follow_the_published_precision_and_tolerance() {
    let c = error_claim(0.95, 0.2);
    assert_eq!(verdict(&c, 0.90), Verdict::Reproduced);
    assert_eq!(verdict(&c, 0.954), Verdict::Reproduced, "within the printed precision");
    assert_eq!(verdict(&c, 1.10), Verdict::WithinTolerance);
    assert_eq!(verdict(&c, 1.20), Verdict::NotReproduced);
    assert_eq!(verdict(&c, 0.75), Verdict::Reproduced, "better, but within the tolerance");
    assert_eq!(verdict(&c, 0.70), Verdict::BetterThanPublished, "better by more than the tolerance");
    assert_eq!(verdict(&c, f64::NAN), Verdict::NotReproduced);
    let measured = |v: &[f64]| v.iter().map(|&x| vec![Observation::Measured(x)]).collect::<Vec<_>>();
    assert_eq!(judge(&c, &[], &[]).verdict, Verdict::NotRun);
    assert_eq!(judge(&c, &measured(&[1.0, 1.3]), &[]).verdict, Verdict::WithinTolerance, "the mean over seeds decides");
    let mut acc = error_claim(90.5, 1.0);
    acc.metric = Metric::TEST_ACCURACY_PCT;
    assert_eq!(verdict(&acc, 89.9), Verdict::WithinTolerance);
    assert_eq!(verdict(&acc, 91.0), Verdict::Reproduced);
    assert_eq!(verdict(&acc, 92.0), Verdict::BetterThanPublished);
}

/// "7.40" is exact to 0.01, as printed: 7.44 is within tolerance, not reproduced (planted: read
/// as 7.4, the band is 0.05 wide and 7.44 reads "reproduced"). Unquoted in a claims file, YAML
/// would drop the zero, so the file is rejected with the line and the fix.
#[test]
fn the_published_number_keeps_its_printed_precision() {
    let mut c = error_claim(7.4, 0.5);
    assert_eq!(verdict(&c, 7.44), Verdict::Reproduced, "7.4 is printed to 0.1");
    c.published = Published::printed("7.40").unwrap();
    assert_eq!(c.published.to_string(), "7.40");
    assert_eq!(verdict(&c, 7.44), Verdict::WithinTolerance, "7.40 is printed to 0.01");
    assert_eq!(verdict(&c, 7.404), Verdict::Reproduced);
    let text = "- id: x\n  paper: p\n  source: s\n  description: d\n  experiment: e\n  dataset: imagenet\n  split: val\n  metric: top5_error_pct\n  published: 7.40\n  tolerance: 0.5\n  tolerance_reason: r\n";
    let e = repro_common::claims::parse_claims(text, "claims.yaml", &[]).unwrap_err().to_string();
    assert!(e.contains("claims.yaml") && e.contains("line 9") && e.contains("published: \"7.40\""), "{e}");
    let parsed = repro_common::claims::parse_claims(&text.replace("7.40", "\"7.40\""), "claims.yaml", &[]).unwrap();
    assert_eq!((parsed[0].published.value, parsed[0].published.decimals), (7.4, 2));
    let parsed = repro_common::claims::parse_claims(&text.replace("7.40", "7.4"), "claims.yaml", &[]).unwrap();
    assert_eq!(parsed[0].published.decimals, 1);
    assert!(repro_common::claims::parse_claims(&text.replace("7.40", "7.40  # Table 3"), "claims.yaml", &[]).is_err(), "a comment does not hide the zero");
    assert_eq!(Published::printed("1.50e-3").unwrap().decimals, 5, "0.00150");
}

/// A best-of claim must say of how many runs; a mean claim takes no N.
#[test]
fn a_best_of_claim_names_its_n() {
    let text = "- id: x\n  paper: p\n  source: s\n  description: d\n  experiment: e\n  dataset: cifar10\n  split: test\n  metric: test_error_pct\n  published: 6.43\n  tolerance: 0.5\n  tolerance_reason: r\n  statistic: best\n";
    let e = repro_common::claims::parse_claims(text, "claims.yaml", &[]).unwrap_err().to_string();
    assert!(e.contains("x.best_of") && e.contains("best_of: 5"), "{e}");
    assert_eq!(repro_common::claims::parse_claims(&format!("{text}  best_of: 5\n"), "claims.yaml", &[]).unwrap()[0].best_of, Some(5));
    let e = repro_common::claims::parse_claims(&text.replace("  statistic: best\n", "  best_of: 5\n"), "claims.yaml", &[]).unwrap_err().to_string();
    assert!(e.contains("x.best_of"), "{e}");
}

/// A recipe-like record, as the rule check sees it (dotted keys).
#[derive(serde::Serialize)]
struct Recipe {
    trials: usize,
    stop: Stop,
}
#[derive(serde::Serialize)]
struct Stop {
    kind: &'static str,
    window: u64,
    fewer_wrong_than: u64,
}

fn trials_claim(id: &str, metric: Metric, published: f64, tolerance: f64) -> Claim {
    let mut c = error_claim(published, tolerance);
    c.id = id.into();
    c.metric = metric;
    c.rule = [("trials", serde_yaml_ng::Value::from(10)), ("stop.kind", "window".into()), ("stop.window", 2000.into()), ("stop.fewer_wrong_than", 13.into())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    c
}

/// A count claim as shipped: up to twice the published number within tolerance, below half of
/// it better than published.
fn halved(id: &str, metric: Metric, published: f64) -> Claim {
    let mut c = trials_claim(id, metric, published, published);
    c.better_tolerance = Some(published / 2.0);
    c
}

/// Trials: those that succeeded, at the given counts, then `failed` censored at `budget`.
fn trials(counts: &[f64], failed: usize, budget: f64) -> Vec<Observation> {
    counts.iter().map(|&c| Observation::Measured(c)).chain(std::iter::repeat_n(Observation::Censored { budget }, failed)).collect()
}

/// Every verdict, each reached by a hand-made record: the number against the tolerance, the
/// rule the record was measured under against the paper's, failed trials counted at their
/// budget (what the bound proves), a run that stopped.
#[test]
fn every_verdict_from_a_hand_made_record() {
    let paper_rule = flatten(&Recipe { trials: 10, stop: Stop { kind: "window", window: 2000, fewer_wrong_than: 13 } });
    let consecutive = flatten(&Recipe { trials: 10, stop: Stop { kind: "window", window: 13, fewer_wrong_than: 1 } });
    let three_trials = flatten(&Recipe { trials: 3, stop: Stop { kind: "window", window: 2000, fewer_wrong_than: 13 } });
    type Rule = BTreeMap<String, serde_yaml_ng::Value>;
    /// A hand-made record: what it is, the claim, each run's observations and rule.
    type Case<'a> = (&'a str, Claim, Vec<Vec<Observation>>, Vec<Rule>);
    let one = |v: f64| vec![vec![Observation::Measured(v)]];
    let cases: Vec<Case> = vec![
        ("no record", trials_claim("a", metrics::TEST_WRONG, 14.0, 13.0), vec![], vec![]),
        ("as published", trials_claim("b", metrics::TEST_WRONG, 14.0, 13.0), one(14.0), vec![paper_rule.clone()]),
        ("worse within the tolerance", trials_claim("c", metrics::TEST_WRONG, 14.0, 13.0), one(20.0), vec![paper_rule.clone()]),
        ("worse beyond it", trials_claim("d", metrics::TEST_WRONG, 14.0, 13.0), one(40.0), vec![paper_rule.clone()]),
        ("far better (an easier test?)", trials_claim("e", metrics::TEST_WRONG, 140.0, 13.0), one(3.0), vec![paper_rule.clone()]),
        ("13 consecutive instead of fewer than 13 of 2000", trials_claim("f", metrics::TEST_WRONG, 14.0, 13.0), one(14.0), vec![consecutive.clone()]),
        ("3 trials instead of 10", trials_claim("g", metrics::TEST_WRONG, 14.0, 13.0), one(14.0), vec![three_trials]),
        ("one of two seeds under another rule", trials_claim("h", metrics::TEST_WRONG, 14.0, 13.0), vec![vec![Observation::Measured(14.0)]; 2], vec![paper_rule.clone(), consecutive]),
        ("success rate 10% of 100%", trials_claim("rate", metrics::SUCCESS_RATE_PCT, 100.0, 10.0), one(10.0), vec![paper_rule.clone()]),
        ("10 trials succeeded", halved("all", metrics::SEQUENCES_TO_SUCCESS, 74000.0), vec![trials(&[70000.0; 10], 0, 296_000.0)], vec![paper_rule.clone()]),
        ("9 of 10 succeeded, 1 failed within 4× the mean", halved("one-failed", metrics::SEQUENCES_TO_SUCCESS, 74000.0), vec![trials(&[70000.0; 9], 1, 296_000.0)], vec![paper_rule.clone()]),
        ("1 of 10 succeeded", halved("nine-failed", metrics::SEQUENCES_TO_SUCCESS, 74000.0), vec![trials(&[70000.0], 9, 296_000.0)], vec![paper_rule.clone()]),
        ("no trial succeeded", halved("none", metrics::SEQUENCES_TO_SUCCESS, 74000.0), vec![trials(&[], 10, 296_000.0)], vec![paper_rule.clone()]),
        ("a tenth of the paper's count", halved("fast", metrics::SEQUENCES_TO_SUCCESS, 74000.0), vec![trials(&[7400.0; 10], 0, 296_000.0)], vec![paper_rule.clone()]),
        ("60% of the paper's count", halved("fast2", metrics::SEQUENCES_TO_SUCCESS, 74000.0), vec![trials(&[44400.0; 10], 0, 296_000.0)], vec![paper_rule.clone()]),
        ("one of two seeds stopped", trials_claim("stopped", metrics::TEST_WRONG, 14.0, 13.0), vec![vec![Observation::Measured(14.0)], vec![Observation::Stopped]], vec![paper_rule.clone(); 2]),
    ];
    let mut table = String::from("| record | claim | ours | verdict | notes |\n|---|---|---|---|---|\n");
    let mut verdicts = Vec::new();
    for (what, claim, runs, rules) in &cases {
        let j = judge(claim, runs, rules);
        let mut notes: Vec<String> = rules.iter().flat_map(|r| rule_differences(claim, r)).collect();
        notes.extend(j.notes.iter().cloned());
        table.push_str(&format!("| {what} | `{}` {} {} | {} | {} | {} |\n", claim.id, claim.metric.label(), claim.published, j.ours(claim), j.verdict, notes.join("; ")));
        verdicts.push(j.verdict);
    }
    for v in [Verdict::NotRun, Verdict::Reproduced, Verdict::WithinTolerance, Verdict::NotReproduced, Verdict::BetterThanPublished, Verdict::OtherRule, Verdict::NotComparable] {
        assert!(verdicts.contains(&v), "no case reaches `{v}`:\n{table}");
    }
    insta::assert_snapshot!(table);
}

/// Exp. 3a (T = 100, N = 3) as recorded: 9 of 10 trials succeeded, one ran out of its 160,000
/// sequences. Over the survivors the mean is 37,533 against the paper's 39,850, "reproduced"
/// (planted: judging the successes only); counted at its budget the mean is at least 49,780,
/// within the tolerance (79,700) but unbounded above, so the runs cannot decide. With 5 trials
/// failed the bound alone is beyond the tolerance: NOT reproduced.
#[test]
fn failed_trials_count_at_their_budget() {
    let claim = halved("exp3a", metrics::SEQUENCES_TO_SUCCESS, 39850.0);
    let succeeded = [29600.0, 150900.0, 21100.0, 25300.0, 11200.0, 8800.0, 47300.0, 10800.0, 32800.0];
    let survivors_only = judge(&claim, &[trials(&succeeded, 0, 160_000.0)], &[]);
    assert_eq!((survivors_only.summary.unwrap().mean.round(), survivors_only.verdict), (37533.0, Verdict::Reproduced));
    let j = judge(&claim, &[trials(&succeeded, 1, 160_000.0)], &[]);
    assert_eq!(j.verdict, Verdict::NotComparable, "{j:?}");
    assert_eq!(j.summary.as_ref().unwrap().mean, 49780.0);
    assert_eq!(j.survivors.as_ref().unwrap().mean.round(), 37533.0);
    assert_eq!(j.ours(&claim), "≥ 49,780 (1 failed of 10 trials, counted at the budget; survivors' mean 37,533)");
    assert!(j.notes[0].contains("1 of 10 trials did not succeed within the budget (160,000)") && j.notes[0].contains("79,700"), "{}", j.notes[0]);
    let j = judge(&claim, &[trials(&succeeded[..5], 5, 160_000.0)], &[]);
    assert_eq!(j.verdict, Verdict::NotReproduced, "{j:?}");
    // Trials of two runs pool: one run's failure is not averaged away by the other's successes.
    let j = judge(&claim, &[trials(&succeeded, 1, 160_000.0), trials(&succeeded, 0, 160_000.0)], &[]);
    assert_eq!((j.counted, j.censored, j.verdict), (19, 1, Verdict::NotComparable));
}

/// The Kaplan–Meier median against hand-computed cases: without censoring it is the lower
/// median; trials censored at the budget leave the risk set only there; a censoring before the
/// events re-weights them; fewer than half succeeding has no median.
#[test]
fn the_kaplan_meier_median_by_hand() {
    let m = metrics::SEQUENCES_TO_SUCCESS;
    let ok = |v: &[f64]| v.iter().map(|&x| Observation::Measured(x)).collect::<Vec<_>>();
    assert_eq!(kaplan_meier_median(&ok(&[5.0, 1.0, 3.0, 2.0]), m), Some(2.0));
    assert_eq!(kaplan_meier_median(&trials(&[1.0, 2.0, 3.0], 2, 10.0), m), Some(3.0), "S drops to 0.8, 0.6, 0.4");
    assert_eq!(kaplan_meier_median(&trials(&[1.0, 2.0], 3, 10.0), m), None, "S stays at 0.6");
    // Censored at 1.5, before the events at 2 and 3: S(1) = 3/4, S(2) = 3/4 · 1/2 = 3/8.
    let mut early = ok(&[1.0, 2.0, 3.0]);
    early.push(Observation::Censored { budget: 1.5 });
    assert_eq!(kaplan_meier_median(&early, m), Some(2.0));
    assert_eq!(kaplan_meier_median(&ok(&[1.0, 2.0]), metrics::SUCCESS_RATE_PCT), None, "only counts to an event have a median");
}

#[test]
fn summary_keeps_every_value_and_uses_the_sample_std() {
    let s = Summary::of(vec![1.0, 2.0, 3.0]).unwrap();
    assert_eq!(s.values, vec![1.0, 2.0, 3.0]);
    assert!((s.mean - 2.0).abs() < 1e-12 && (s.std - 1.0).abs() < 1e-12);
    assert_eq!(s.display(2), "2.00 ± 1.00 (n=3)");
    assert_eq!(Published::from(0.8).half_unit(), 0.05);
    assert_eq!(Published::from(0.95).half_unit(), 0.005);
}

#[test]
fn a_claims_file_with_an_unknown_key_is_rejected() {
    let text = "- id: x\n  paper: p\n  source: s\n  description: d\n  experiment: e\n  dataset: mnist\n  split: test\n  metric: test_error_pct\n  published: 1.5\n  tolerance: 0.1\n  tolerance_reason: r\n  tolerence: 0.2\n";
    let e = repro_common::claims::parse_claims(text, "claims.yaml", &[]).unwrap_err().to_string();
    assert!(e.contains("claims.yaml") && e.contains("unknown field `tolerence`") && e.contains("line 12"), "{e}");
    let e = repro_common::claims::parse_claims(&text.replace("test_error_pct", "error"), "claims.yaml", &[]).unwrap_err().to_string();
    assert!(e.contains("unknown metric `error`, expected one of test_error_pct, test_accuracy_pct"), "{e}");
    // A paper's own metric is known only to its own claims file.
    let own = text.replace("test_error_pct", "test_wrong").replace("  tolerence: 0.2\n", "");
    let e = repro_common::claims::parse_claims(&own, "claims.yaml", &[]).unwrap_err().to_string();
    assert!(e.contains("unknown metric `test_wrong`"), "{e}");
    let parsed = repro_common::claims::parse_claims(&own, "claims.yaml", &metrics::ALL).unwrap();
    assert_eq!(parsed[0].metric, metrics::TEST_WRONG);
}

/// The claims figure's axis: 0 is published, +1 the worst accepted number and −1 the best, for
/// either direction of metric, with a count's own better-side tolerance.
#[test]
fn the_claims_figure_measures_in_tolerances_with_worse_to_the_right() {
    use repro_common::report::in_tolerances;
    let error = error_claim(1.0, 0.2);
    assert!((in_tolerances(&error, 1.2) - 1.0).abs() < 1e-9, "more error is worse");
    assert!((in_tolerances(&error, 0.9) + 0.5).abs() < 1e-9);
    let mut rate = trials_claim("rate", metrics::SUCCESS_RATE_PCT, 100.0, 10.0);
    assert!((in_tolerances(&rate, 80.0) - 2.0).abs() < 1e-9, "a lower success rate is worse");
    rate.published = 50.0.into();
    assert!((in_tolerances(&rate, 60.0) + 1.0).abs() < 1e-9);
    let count = halved("seq", metrics::SEQUENCES_TO_SUCCESS, 1000.0);
    assert!((in_tolerances(&count, 2000.0) - 1.0).abs() < 1e-9, "twice the published count: the worst accepted");
    assert!((in_tolerances(&count, 500.0) + 1.0).abs() < 1e-9, "half of it: the best accepted");
}

/// The trials strip plot draws a dot per successful trial (and one in the legend) and a cross,
/// not a dot, per failure; with nothing to draw it draws no figure.
#[test]
fn the_strip_plot_draws_successes_as_dots_and_failures_as_crosses() {
    use repro_common::report::{StripLegend, StripRow, strip_plot_svg};
    let legend = StripLegend { success: "a success", failure: "a failed trial, where it stopped", mean: "mean", reference: "the published mean" };
    assert!(strip_plot_svg("t", "x", legend, &[]).is_none());
    let rows = [
        StripRow { label: "a".into(), items: vec![(1000.0, true), (2000.0, true), (50_000.0, false)], reference: Some(1500.0) },
        StripRow { label: "b".into(), items: vec![(300.0, true), (90_000.0, false), (90_000.0, false)], reference: None },
    ];
    let svg = strip_plot_svg("trials", "training sequences", legend, &rows).unwrap();
    assert_eq!(svg.matches("<circle").count(), 3 + 1, "one dot per success, one in the legend");
    assert!(svg.contains("a failed trial, where it stopped") && svg.contains("the published mean"), "{svg}");
}
