//! The six experiments' data, generated from a seed as §5 of the paper defines it. Where the paper
//! leaves a detail open, the choice is written beside the code and in `DEVIATIONS.md`.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::net1997::Sequence;

/// One experiment's sequence generator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
pub enum Task {
    /// Exp. 1: predict the next symbol of embedded Reber strings (local 7-symbol coding).
    /// Trial `i` trains and tests on data set `i mod data_sets` (§5.1: "3 different, randomly
    /// generated pairs of training and test sets. With each such pair we run 10 trials").
    /// `targets`: what the net is trained to output (the paper: "predict the next symbol"; it is
    /// silent on the coding). Tests always judge against the legal next symbols.
    EmbeddedReber { train_strings: usize, test_strings: usize, data_sets: usize, targets: ReberTargets },
    /// Exp. 2a (`noise: false`): the two sequences (x, a1, …, a_{p−1}, x) and (y, a1, …, y),
    /// next-symbol prediction at every step. Exp. 2b (`noise: true`): the middle elements are
    /// random a_i, so only the last symbol is predictable; every step is a target, only the
    /// last is judged.
    LongLag { p: usize, noise: bool },
    /// Exp. 2c: b, then x or y, then `q` random symbols from a1…a_p, then more with probability
    /// 9/10 each, then the trigger e; at e the net must say x or y (two output units). p + 4
    /// input symbols.
    VeryLongLag { p: usize, q: usize },
    /// Exp. 3: one real-valued channel of length T to T + T/10; the first `n` elements carry the
    /// class, the rest are Gaussian noise (mean 0, variance 0.2). 3a: the signal is ±1 and the
    /// target 1/0. 3b: the signal is noisy too. 3c: as 3a, but targets 0.2/0.8 with N(0, 0.1)
    /// target noise.
    NoiseAndSignal { variant: NoiseVariant, t: usize, n: usize },
    /// Exp. 4: pairs (value in [−1, 1], marker); two marked values X1, X2; target at the end
    /// 0.5 + (X1 + X2)/4.
    Adding { t: usize },
    /// Exp. 5: as the adding problem with values in [0, 1]; target X1 · X2.
    Multiplication { t: usize },
    /// Exp. 6: classify the temporal order of `relevant` (2 or 3) X/Y symbols hidden among random
    /// distractors; 2^relevant classes.
    TemporalOrder { relevant: usize },
}

/// Training targets of exp. 1.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReberTargets {
    /// Every legal next symbol's unit is 1 (several at a branch).
    LegalNext,
    /// Only the symbol that actually follows is 1 (outputs then estimate the branch
    /// probabilities, and the legal symbols are the most active).
    NextSymbol,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoiseVariant {
    A,
    B,
    C,
}

impl Task {
    /// (input units, output units).
    pub fn dims(&self) -> (usize, usize) {
        match self {
            Task::EmbeddedReber { .. } => (7, 7),
            Task::LongLag { p, .. } => (p + 1, p + 1),
            Task::VeryLongLag { p, .. } => (p + 4, 2),
            Task::NoiseAndSignal { .. } => (1, 1),
            Task::Adding { .. } | Task::Multiplication { .. } => (2, 1),
            Task::TemporalOrder { relevant } => (8, 1 << relevant),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Task::EmbeddedReber { train_strings, test_strings, data_sets, .. } if train_strings == 0 || test_strings == 0 || data_sets == 0 => {
                Err("train_strings, test_strings and data_sets must be at least 1".into())
            }
            Task::LongLag { p, .. } if p < 2 => Err("p must be at least 2".into()),
            Task::VeryLongLag { p, q } if p < 1 || q < 1 => Err("p and q must be at least 1".into()),
            Task::NoiseAndSignal { t, n, .. } if n == 0 || n >= t => Err("need 1 <= n < t".into()),
            Task::Adding { t } | Task::Multiplication { t } if t < 20 => Err("t must be at least 20 (two marks among the first t/2 − 1 elements)".into()),
            Task::TemporalOrder { relevant } if !(2..=3).contains(&relevant) => Err("relevant must be 2 (exp. 6a) or 3 (exp. 6b)".into()),
            _ => Ok(()),
        }
    }

    /// One training sequence (Reber strings come from [`embedded_reber_sequence`] via the
    /// trial's pools).
    pub fn sample(&self, rng: &mut impl Rng) -> Sequence {
        self.generate(rng, false)
    }

