//! The claims as declared, and the verdict rule.

use std::collections::BTreeMap;

use repro_common::claims::{Claim, Metric, Summary, Verdict, apply_requirements, flatten, judge, printed_precision, rule_differences, verdict};
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
        published,
        tolerance,
        tolerance_reason: "r".into(),
        statistic: Default::default(),
        rule: BTreeMap::new(),
        requires: None,
        better_tolerance: None,
    }
}

#[test]
fn verdicts_follow_the_published_precision_and_tolerance() {
    let c = error_claim(0.95, 0.2);
    let s = |v: &[f64]| Summary::of(v.to_vec());
    assert_eq!(verdict(&c, None), Verdict::NotRun);
    assert_eq!(verdict(&c, s(&[0.90]).as_ref()), Verdict::Reproduced);
    assert_eq!(verdict(&c, s(&[0.954]).as_ref()), Verdict::Reproduced, "within the printed precision");
    assert_eq!(verdict(&c, s(&[1.10]).as_ref()), Verdict::WithinTolerance);
    assert_eq!(verdict(&c, s(&[1.20]).as_ref()), Verdict::NotReproduced);
    assert_eq!(verdict(&c, s(&[1.0, 1.3]).as_ref()), Verdict::WithinTolerance, "the mean over seeds decides");
    assert_eq!(verdict(&c, s(&[0.75]).as_ref()), Verdict::Reproduced, "better, but within the tolerance");
    assert_eq!(verdict(&c, s(&[0.70]).as_ref()), Verdict::BetterThanPublished, "better by more than the tolerance");
    let mut acc = error_claim(90.5, 1.0);
    acc.metric = Metric::TEST_ACCURACY_PCT;
    assert_eq!(verdict(&acc, s(&[89.9]).as_ref()), Verdict::WithinTolerance);
    assert_eq!(verdict(&acc, s(&[91.0]).as_ref()), Verdict::Reproduced);
    assert_eq!(verdict(&acc, s(&[92.0]).as_ref()), Verdict::BetterThanPublished);
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

fn trials_claim(id: &str, metric: Metric, published: f64, tolerance: f64, requires: Option<&str>) -> Claim {
    let mut c = error_claim(published, tolerance);
    c.id = id.into();
    c.metric = metric;
    c.requires = requires.map(String::from);
    c.rule = [("trials", serde_yaml_ng::Value::from(10)), ("stop.kind", "window".into()), ("stop.window", 2000.into()), ("stop.fewer_wrong_than", 13.into())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    c
}

/// A count claim as shipped: up to twice the published number within tolerance, below half of
/// it better than published.
fn halved(id: &str, metric: Metric, published: f64, requires: Option<&str>) -> Claim {
    let mut c = trials_claim(id, metric, published, published, requires);
    c.better_tolerance = Some(published / 2.0);
    c
}

/// Every verdict, each reached by a hand-made record: the number against the tolerance, the
/// rule the record was measured under against the paper's, and the claim a mean over the
/// successful trials requires.
#[test]
fn every_verdict_from_a_hand_made_record() {
    let paper_rule = flatten(&Recipe { trials: 10, stop: Stop { kind: "window", window: 2000, fewer_wrong_than: 13 } });
    let consecutive = flatten(&Recipe { trials: 10, stop: Stop { kind: "window", window: 13, fewer_wrong_than: 1 } });
    let three_trials = flatten(&Recipe { trials: 3, stop: Stop { kind: "window", window: 2000, fewer_wrong_than: 13 } });
    type Rule = BTreeMap<String, serde_yaml_ng::Value>;
    let cases: Vec<(&str, Claim, Option<Summary>, Vec<Rule>)> = vec![
        ("no record", trials_claim("a", metrics::TEST_WRONG, 14.0, 13.0, None), None, vec![]),
        ("as published", trials_claim("b", metrics::TEST_WRONG, 14.0, 13.0, None), Summary::of(vec![14.0]), vec![paper_rule.clone()]),
        ("worse within the tolerance", trials_claim("c", metrics::TEST_WRONG, 14.0, 13.0, None), Summary::of(vec![20.0]), vec![paper_rule.clone()]),
        ("worse beyond it", trials_claim("d", metrics::TEST_WRONG, 14.0, 13.0, None), Summary::of(vec![40.0]), vec![paper_rule.clone()]),
        ("far better (an easier test?)", trials_claim("e", metrics::TEST_WRONG, 140.0, 13.0, None), Summary::of(vec![3.0]), vec![paper_rule.clone()]),
        ("13 consecutive instead of fewer than 13 of 2000", trials_claim("f", metrics::TEST_WRONG, 14.0, 13.0, None), Summary::of(vec![14.0]), vec![consecutive.clone()]),
        ("3 trials instead of 10", trials_claim("g", metrics::TEST_WRONG, 14.0, 13.0, None), Summary::of(vec![14.0]), vec![three_trials]),
        ("one of two seeds under another rule", trials_claim("h", metrics::TEST_WRONG, 14.0, 13.0, None), Summary::of(vec![14.0, 14.0]), vec![paper_rule.clone(), consecutive]),
        ("success rate 10% of 100%", trials_claim("rate", metrics::SUCCESS_RATE_PCT, 100.0, 10.0, None), Summary::of(vec![10.0]), vec![paper_rule.clone()]),
        ("its mean over 1 successful trial", trials_claim("mean", metrics::SEQUENCES_TO_SUCCESS, 74000.0, 74000.0, Some("rate")), Summary::of(vec![70000.0]), vec![paper_rule.clone()]),
        ("success rate 100%", trials_claim("rate2", metrics::SUCCESS_RATE_PCT, 100.0, 10.0, None), Summary::of(vec![100.0]), vec![paper_rule.clone()]),
        ("its mean over 10 successful trials", trials_claim("mean2", metrics::SEQUENCES_TO_SUCCESS, 74000.0, 74000.0, Some("rate2")), Summary::of(vec![70000.0]), vec![paper_rule.clone()]),
        ("requires a claim not run", trials_claim("mean3", metrics::SEQUENCES_TO_SUCCESS, 74000.0, 74000.0, Some("a")), Summary::of(vec![70000.0]), vec![paper_rule.clone()]),
        ("no trial succeeded, so no mean", trials_claim("mean4", metrics::SEQUENCES_TO_SUCCESS, 74000.0, 74000.0, Some("rate")), None, vec![]),
        ("a tenth of the paper's count", halved("fast", metrics::SEQUENCES_TO_SUCCESS, 74000.0, Some("rate2")), Summary::of(vec![7400.0]), vec![paper_rule.clone()]),
        ("60% of the paper's count", halved("fast2", metrics::SEQUENCES_TO_SUCCESS, 74000.0, Some("rate2")), Summary::of(vec![44400.0]), vec![paper_rule]),
    ];
    let claims: Vec<Claim> = cases.iter().map(|c| c.1.clone()).collect();
    let mut verdicts: Vec<Verdict> = cases.iter().map(|(_, claim, summary, rules)| judge(claim, summary.as_ref(), rules)).collect();
    apply_requirements(&claims, &mut verdicts);
    let mut table = String::from("| record | claim | ours | verdict | rule differences |\n|---|---|---|---|---|\n");
    for ((what, claim, summary, rules), v) in cases.iter().zip(&verdicts) {
        let differences: Vec<String> = rules.iter().flat_map(|r| rule_differences(claim, r)).collect();
        let ours = summary.as_ref().map(|s| s.display(0)).unwrap_or_else(|| "–".into());
        table.push_str(&format!("| {what} | `{}` {} {} | {ours} | {v} | {} |\n", claim.id, claim.metric.label(), claim.published, differences.join("; ")));
    }
    for v in [Verdict::NotRun, Verdict::Reproduced, Verdict::WithinTolerance, Verdict::NotReproduced, Verdict::BetterThanPublished, Verdict::OtherRule, Verdict::NotComparable] {
        assert!(verdicts.contains(&v), "no case reaches `{v}`:\n{table}");
    }
    insta::assert_snapshot!(table);
}

#[test]
fn a_requires_that_names_no_claim_is_rejected() {
    let text = "- id: x\n  paper: p\n  source: s\n  description: d\n  experiment: e\n  dataset: generated\n  split: test\n  metric: test_wrong\n  published: 1.0\n  tolerance: 1\n  tolerance_reason: r\n  requires: y\n";
    let e = repro_common::claims::parse_claims(text, "claims.yaml", &metrics::ALL).unwrap_err().to_string();
    assert!(e.contains("claims.yaml") && e.contains("x.requires") && e.contains("`y`"), "{e}");
}

#[test]
fn summary_keeps_every_value_and_uses_the_sample_std() {
    let s = Summary::of(vec![1.0, 2.0, 3.0]).unwrap();
    assert_eq!(s.values, vec![1.0, 2.0, 3.0]);
    assert!((s.mean - 2.0).abs() < 1e-12 && (s.std - 1.0).abs() < 1e-12);
    assert_eq!(s.display(2), "2.00 ± 1.00 (n=3)");
    assert_eq!(printed_precision(0.8), 0.1);
    assert_eq!(printed_precision(0.95), 0.01);
}

#[test]
fn a_claims_file_with_an_unknown_key_is_rejected() {
    let text = "- id: x\n  paper: p\n  source: s\n  description: d\n  experiment: e\n  dataset: mnist\n  split: test\n  metric: test_error_pct\n  published: 1.0\n  tolerance: 0.1\n  tolerance_reason: r\n  tolerence: 0.2\n";
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
    let mut rate = trials_claim("rate", metrics::SUCCESS_RATE_PCT, 100.0, 10.0, None);
    assert!((in_tolerances(&rate, 80.0) - 2.0).abs() < 1e-9, "a lower success rate is worse");
    rate.published = 50.0;
    assert!((in_tolerances(&rate, 60.0) + 1.0).abs() < 1e-9);
    let count = halved("seq", metrics::SEQUENCES_TO_SUCCESS, 1000.0, None);
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
