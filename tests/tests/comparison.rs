//! The paper-vs-ours tables built from the run records committed under `results/` (git's
//! copy: runs a user adds beside them do not move the snapshots; `repro_tests::Committed`).

use repro_common::paper::ImagePaper;
use repro_common::report::{collect_runs, compare, comparison_table, results_table};
use repro_lenet::LenetPaper;
use repro_tests::Committed;

#[test]
fn lenet_comparison_from_committed_records() {
    let committed = Committed::load();
    let runs = collect_runs(&committed.results(), "lenet").expect("committed records are readable");
    assert!(!runs.is_empty(), "results/lenet holds the committed runs");
    let rows = compare(&LenetPaper.claims(), &runs, &LenetPaper.experiments());
    // A claim is only answered by runs on its own dataset: sample and Fashion-MNIST runs never count.
    for row in &rows {
        for run in &row.runs {
            assert!(run.contains(&format!("/{}/", row.claim.dataset)), "{run} answers {}", row.claim.id);
        }
    }
    insta::assert_snapshot!("comparison", comparison_table(&rows));
    insta::assert_snapshot!("results", results_table(&runs));
}

#[test]
fn only_runs_of_the_shipped_recipe_answer_a_claim() {
    use repro_common::report::follows_recipe;
    let committed = Committed::load();
    let runs = collect_runs(&committed.results(), "lenet").unwrap();
    let recipes = LenetPaper.experiments();
    let run = runs.iter().find(|r| r.manifest.header.experiment == "lenet5").expect("a lenet5 run is committed");
    let recipe = recipes.iter().find(|r| r.name == "lenet5").unwrap();
    let mut manifest = run.manifest.clone();
    manifest.body.config.data.dataset = recipe.data.dataset.clone();
    assert!(follows_recipe(&manifest, recipe), "the committed run used the shipped recipe");
    manifest.body.config.seeds = vec![9, 10];
    manifest.body.config.sources.insert("epochs".into(), "reworded".into());
    assert!(follows_recipe(&manifest, recipe), "seeds and prose do not matter");
    manifest.body.config.epochs = 2;
    assert!(!follows_recipe(&manifest, recipe), "a shortened run does not stand for the paper's");
}

/// An evaluation run for `claim_experiment` made from a committed LeNet record: its weights'
/// SHA-256, and the training run they came from (experiment, shipped recipe, complete).
fn evaluation(path: &str, experiment: &repro_common::config::ExperimentConfig, sha256: &str, trained_by: Option<(&str, bool)>) -> repro_common::report::RunRecord {
    use repro_common::records::{ImportedWeights, TrainedBy};
    let template = collect_runs(&Committed::load().results(), "lenet").unwrap().into_iter().find(|r| r.manifest.body.final_metrics.is_some()).unwrap();
    let mut r = template;
    r.path = path.into();
    let m = &mut r.manifest;
    (m.header.paper, m.header.experiment, m.header.dataset) = ("vgg".into(), experiment.name.clone(), experiment.data.dataset.clone());
    m.body.eval_split = experiment.data.eval_split.clone();
    m.body.config = experiment.clone();
    m.body.final_metrics.as_mut().unwrap().test_error_pct = 25.0;
    m.body.final_metrics.as_mut().unwrap().test_top5_error_pct = Some(8.0);
    m.body.imported_weights = Some(ImportedWeights {
        file: "w".into(),
        sha256: sha256.into(),
        trained_by: trained_by.map(|(e, shipped)| TrainedBy { run: "r".into(), experiment: e.into(), seed: 1, git_commit: "c".into(), shipped_recipe: shipped, complete: true }),
    });
    r
}

/// Weights with a pedigree: a multi-scale claim on jittered training takes only weights of a
/// complete run of the shipped `vgg-d-jitter`; S = 256 weights, a modified recipe's, or an
/// unknown file are recorded and listed, never counted (planted: without the check the S = 256
/// weights answer the claim). A torchvision claim takes the file whose SHA-256 it lists.
#[test]
fn an_evaluation_claim_counts_only_weights_with_its_pedigree() {
    use repro_vgg::VggPaper;
    let recipes = VggPaper.experiments();
    let claims: Vec<_> = VggPaper.claims().into_iter().filter(|c| c.experiment == "vgg-d-jitter-multiscale" || c.experiment == "torchvision-vgg16").collect();
    let recipe = |name: &str| recipes.iter().find(|r| r.name == name).unwrap().clone();
    let runs = vec![
        evaluation("vgg/jitter-ok", &recipe("vgg-d-jitter-multiscale"), "00", Some(("vgg-d-jitter", true))),
        evaluation("vgg/s256", &recipe("vgg-d-jitter-multiscale"), "00", Some(("vgg-d-s256", true))),
        evaluation("vgg/modified", &recipe("vgg-d-jitter-multiscale"), "00", Some(("vgg-d-jitter", false))),
        evaluation("vgg/unknown-file", &recipe("vgg-d-jitter-multiscale"), "397923af00", None),
        evaluation("vgg/torchvision", &recipe("torchvision-vgg16"), "397923af5d3b1f2b", None),
        evaluation("vgg/not-torchvisions", &recipe("torchvision-vgg16"), "deadbeef", None),
    ];
    let rows = compare(&claims, &runs, &recipes);
    for row in &rows {
        let (counted, foreign): (&[&str], &[&str]) =
            if row.claim.experiment == "torchvision-vgg16" { (&["vgg/torchvision"], &["vgg/not-torchvisions"]) } else { (&["vgg/jitter-ok"], &["vgg/s256", "vgg/modified", "vgg/unknown-file"]) };
        assert_eq!(row.runs, counted, "{}", row.claim.id);
        assert_eq!(row.foreign, foreign, "{}", row.claim.id);
    }
    let notes = repro_common::report::verdict_notes(&rows);
    assert!(notes.contains("weights without the claim's pedigree (a complete run of the shipped `vgg-d-jitter`), recorded but not counted: `vgg/s256`"), "{notes}");
}