    /// One test sequence: as [`Task::sample`], but where the training targets are noisy (exp.
    /// 3c) the target is the noise-free one, which §5.3 judges the outputs against.
    pub fn sample_test(&self, rng: &mut impl Rng) -> Sequence {
        self.generate(rng, true)
    }

    fn generate(&self, rng: &mut impl Rng, clean_target: bool) -> Sequence {
        match *self {
            Task::EmbeddedReber { .. } => embedded_reber_sequence(rng),
            Task::LongLag { p, noise } => long_lag(p, noise, rng),
            Task::VeryLongLag { p, q } => very_long_lag(p, q, rng),
            Task::NoiseAndSignal { variant, t, n } => noise_and_signal(variant, t, n, clean_target, rng),
            Task::Adding { t } => marked_pair(t, false, rng),
            Task::Multiplication { t } => marked_pair(t, true, rng),
            Task::TemporalOrder { relevant } => temporal_order(relevant, rng),
        }
    }
}

fn one_hot(out: &mut [f64], i: usize) {
    out.fill(0.0);
    out[i] = 1.0;
}

/// Builds a sequence from input rows and optional target rows.
fn sequence(n_in: usize, n_out: usize, steps: Vec<(Vec<f64>, Option<Vec<f64>>)>) -> Sequence {
    let len = steps.len();
    let mut s = Sequence { len, inputs: Vec::with_capacity(len * n_in), targets: vec![0.0; len * n_out], has_target: vec![false; len], judged_from: 0 };
    for (t, (x, d)) in steps.into_iter().enumerate() {
        debug_assert_eq!(x.len(), n_in);
        s.inputs.extend(x);
        if let Some(d) = d {
            s.targets[t * n_out..(t + 1) * n_out].copy_from_slice(&d);
            s.has_target[t] = true;
        }
    }
    s
}

// ---- Experiment 1: embedded Reber grammar --------------------------------------------------

/// Symbols in the order of the local coding.
pub const REBER_SYMBOLS: [char; 7] = ['B', 'T', 'P', 'S', 'X', 'V', 'E'];
const B: u8 = 0;
const T: u8 = 1;
const P: u8 = 2;
const S: u8 = 3;
const X: u8 = 4;
const V: u8 = 5;
const E: u8 = 6;

/// Reber's automaton (Cleeremans et al. 1989, the paper's Fig. 5): from each state, the two
/// symbols that may follow and the states they lead to. State 0 expects B; state 7 is final.
const REBER: [&[(u8, usize)]; 8] = [&[(B, 1)], &[(T, 2), (P, 3)], &[(S, 2), (X, 4)], &[(T, 3), (V, 5)], &[(X, 3), (S, 6)], &[(P, 4), (V, 6)], &[(E, 7)], &[]];

/// A random embedded Reber string: B, T|P, a Reber string, the same T|P, E. Each branch is taken
/// with probability ½.
pub fn embedded_reber_string(rng: &mut impl Rng) -> Vec<u8> {
    let outer = if rng.random_bool(0.5) { T } else { P };
    let mut s = vec![B, outer];
    let mut state = 0;
    while state != 7 {
        let edges = REBER[state];
        let (sym, next) = edges[if edges.len() == 2 { rng.random_range(0..2) } else { 0 }];
        s.push(sym);
        state = next;
    }
    s.push(outer);
    s.push(E);
    s
}

/// The symbols that may legally follow each prefix `s[..=i]`, as bit masks.
pub fn embedded_reber_legal_next(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut inner = 0usize;
    for i in 0..s.len() {
        let mask = match i {
            0 => (1 << T) | (1 << P),
            1 => 1 << B,
            _ if i == s.len() - 2 => 1 << E,
            _ if i == s.len() - 1 => 0,
            _ => {
                inner = REBER[inner].iter().find(|(sym, _)| *sym == s[i]).map(|&(_, n)| n).unwrap_or(inner);
                if inner == 7 { 1 << s[1] } else { REBER[inner].iter().fold(0u8, |m, &(sym, _)| m | (1 << sym)) }
            }
        };
        out.push(mask);
    }
    out
}

/// Whether `s` is an embedded Reber string (the definition the generator is tested against).
pub fn accepts_embedded_reber(s: &[u8]) -> bool {
    if s.len() < 9 || s[0] != B || !(s[1] == T || s[1] == P) || s[s.len() - 2] != s[1] || s[s.len() - 1] != E {
        return false;
    }
    let mut state = 0;
    for &sym in &s[2..s.len() - 2] {
        match REBER[state].iter().find(|(x, _)| *x == sym) {
            Some(&(_, next)) => state = next,
            None => return false,
        }
    }
    state == 7
}

