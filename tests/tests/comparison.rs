//! The paper-vs-ours tables built from the run records committed under `results/`.

use repro_common::paper::Paper;
use repro_common::report::{collect_runs, compare, comparison_table, results_table};
use repro_lenet::LenetPaper;
use repro_tests::repo_root;

#[test]
fn lenet_comparison_from_committed_records() {
    let results = repo_root().join("results");
    let runs = collect_runs(&results, "lenet").expect("committed records are readable");
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
