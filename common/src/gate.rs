//! Statistical gates: the value a check expects, a band whose width is derived rather than
//! guessed, and a failure that says which way the number moved and by how much.
//!
//! Training numbers are not exact across machines: burn-flex's matrix kernels are chosen by CPU
//! features (AVX2 or AVX-512) and its reductions by thread count, so the same seed can follow a
//! slightly different trajectory. A gate therefore never compares floats exactly. Its band is
//! `k` standard errors of what is measured: for an error rate on `n` items, the binomial
//! standard error `sqrt(p (1 − p) / n)`; for anything else, the spread measured over seeds, as a
//! prediction interval for one more run ([`Gate::predicted`]). Another CPU or thread count acts
//! on a training run like another seed (the trajectories part after a few steps), so seed
//! spread is the right yardstick for "the same run on another machine".

use std::fmt;

/// A number, what it should be, and the interval it may move in.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// What is measured, e.g. `net held-out error %`.
    pub what: String,
    /// The expected value (a committed record, or a measured reference run).
    pub expected: f64,
    /// The accepted interval, `low ≤ observed ≤ high`.
    pub low: f64,
    pub high: f64,
    /// How the interval was derived, in words and numbers.
    pub basis: String,
    /// Whether smaller is better (errors, losses, perplexities): used to say "worse"/"better".
    pub lower_is_better: bool,
}

/// A number outside its gate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct GateFailure {
    pub gate: Gate,
    pub observed: f64,
}

impl fmt::Display for GateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.gate;
        let delta = self.observed - g.expected;
        let moved = if delta == 0.0 {
            format!("level with {}", num(g.expected))
        } else {
            let judgement = if (delta < 0.0) == g.lower_is_better { "better" } else { "worse" };
            format!("{} {} from {} ({judgement})", if delta > 0.0 { "up" } else { "down" }, num(delta.abs()), num(g.expected))
        };
        write!(f, "{}: {} is outside [{}, {}]: {moved}; the band is {}", g.what, num(self.observed), num(g.low), num(g.high), g.basis)
    }
}

fn num(x: f64) -> String {
    if x.is_infinite() { if x > 0.0 { "+inf".into() } else { "-inf".into() } } else { format!("{x:.3}") }
}

/// The binomial standard error, in percentage points, of an error rate of `pct` % on `n` items.
/// The rate is kept at least one item from 0 and 100 % so that a perfect score still has a band.
pub fn binomial_se_pct(pct: f64, n: usize) -> f64 {
    assert!(n > 0, "an error rate needs at least one item");
    let n = n as f64;
    // On one item the band is that of a coin: one item from 0 and 100 % would cross.
    let one_item = (1.0 / n).min(0.5);
    let p = (pct / 100.0).clamp(one_item, 1.0 - one_item);
    100.0 * (p * (1.0 - p) / n).sqrt()
}

impl Gate {
    /// An error rate (percent) measured on `n` items, expected near `expected_pct`: the band is
    /// `k` binomial standard errors either side.
    pub fn error_rate(what: impl Into<String>, expected_pct: f64, n: usize, k: f64) -> Self {
        let se = binomial_se_pct(expected_pct, n);
        Self::symmetric(what, expected_pct, k * se, format!("±{k} × binomial SE ({se:.3} points at {expected_pct:.2}% on {n} items)"), true)
    }

    /// A re-measurement of a recorded error rate (a replay on another machine, whose
    /// trajectory differs): two independent draws, so the difference has `sqrt 2` times the
    /// binomial standard error.
    pub fn replayed_error_rate(what: impl Into<String>, recorded_pct: f64, n: usize, k: f64) -> Self {
        let se = binomial_se_pct(recorded_pct, n) * std::f64::consts::SQRT_2;
        Self::symmetric(what, recorded_pct, k * se, format!("±{k} × √2 × binomial SE ({se:.3} points at {recorded_pct:.2}% on {n} items, record vs replay)"), true)
    }

    /// An error rate that must end clearly below chance: at most `chance_pct` minus `k`
    /// binomial standard errors of a chance-level guesser on `n` items. An untrained net fails.
    pub fn below_chance(what: impl Into<String>, chance_pct: f64, n: usize, k: f64) -> Self {
        let se = binomial_se_pct(chance_pct, n);
        Self {
            what: what.into(),
            expected: chance_pct,
            low: f64::NEG_INFINITY,
            high: chance_pct - k * se,
            basis: format!("at least {k} × binomial SE ({se:.3} points on {n} items) below chance ({chance_pct:.2}%)"),
            lower_is_better: true,
        }
    }

