//! The claims as declared, and the verdict rule.

use repro_common::claims::{Claim, Metric, Summary, Verdict, printed_precision, verdict};
use repro_common::paper::Paper;
use repro_common::report::claims_table;
use repro_lenet::LenetPaper;

#[test]
fn lenet_claims_table() {
    let claims = LenetPaper.claims();
    assert_eq!(claims.len(), 2);
    // Every claim answers to a shipped experiment on the dataset it names.
    for c in &claims {
        let recipe = (&LenetPaper as &dyn Paper).experiment(&c.experiment).unwrap_or_else(|| panic!("claim {} names no experiment", c.id));
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
        metric: Metric::TestErrorPct,
        published,
        tolerance,
        tolerance_reason: "r".into(),
        statistic: Default::default(),
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
    let mut acc = error_claim(90.5, 1.0);
    acc.metric = Metric::TestAccuracyPct;
    assert_eq!(verdict(&acc, s(&[89.9]).as_ref()), Verdict::WithinTolerance);
    assert_eq!(verdict(&acc, s(&[91.0]).as_ref()), Verdict::Reproduced);
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
    let e = repro_common::claims::parse_claims(text, "claims.yaml").unwrap_err().to_string();
    assert!(e.contains("claims.yaml") && e.contains("unknown field `tolerence`") && e.contains("line 12"), "{e}");
    let e = repro_common::claims::parse_claims(&text.replace("test_error_pct", "error"), "claims.yaml").unwrap_err().to_string();
    assert!(e.contains("unknown variant `error`"), "{e}");
}