/// Inputs: every symbol but the last; targets: the legal next symbols (several may be 1).
pub fn reber_sequence(s: &[u8]) -> Sequence {
    reber_sequence_with(s, ReberTargets::LegalNext)
}

/// As [`reber_sequence`], with the chosen training targets.
pub fn reber_sequence_with(s: &[u8], targets: ReberTargets) -> Sequence {
    let legal = embedded_reber_legal_next(s);
    let steps = (0..s.len() - 1)
        .map(|t| {
            let mut x = vec![0.0; 7];
            x[s[t] as usize] = 1.0;
            let d = match targets {
                ReberTargets::LegalNext => (0..7).map(|k| f64::from((legal[t] >> k) & 1)).collect(),
                ReberTargets::NextSymbol => (0..7).map(|k| f64::from(u8::from(k == s[t + 1]))).collect(),
            };
            (x, Some(d))
        })
        .collect();
    sequence(7, 7, steps)
}

pub fn embedded_reber_sequence(rng: &mut impl Rng) -> Sequence {
    reber_sequence(&embedded_reber_string(rng))
}

// ---- Experiment 2 ---------------------------------------------------------------------------

/// Symbols 0..p−1 are a1…a_{p−1}; p−1 is x and p is y (p + 1 symbols). Every next symbol is a
/// target (§5.2, also in 2b: "Again, every next sequence element has to be predicted"); in 2b
/// only the last one is predictable, and only it is judged.
fn long_lag(p: usize, noise: bool, rng: &mut impl Rng) -> Sequence {
    let n = p + 1;
    let first = if rng.random_bool(0.5) { p - 1 } else { p };
    let mut symbols = vec![first];
    for i in 0..p - 1 {
        symbols.push(if noise { rng.random_range(0..p - 1) } else { i });
    }
    symbols.push(first);
    let steps = (0..symbols.len() - 1)
        .map(|t| {
            let mut x = vec![0.0; n];
            one_hot(&mut x, symbols[t]);
            let mut d = vec![0.0; n];
            one_hot(&mut d, symbols[t + 1]);
            (x, Some(d))
        })
        .collect();
    let mut seq = sequence(n, n, steps);
    if noise {
        seq.judged_from = seq.len - 1;
    }
    seq
}

/// Symbols 0..p are a1…a_p, then b, e, x, y. §5.2: a prefix b, x|y and q random distractors,
/// then each further element is a distractor with probability 9/10 or the trigger e with
/// probability 1/10; at e the net must say x or y.
fn very_long_lag(p: usize, q: usize, rng: &mut impl Rng) -> Sequence {
    let n = p + 4;
    let (b, e, x, y) = (p, p + 1, p + 2, p + 3);
    let class = rng.random_bool(0.5);
    let mut symbols = vec![b, if class { x } else { y }];
    symbols.extend((0..q).map(|_| rng.random_range(0..p)));
    while rng.random_bool(0.9) {
        symbols.push(rng.random_range(0..p));
    }
    symbols.push(e);
    let last = symbols.len() - 1;
    let steps = symbols
        .iter()
        .enumerate()
        .map(|(t, &sym)| {
            let mut input = vec![0.0; n];
            one_hot(&mut input, sym);
            (input, (t == last).then(|| if class { vec![1.0, 0.0] } else { vec![0.0, 1.0] }))
        })
        .collect();
    sequence(n, 2, steps)
}

// ---- Experiment 3 ---------------------------------------------------------------------------

/// A standard normal draw (Box–Muller; keeps the dependency list short).
pub fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// §5.3: length uniform in [T, T + T/10]; the first `n` elements carry the class (±1, plus
/// N(0, 0.2) noise in 3b), the rest are N(0, 0.2) noise; the target at the end is 1/0 (3a, 3b) or
/// 0.2/0.8 with N(0, 0.1) target noise (3c: "variance 0.1; st.dev. 0.32"), noise-free when
/// `clean_target`.
fn noise_and_signal(variant: NoiseVariant, t: usize, n: usize, clean_target: bool, rng: &mut impl Rng) -> Sequence {
    let len = rng.random_range(t..=t + t / 10);
    let class1 = rng.random_bool(0.5);
    let sd = 0.2f64.sqrt();
    let steps = (0..len)
        .map(|i| {
            let x = if i < n {
                let signal = if class1 { 1.0 } else { -1.0 };
                match variant {
                    // 3c is "like in Task 3a" but for its targets: the signal is noise-free.
                    NoiseVariant::A | NoiseVariant::C => signal,
                    NoiseVariant::B => signal + sd * normal(rng),
                }
            } else {
                sd * normal(rng)
            };
            let target = (i == len - 1).then(|| match variant {
                NoiseVariant::A | NoiseVariant::B => vec![if class1 { 1.0 } else { 0.0 }],
                NoiseVariant::C => {
                    let mean = if class1 { 0.2 } else { 0.8 };
                    vec![if clean_target { mean } else { mean + 0.1f64.sqrt() * normal(rng) }]
                }
            });
            (vec![x], target)
        })
        .collect();
    sequence(1, 1, steps)
}