    /// One more run of something measured over seeds (`samples`, at least 3): the 99.73 %
    /// (3σ-equivalent) prediction interval of a new draw, `mean ± t(n − 1) · sd · √(1 + 1/n)`
    /// with Student's t for the few seeds measured, widened to at least `floor` either side (the
    /// measurement's own resolution, e.g. 3 binomial SE of an error rate).
    pub fn predicted(what: impl Into<String>, samples: &[f64], floor: f64, measured: &str, lower_is_better: bool) -> Self {
        let n = samples.len();
        assert!(n >= 3, "a spread needs at least 3 samples, got {n}");
        let mean = samples.iter().sum::<f64>() / n as f64;
        let sd = (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let t = student_t_3sigma(n - 1);
        let interval = t * sd * (1.0 + 1.0 / n as f64).sqrt();
        let (half, basis) = if interval >= floor {
            (interval, format!("99.73% prediction interval of one more run: mean {mean:.3} ± t({}) {t:.2} × sd {sd:.3} × √(1 + 1/{n}), from {n} runs ({measured})", n - 1))
        } else {
            (floor, format!("±{floor:.3}, the measurement's resolution, wider than the seeds' 99.73% prediction interval ±{interval:.3} (mean {mean:.3}, sd {sd:.3} over {n} runs: {measured})"))
        };
        Self::symmetric(what, mean, half, basis, lower_is_better)
    }

    fn symmetric(what: impl Into<String>, expected: f64, half_width: f64, basis: String, lower_is_better: bool) -> Self {
        Self { what: what.into(), expected, low: expected - half_width, high: expected + half_width, basis, lower_is_better }
    }

    /// `Ok` when `observed` lies in the band (a NaN never does).
    pub fn check(&self, observed: f64) -> Result<(), GateFailure> {
        if observed >= self.low && observed <= self.high { Ok(()) } else { Err(GateFailure { gate: self.clone(), observed }) }
    }

    /// Panics with the failure's message: for tests.
    #[track_caller]
    pub fn assert(&self, observed: f64) {
        if let Err(e) = self.check(observed) {
            panic!("{e}");
        }
    }
}

/// Student's t quantile at 0.99865 (the one-sided tail of 3σ) for `dof` degrees of freedom
/// (scipy.stats.t.ppf(norm.cdf(3), dof)); beyond 30 the value at 30 (conservative).
fn student_t_3sigma(dof: usize) -> f64 {
    const T: [f64; 30] = [
        235.801, 19.207, 9.219, 6.620, 5.507, 4.904, 4.530, 4.277, 4.094, 3.957, 3.850, 3.764, 3.694, 3.636, 3.586, 3.544, 3.507, 3.475, 3.447, 3.422, 3.400, 3.380, 3.361, 3.345, 3.330, 3.316, 3.303,
        3.291, 3.280, 3.270,
    ];
    T[dof.clamp(1, 30) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One item: the band of a coin (50 points), not a panic from a crossed clamp.
    #[test]
    fn a_single_item_has_a_band() {
        assert!((binomial_se_pct(0.0, 1) - 50.0).abs() < 1e-9);
        assert!((binomial_se_pct(100.0, 2) - 35.355).abs() < 1e-3);
    }

    #[test]
    fn binomial_band_and_messages() {
        // 2 % on 2,000 items: SE = sqrt(0.02 · 0.98 / 2000) = 0.313 points.
        let g = Gate::error_rate("error %", 2.0, 2000, 3.0);
        assert!((g.high - 2.939).abs() < 1e-3 && (g.low - 1.061).abs() < 1e-3, "{g:?}");
        assert!(g.check(2.9).is_ok() && g.check(1.1).is_ok());
        let worse = g.check(3.5).unwrap_err().to_string();
        assert!(worse.contains("up 1.500") && worse.contains("worse") && worse.contains("2000 items"), "{worse}");
        let better = g.check(0.5).unwrap_err().to_string();
        assert!(better.contains("down 1.500") && better.contains("better"), "{better}");
        assert!(g.check(f64::NAN).is_err());
    }

    #[test]
    fn a_perfect_score_still_has_a_band_and_chance_is_refused() {
        let g = Gate::error_rate("error %", 0.0, 200, 3.0);
        assert!(g.high > 1.0 && g.check(0.0).is_ok());
        let c = Gate::below_chance("error %", 75.0, 48, 3.0);
        assert!(c.check(75.0).is_err() && c.check(60.0).is_err() && c.check(50.0).is_ok(), "{c:?}");
        let at_chance = c.check(75.0).unwrap_err().to_string();
        assert!(at_chance.contains("level with 75.000") && !at_chance.contains("worse"), "{at_chance}");
        let replay = Gate::replayed_error_rate("error %", 2.0, 2000, 3.0);
        assert!((replay.high - 2.0 - 3.0 * 0.313 * std::f64::consts::SQRT_2).abs() < 1e-2);
    }

    #[test]
    fn a_prediction_interval_from_few_seeds_is_wide_and_has_a_floor() {
        // Six runs, mean 7.35, sd 0.0456: t(5) = 5.507, × √(7/6) → ±0.271.
        let samples = [7.31, 7.41, 7.38, 7.38, 7.30, 7.32];
        let g = Gate::predicted("ppl", &samples, 0.0, "seeds 1-6", true);
        let sd = 0.045607_f64;
        assert!((g.expected - 7.35).abs() < 1e-9 && (g.high - g.expected - 5.507 * sd * (7.0_f64 / 6.0).sqrt()).abs() < 1e-3, "{g:?}");
        let floored = Gate::predicted("err", &[2.0, 2.0, 2.0], 0.9, "identical runs", true);
        assert_eq!((floored.low, floored.high), (1.1, 2.9));
        assert!(floored.basis.contains("resolution"));
    }
}
