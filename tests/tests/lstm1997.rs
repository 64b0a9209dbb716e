//! The 1997 LSTM: gradient checks of the hand-written cell, the task generators against the
//! paper's definitions, the weight counts against the paper's, and a short regression run.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use repro_lstm::net1997::{BiasSpec, Gradient, Net, NetSpec, Sequence, Weights};
use repro_lstm::tasks::{self, Task};

fn spec(output_gates: bool, recurrent: bool, input_to_output: bool) -> NetSpec {
    NetSpec {
        inputs: 3,
        outputs: 2,
        blocks: 2,
        cells_per_block: 2,
        output_gates,
        recurrent,
        input_to_output,
        bias: BiasSpec { input_gates: true, output_gates: true, cells: true, outputs: true },
        init_range: 0.8,
        input_gate_bias: vec![],
        output_gate_bias: vec![],
    }
}

fn random_sequence(rng: &mut ChaCha8Rng, len: usize) -> Sequence {
    use rand::Rng;
    Sequence {
        len,
        inputs: (0..len * 3).map(|_| rng.random_range(-1.0..1.0)).collect(),
        targets: (0..len * 2).map(|_| rng.random_range(0.0..1.0)).collect(),
        has_target: (0..len).map(|t| t % 2 == 1 || t == len - 1).collect(),
    }
}

/// Central differences of `f` at every weight.
fn numeric(net: &mut Net, f: &dyn Fn(&mut Net) -> f64) -> Vec<f64> {
    let n = net.weights.flat().len();
    let h = 1e-6;
    (0..n)
        .map(|i| {
            let orig = net.weights.flat()[i];
            *net.weights.flat_mut().nth(i).unwrap() = orig + h;
            let up = f(net);
            *net.weights.flat_mut().nth(i).unwrap() = orig - h;
            let down = f(net);
            *net.weights.flat_mut().nth(i).unwrap() = orig;
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn assert_close(analytic: &[f64], numeric: &[f64], mask_zero: bool) {
    let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        if mask_zero && *a == 0.0 {
            continue;
        }
        assert!((a - n).abs() <= 1e-6 * scale + 1e-7, "weight {i}: analytic {a} vs numeric {n}");
    }
}

#[test]
fn full_bptt_gradient_matches_finite_differences() {
    for (og, rec, io) in [(true, true, false), (false, false, true), (true, true, true)] {
        let spec = spec(og, rec, io);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut net = Net::new(spec.clone(), Weights::init(&spec, &mut rng));
        let seq = random_sequence(&mut rng, 6);
        net.clear_gradient();
        net.forward(&seq);
        net.backward(&seq, Gradient::Full);
        let analytic = net.gradient();
        let num = numeric(&mut net, &|n: &mut Net| n.error(&seq));
        // Bias slots of unbiased units are masked out of the analytic gradient; compare the rest.
        assert_close(&analytic, &num, true);
        assert!(analytic.iter().any(|g| g.abs() > 1e-4), "a gradient that is all zeros checks nothing");
    }
}

/// The paper's truncated gradient is the exact gradient of the same sequence with the recurrent
/// inputs held at their values: check it that way, and check that it differs from full BPTT.
#[test]
fn truncated_gradient_is_the_gradient_with_recurrent_inputs_held_fixed() {
    let spec = spec(true, true, false);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut net = Net::new(spec.clone(), Weights::init(&spec, &mut rng));
    let seq = random_sequence(&mut rng, 7);
    net.clear_gradient();
    net.forward(&seq);
    let sources = net.sources();
    net.backward(&seq, Gradient::Truncated);
    let truncated = net.gradient();
    let num = numeric(&mut net, &|n: &mut Net| {
        n.forward_with_fixed_recurrence(&seq, &sources);
        let n_out = n.spec.outputs;
        (0..seq.len).filter(|&t| seq.has_target[t]).map(|t| (0..n_out).map(|k| 0.5 * (n.trace.output(t, n_out)[k] - seq.targets[t * n_out + k]).powi(2)).sum::<f64>()).sum()
    });
    assert_close(&truncated, &num, true);
    net.clear_gradient();
    net.forward(&seq);
    net.backward(&seq, Gradient::Full);
    let full = net.gradient();
    let diff = truncated.iter().zip(&full).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff > 1e-6, "truncation changed nothing: the test would not notice a missing truncation");
}