// ---- Experiments 4 and 5 --------------------------------------------------------------------

/// The marked-pair sequence of §5.4: length uniform in [T, T + T/10]; one mark among the first
/// ten elements, the other among "the first T/2 − 1 still unmarked pairs" (so at index T/2 − 1
/// at the latest: Table 7's minimal lag T/2); the first and last elements carry marker −1 when
/// unmarked. A marked first element's value is set to 0 (exp. 4) or 1.0 (exp. 5, §5.5).
fn marked_pair(t: usize, multiply: bool, rng: &mut impl Rng) -> Sequence {
    let len = rng.random_range(t..=t + t / 10);
    let first = rng.random_range(0..10);
    let second = loop {
        let i = rng.random_range(0..t / 2);
        if i != first {
            break i;
        }
    };
    let mut values: Vec<f64> = (0..len).map(|_| if multiply { rng.random_range(0.0..=1.0) } else { rng.random_range(-1.0..=1.0) }).collect();
    let mut markers = vec![0.0; len];
    markers[0] = -1.0;
    markers[len - 1] = -1.0;
    markers[first] = 1.0;
    markers[second] = 1.0;
    if first == 0 || second == 0 {
        values[0] = if multiply { 1.0 } else { 0.0 };
    }
    let (x1, x2) = (values[first], values[second]);
    let target = if multiply { x1 * x2 } else { 0.5 + (x1 + x2) / 4.0 };
    let steps = (0..len).map(|i| (vec![values[i], markers[i]], (i == len - 1).then(|| vec![target]))).collect();
    sequence(2, 1, steps)
}

/// For tests: (positions of the two marks, target) of an adding/multiplication sequence.
pub fn marks(seq: &Sequence) -> Vec<usize> {
    (0..seq.len).filter(|&t| seq.inputs[t * 2 + 1] == 1.0).collect()
}

// ---- Experiment 6 ---------------------------------------------------------------------------

/// Local coding order of the temporal-order inputs.
pub const ORDER_SYMBOLS: [char; 8] = ['E', 'B', 'a', 'b', 'c', 'd', 'X', 'Y'];

/// Length uniform in [100, 110]; E first, B last, X or Y at t1 ∈ [10, 20] and t2 ∈ [50, 60]
/// (6a) or t1 ∈ [10, 20], t2 ∈ [33, 43], t3 ∈ [66, 76] (6b) — 1-based positions as in the paper;
/// every other element is one of a, b, c, d. The class is the X/Y pattern read as binary.
fn temporal_order(relevant: usize, rng: &mut impl Rng) -> Sequence {
    let len = rng.random_range(100..=110);
    let windows: &[(usize, usize)] = if relevant == 2 { &[(10, 20), (50, 60)] } else { &[(10, 20), (33, 43), (66, 76)] };
    let mut symbols: Vec<usize> = (0..len).map(|_| rng.random_range(2..6)).collect();
    symbols[0] = 0;
    symbols[len - 1] = 1;
    let mut class = 0;
    for &(lo, hi) in windows {
        let pos = rng.random_range(lo..=hi) - 1;
        let is_y = rng.random_bool(0.5);
        symbols[pos] = if is_y { 7 } else { 6 };
        class = class * 2 + usize::from(is_y);
    }
    let n_out = 1 << relevant;
    let steps = symbols
        .iter()
        .enumerate()
        .map(|(t, &sym)| {
            let mut x = vec![0.0; 8];
            one_hot(&mut x, sym);
            let target = (t == len - 1).then(|| {
                let mut d = vec![0.0; n_out];
                one_hot(&mut d, class);
                d
            });
            (x, target)
        })
        .collect();
    sequence(8, n_out, steps)
}
