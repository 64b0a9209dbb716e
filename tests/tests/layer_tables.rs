//! Each model's layer table (output shapes, trainable parameters), computed from the model.

use repro_common::paper::Paper;
use repro_common::report::layer_table;
use repro_lenet::LenetPaper;

#[test]
fn lenet5_layer_table_matches_the_paper() {
    let rows = LenetPaper.layer_table("lenet5").unwrap();
    // §II.B: 156, 12, 1,516, 32, 48,120 and 10,164 trainable parameters = 60,000.
    for row in &rows {
        if let Some(paper) = row.paper_params {
            assert_eq!(row.params, paper, "layer {}", row.name);
        }
    }
    let counts: Vec<usize> = rows.iter().map(|r| r.params).collect();
    assert_eq!(counts, vec![156, 12, 1_516, 32, 48_120, 10_164, 0]);
    assert_eq!(counts.iter().sum::<usize>(), 60_000);
    insta::assert_snapshot!(layer_table(&rows));
}

#[test]
fn lenet5_modern_layer_table() {
    let rows = LenetPaper.layer_table("lenet5-modern").unwrap();
    assert_eq!(rows.iter().map(|r| r.params).sum::<usize>(), 61_706);
    insta::assert_snapshot!(layer_table(&rows));
}

#[test]
fn unknown_model_is_an_error_naming_the_known_ones() {
    let err = LenetPaper.layer_table("lenet6").unwrap_err().to_string();
    assert!(err.contains("lenet6") && err.contains("lenet5-modern"), "{err}");
}
