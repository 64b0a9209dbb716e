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
