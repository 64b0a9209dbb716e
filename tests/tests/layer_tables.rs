//! Each model's layer table (output shapes, trainable parameters), computed from the model.

use repro_common::net::NetRequest;
use repro_common::paper::ImagePaper;
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

/// Standard deviation of each layer's weighted sums (pre-activations, C1 to F6) at
/// initialisation, on the sample's first 500 training digits as the `lenet5` recipe prepares them.
fn initial_weighted_sum_stds(init: repro_lenet::InitRange) -> Vec<(&'static str, f64)> {
    use burn::tensor::Tensor;
    use repro_lenet::layers::scaled_tanh;
    let config = repro_tests::recipe(&LenetPaper, "lenet5", &["data.dataset=mnist-sample"]);
    let (train, _) = repro_tests::sample().sources(&config.data).unwrap();
    let indices: Vec<usize> = (0..500).collect();
    let device = burn::tensor::Device::flex();
    device.seed(1);
    let (x, _) = repro_common::engine::to_device(repro_common::data::source::build_batch(train.as_ref(), &indices, None).unwrap(), &device);
    let model = repro_lenet::Lenet5::new(10.0, init, &device);
    let std = |a: &Tensor<4>| a.clone().flatten::<1>(0, 3).var(0).sqrt().into_scalar::<f64>();
    let a1 = model.c1.forward(x);
    let a2 = model.s2.forward(scaled_tanh(a1.clone()));
    let a3 = model.c3.forward(scaled_tanh(a2.clone()));
    let a4 = model.s4.forward(scaled_tanh(a3.clone()));
    let a5 = model.c5.forward(scaled_tanh(a4.clone()));
    let a6 = model.f6.forward(scaled_tanh(a5.clone()).reshape([500, 120])).reshape([500, 84, 1, 1]);
    vec![("C1", std(&a1)), ("S2", std(&a2)), ("C3", std(&a3)), ("S4", std(&a4)), ("C5", std(&a5)), ("F6", std(&a6))]
}

/// App. A divides the initial weights by the fan-in because "we would like the initial standard
/// deviation of the weighted sums to be in the same range for each unit and to fall within the
/// normal operating region of the sigmoid". Taken literally (±2.4/F_i), the rule shrinks them
/// layer by layer on this network (below 0.1 from C5 on), which starves SDLM's curvature
/// estimates (DEVIATIONS.md); the recipes' ±√(3/F_i) (standard deviation F_i^-1/2) keeps every
/// layer's between 0.3 and 3, where the scaled tanh is neither flat nor saturated.
#[test]
fn lenet5_initial_weighted_sums_fall_in_the_sigmoids_operating_region() {
    let config = repro_tests::recipe(&LenetPaper, "lenet5", &[]);
    let (_, shipped) = repro_lenet::lenet5_options(&NetRequest::of(&config, 10)).unwrap();
    let stds = initial_weighted_sum_stds(shipped);
    assert!(stds.iter().all(|&(_, s)| (0.3..=3.0).contains(&s)), "shipped init {shipped:?}: {stds:?}");
    let literal = initial_weighted_sum_stds(repro_lenet::InitRange::PAPER);
    println!("weighted-sum standard deviations, shipped {shipped:?}: {stds:?}\nliteral ±2.4/F_i: {literal:?}");
    assert!(literal[4..].iter().all(|&(_, s)| s < 0.1), "the literal rule no longer shrinks C5 and F6: {literal:?}");
    for name in ["lenet5-sgd", "lenet5-distorted"] {
        let (_, init) = repro_lenet::lenet5_options(&NetRequest::of(&repro_tests::recipe(&LenetPaper, name, &[]), 10)).unwrap();
        assert_eq!(init, shipped, "{name} starts from another initialisation than lenet5");
    }
}
