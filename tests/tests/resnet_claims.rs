//! ResNet's claims as declared, and how several seeds answer them: Table 6 reports ResNet-110
//! as the best of 5 runs and as their mean ± std.

use repro_common::claims::{Statistic, Verdict};
use repro_common::paper::ImagePaper;
use repro_common::report::{RunRecord, claims_table, collect_runs, compare, comparison_table};
use repro_resnet::ResnetPaper;
use repro_tests::repo_root;

#[test]
fn resnet_claims_table() {
    let claims = ResnetPaper.claims();
    let recipes = ResnetPaper.experiments();
    for c in &claims {
        let recipe = recipes.iter().find(|r| r.name == c.experiment).unwrap_or_else(|| panic!("claim {} names no experiment", c.id));
        assert_eq!(recipe.data.dataset, c.dataset, "claim {}", c.id);
        assert!(c.tolerance > 0.0 && !c.tolerance_reason.is_empty(), "claim {}", c.id);
    }
    // Table 6's six depths, Tables 2-3 (10-crop), Table 4, and torchvision's five models × 2.
    assert_eq!(claims.iter().filter(|c| c.dataset == "cifar10").count(), 7);
    assert_eq!(claims.iter().filter(|c| c.paper.starts_with("torchvision")).count(), 10);
    assert_eq!(recipes.iter().find(|r| r.name == "cifar10-resnet110").unwrap().seeds.len(), 5, "ResNet-110 runs 5 seeds by default");
    insta::assert_snapshot!(claims_table(&claims));
}

/// Five complete ResNet-110 runs with the given final test errors, made from a committed LeNet
/// record (the manifest's fields) and the shipped recipe.
fn resnet110_runs(errors: &[f64]) -> Vec<RunRecord> {
    let template = collect_runs(&repo_root().join("results"), "lenet").unwrap().into_iter().find(|r| r.manifest.body.final_metrics.is_some()).unwrap();
    let recipe = ResnetPaper.experiments().into_iter().find(|r| r.name == "cifar10-resnet110").unwrap();
    errors
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let mut r = template.clone();
            r.path = format!("resnet/cifar10-resnet110/cifar10/seed{}", i + 1);
            r.manifest.header.paper = "resnet".into();
            r.manifest.header.experiment = recipe.name.clone();
            r.manifest.header.dataset = "cifar10".into();
            r.manifest.body.eval_split = "test".into();
            r.manifest.header.seed = i as u64 + 1;
            r.manifest.body.config = recipe.clone();
            r.manifest.body.final_metrics.as_mut().unwrap().test_error_pct = e;
            r
        })
        .collect()
}

#[test]
fn five_seeds_answer_the_best_and_the_mean_claims() {
    let runs = resnet110_runs(&[6.71, 6.52, 6.43, 6.88, 6.61]);
    let claims: Vec<_> = ResnetPaper.claims().into_iter().filter(|c| c.experiment == "cifar10-resnet110").collect();
    let rows = compare(&claims, &runs, &ResnetPaper.experiments());
    let best = rows.iter().find(|r| r.claim.statistic == Statistic::Best).unwrap();
    let mean = rows.iter().find(|r| r.claim.statistic == Statistic::Mean).unwrap();
    assert_eq!(best.summary().unwrap().mean, 6.43);
    assert_eq!(best.verdict(), Verdict::Reproduced);
    assert_eq!(best.runs.len(), 5, "every run is listed, the best one is reported");
    let m = mean.summary().unwrap();
    assert!((m.mean - 6.63).abs() < 1e-9 && m.values.len() == 5, "{m:?}");
    assert_eq!(mean.verdict(), Verdict::WithinTolerance, "6.63 vs 6.61 ± 0.3");
    insta::assert_snapshot!(comparison_table(&rows));
}

/// Table 6's "best of 5" is the best of the first five seeds: a sixth, better seed is shown and
/// not used (planted: the best of all six would read 6.00 and "better than published"), and
/// with four seeds the claim cannot be judged.
#[test]
fn a_best_of_five_claim_takes_the_first_five_seeds() {
    let claims: Vec<_> = ResnetPaper.claims().into_iter().filter(|c| c.statistic == Statistic::Best).collect();
    assert_eq!(claims[0].best_of, Some(5));
    let mut runs = resnet110_runs(&[6.71, 6.52, 6.43, 6.88, 6.61, 5.50]);
    // Seeds in the records' order are not the seeds' order: the sixth seed's record comes first.
    runs.rotate_right(1);
    let rows = compare(&claims, &runs, &ResnetPaper.experiments());
    assert_eq!(rows[0].summary().unwrap().mean, 6.43, "the best of seeds 1-5, not 5.50 from seed 6");
    assert_eq!(rows[0].verdict(), Verdict::Reproduced);
    assert!(rows[0].judgement.ours(&rows[0].claim).contains("1 more not used"), "{}", rows[0].judgement.ours(&rows[0].claim));
    let rows = compare(&claims, &runs[1..5], &ResnetPaper.experiments());
    assert_eq!(rows[0].verdict(), Verdict::NotComparable, "four runs cannot answer a best of five");
}

/// A seed that stopped (a non-finite loss) is a failed run: listed in the claim's row and
/// counted at 100 % error in the mean (planted: dropping it would judge 6.63 over four seeds,
/// "within tolerance"); for the best of 5 it is one of the five, never the best.
#[test]
fn a_stopped_seed_counts_as_a_failed_run() {
    use repro_common::records::RunStatus;
    let claims: Vec<_> = ResnetPaper.claims().into_iter().filter(|c| c.experiment == "cifar10-resnet110").collect();
    let mut runs = resnet110_runs(&[6.71, 6.52, 6.43, 6.88, 6.61]);
    runs[3].manifest.header.status = RunStatus::Stopped;
    runs[3].manifest.body.final_metrics = None;
    let rows = compare(&claims, &runs, &ResnetPaper.experiments());
    let mean = rows.iter().find(|r| r.claim.statistic == Statistic::Mean).unwrap();
    assert_eq!(mean.runs.len(), 5);
    assert_eq!(mean.stopped, vec![runs[3].path.clone()]);
    assert_eq!(mean.verdict(), Verdict::NotReproduced, "{:?}", mean.judgement);
    assert!(mean.judgement.ours(&mean.claim).contains("1 of 5 stopped, counted at 100.00"), "{}", mean.judgement.ours(&mean.claim));
    let best = rows.iter().find(|r| r.claim.statistic == Statistic::Best).unwrap();
    assert_eq!((best.summary().unwrap().mean, best.verdict()), (6.43, Verdict::Reproduced));
    let notes = repro_common::report::verdict_notes(&rows);
    assert!(notes.contains("stopped: `resnet/cifar10-resnet110/cifar10/seed4`"), "{notes}");
}
