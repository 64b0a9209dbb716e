//! The memory-cell network of Hochreiter & Schmidhuber (1997), §4 and Appendix A.1.
//!
//! A block `j` holds `S` cells that share an input gate `in_j` and an output gate `out_j`. Cell
//! `c` keeps an internal state on a constant error carousel with self-weight 1.0 — **there is no
//! forget gate**:
//!
//! ```text
//! s_c(t) = s_c(t-1) + y_in_j(t) · g(net_c(t))        g(x) = 4σ(x) − 2  ∈ [−2, 2]
//! y_c(t) = y_out_j(t) · h(s_c(t))                     h(x) = 2σ(x) − 1  ∈ [−1, 1]
//! ```
//!
//! (the ranges of §4's text; `net.g`/`net.h` choose others: Table 10's legend swaps them, and
//! exp. 2a/2b use g = σ, h = identity).
//!
//! Gates and output units are logistic sigmoids. Cells and gates read the inputs and (when
//! `recurrent`) every cell's and gate's previous output; output units read the cells (and the
//! inputs, when `input_to_output`). The error is ½Σ(y_k − d_k)² over the time steps with targets.
//!
//! **Gradient.** The paper truncates it (§4, App. A.1): errors reaching a cell's or gate's net
//! input do not flow back through the recurrent connections, only along the carousel `s_c`.
//! [`Gradient::Truncated`] implements exactly that — the recurrent inputs are treated as constants
//! — and [`Gradient::Full`] is ordinary backpropagation through time. Both accumulate over a whole
//! sequence; the trial runner applies one update per sequence.
//!
//! Why hand-written rather than burn modules: the nets have under 400 weights and learn one
//! sequence at a time, so per-op dispatch, not arithmetic, would decide the run time (a burn
//! autodiff step costs tens of microseconds per op; this one costs about a microsecond per time
//! step). The gradient is checked against finite differences in `tests/tests/gradcheck.rs`.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Architecture of one net, as the paper describes it per experiment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetSpec {
    pub inputs: usize,
    pub outputs: usize,
    pub blocks: usize,
    pub cells_per_block: usize,
    /// Exp. 2a's net has an input gate only.
    #[serde(default = "yes")]
    pub output_gates: bool,
    /// Cells and gates receive every cell's and gate's output of the previous step.
    #[serde(default = "yes")]
    pub recurrent: bool,
    /// Output units also read the input units directly (exp. 2a).
    #[serde(default)]
    pub input_to_output: bool,
    pub bias: BiasSpec,
    /// Initial weights are drawn uniformly from [−init_range, init_range].
    pub init_range: f64,
    /// Initial input-gate bias of each block (empty: drawn like every other weight).
    #[serde(default)]
    pub input_gate_bias: Vec<f64>,
    /// Initial output-gate bias of each block (empty: drawn like every other weight).
    #[serde(default)]
    pub output_gate_bias: Vec<f64>,
    /// Gate biases not listed above are drawn from [−r, r] instead of `init_range` (Table 10's
    /// "r": [−0.1, 0.1], for exp. 1's input gates where the other weights use ±0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_bias_range: Option<f64>,
    /// The cell input squashing g (default: §4's g ∈ [−2, 2]).
    #[serde(default = "Squash::default_g")]
    pub g: Squash,
    /// The cell output squashing h (default: §4's h ∈ [−1, 1]).
    #[serde(default = "Squash::default_h")]
    pub h: Squash,
}

fn yes() -> bool {
    true
}

/// A squashing function of the cell: the logistic sigmoid σ scaled to a range, or none.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Squash {
    /// σ(x) ∈ [0, 1].
    Logistic,
    /// 2σ(x) − 1 ∈ [−1, 1].
    LogisticPm1,
    /// 4σ(x) − 2 ∈ [−2, 2].
    LogisticPm2,
    /// x.
    Identity,
}

impl Squash {
    fn default_g() -> Self {
        Squash::LogisticPm2
    }
    fn default_h() -> Self {
        Squash::LogisticPm1
    }
    #[inline]
    pub fn value(self, x: f64) -> f64 {
        match self {
            Squash::Logistic => sigmoid(x),
            Squash::LogisticPm1 => 2.0 * sigmoid(x) - 1.0,
            Squash::LogisticPm2 => 4.0 * sigmoid(x) - 2.0,
            Squash::Identity => x,
        }
    }
    #[inline]
    pub fn derivative(self, x: f64) -> f64 {
        let s = sigmoid(x);
        match self {
            Squash::Logistic => s * (1.0 - s),
            Squash::LogisticPm1 => 2.0 * s * (1.0 - s),
            Squash::LogisticPm2 => 4.0 * s * (1.0 - s),
            Squash::Identity => 1.0,
        }
    }
}

/// Which kinds of unit have a bias weight.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BiasSpec {
    pub input_gates: bool,
    pub output_gates: bool,
    pub cells: bool,
    pub outputs: bool,
}

/// How errors flow back in time.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Gradient {
    /// The paper's: back along the constant error carousels only.
    #[default]
    Truncated,
    /// Full backpropagation through time (an option; not what the paper used).
    Full,
}

#[derive(Debug, thiserror::Error)]
#[error("net: `{key}` {reason}")]
pub struct SpecError {
    pub key: &'static str,
    pub reason: String,
}

impl NetSpec {
    pub fn validate(&self) -> Result<(), SpecError> {
        let bad = |key, reason: String| Err(SpecError { key, reason });
        if self.inputs == 0 || self.outputs == 0 || self.blocks == 0 || self.cells_per_block == 0 {
            return bad("inputs/outputs/blocks/cells_per_block", "must all be at least 1".into());
        }
        if !(self.init_range.is_finite() && self.init_range >= 0.0) {
            return bad("init_range", "must be a non-negative number".into());
        }
        if self.gate_bias_range.is_some_and(|r| !(r.is_finite() && r >= 0.0)) {
            return bad("gate_bias_range", "must be a non-negative number".into());
        }
        for (key, values, has_bias) in [("input_gate_bias", &self.input_gate_bias, self.bias.input_gates), ("output_gate_bias", &self.output_gate_bias, self.bias.output_gates && self.output_gates)] {
            if !values.is_empty() && values.len() != self.blocks {
                return bad(key, format!("lists {} values for {} blocks", values.len(), self.blocks));
            }
            if !values.is_empty() && !has_bias {
                return bad(key, "is set but those gates have no bias (see `bias`)".into());
            }
        }
        Ok(())
    }

    pub fn cells(&self) -> usize {
        self.blocks * self.cells_per_block
    }
    /// Cells, then input gates, then output gates.
    pub fn hidden_units(&self) -> usize {
        self.cells() + self.blocks * if self.output_gates { 2 } else { 1 }
    }
    fn recurrent_sources(&self) -> usize {
        if self.recurrent { self.hidden_units() } else { 0 }
    }
    /// Columns of the hidden weight matrix: inputs, previous hidden outputs, bias.
    fn hidden_sources(&self) -> usize {
        self.inputs + self.recurrent_sources() + 1
    }
    /// Columns of the output weight matrix: cells, inputs (optional), bias.
    fn output_sources(&self) -> usize {
        self.cells() + if self.input_to_output { self.inputs } else { 0 } + 1
    }
    fn hidden_biased(&self, unit: usize) -> bool {
        let cells = self.cells();
        if unit < cells {
            self.bias.cells
        } else if unit < cells + self.blocks {
            self.bias.input_gates
        } else {
            self.bias.output_gates
        }
    }

    /// Trainable weights, biases included: the figure the paper quotes per experiment.
    pub fn weight_count(&self) -> usize {
        let hidden = self.hidden_units() * (self.inputs + self.recurrent_sources()) + (0..self.hidden_units()).filter(|&u| self.hidden_biased(u)).count();
        let output = self.outputs * (self.output_sources() - 1) + if self.bias.outputs { self.outputs } else { 0 };
        hidden + output
    }

    /// Weight counts by group, for the write-up's table.
    pub fn weight_table(&self) -> Vec<(String, usize)> {
        let per_unit = self.inputs + self.recurrent_sources();
        let mut rows = vec![
            (format!("cells ({} × {} sources)", self.cells(), per_unit), self.cells() * per_unit + if self.bias.cells { self.cells() } else { 0 }),
            (format!("input gates ({} × {} sources)", self.blocks, per_unit), self.blocks * per_unit + if self.bias.input_gates { self.blocks } else { 0 }),
        ];
        if self.output_gates {
            rows.push((format!("output gates ({} × {} sources)", self.blocks, per_unit), self.blocks * per_unit + if self.bias.output_gates { self.blocks } else { 0 }));
        }
        rows.push((format!("output units ({} × {} sources)", self.outputs, self.output_sources() - 1), self.outputs * (self.output_sources() - 1) + if self.bias.outputs { self.outputs } else { 0 }));
        rows
    }
}

/// A net's weights: `hidden[unit][source]` and `output[unit][source]`, row-major. Bias columns of
/// units without a bias stay zero and are never updated.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub hidden: Vec<f64>,
    pub output: Vec<f64>,
}

impl Weights {
    pub fn zeros(spec: &NetSpec) -> Self {
        Self { hidden: vec![0.0; spec.hidden_units() * spec.hidden_sources()], output: vec![0.0; spec.outputs * spec.output_sources()] }
    }

    /// Uniform in [−r, r], then the stated gate biases.
    pub fn init(spec: &NetSpec, rng: &mut impl Rng) -> Self {
        let r = spec.init_range;
        let mut w = Self::zeros(spec);
        let mask = Masks::new(spec);
        for (v, m) in w.hidden.iter_mut().zip(&mask.hidden) {
            *v = if *m > 0.0 { rng.random_range(-r..=r) } else { 0.0 };
        }
        for (v, m) in w.output.iter_mut().zip(&mask.output) {
            *v = if *m > 0.0 { rng.random_range(-r..=r) } else { 0.0 };
        }
        let bias_col = spec.hidden_sources() - 1;
        let cells = spec.cells();
        if let Some(r) = spec.gate_bias_range {
            for u in cells..spec.hidden_units() {
                if spec.hidden_biased(u) {
                    w.hidden[u * spec.hidden_sources() + bias_col] = rng.random_range(-r..=r);
                }
            }
        }
        for (j, b) in spec.input_gate_bias.iter().enumerate() {
            w.hidden[(cells + j) * spec.hidden_sources() + bias_col] = *b;
        }
        for (j, b) in spec.output_gate_bias.iter().enumerate() {
            w.hidden[(cells + spec.blocks + j) * spec.hidden_sources() + bias_col] = *b;
        }
        w
    }

    /// All weights as one vector (hidden, then output), for finite differences.
    pub fn flat(&self) -> Vec<f64> {
        self.hidden.iter().chain(&self.output).copied().collect()
    }
    pub fn flat_mut(&mut self) -> impl Iterator<Item = &mut f64> {
        self.hidden.iter_mut().chain(self.output.iter_mut())
    }
}

/// 1.0 where a weight exists, 0.0 for the bias slots of unbiased units.
#[derive(Debug, Clone)]
pub struct Masks {
    pub hidden: Vec<f64>,
    pub output: Vec<f64>,
}

impl Masks {
    pub fn new(spec: &NetSpec) -> Self {
        let hs = spec.hidden_sources();
        let mut hidden = vec![1.0; spec.hidden_units() * hs];
        for u in 0..spec.hidden_units() {
            if !spec.hidden_biased(u) {
                hidden[u * hs + hs - 1] = 0.0;
            }
        }
        let os = spec.output_sources();
        let mut output = vec![1.0; spec.outputs * os];
        if !spec.bias.outputs {
            for k in 0..spec.outputs {
                output[k * os + os - 1] = 0.0;
            }
        }
        Self { hidden, output }
    }
}

/// One training or test sequence: `inputs[t * n_in ..]`, and targets at the steps that have them.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub len: usize,
    pub inputs: Vec<f64>,
    /// `len × n_out`; only rows with `has_target` mean anything.
    pub targets: Vec<f64>,
    pub has_target: Vec<bool>,
    /// The success and misclassification tests judge the target steps from this one on (exp.
    /// 2b trains on every step but judges only the sequence end); 0 for most tasks.
    pub judged_from: usize,
}

#[inline]
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The forward activations of one sequence, kept for the backward pass (buffers are reused).
#[derive(Debug, Default, Clone)]
pub struct Trace {
    len: usize,
    /// Per step: the hidden units' source vector (inputs, previous hidden outputs, 1).
    src: Vec<f64>,
    /// Per step: hidden outputs (cells' y_c, input gates, output gates).
    hidden: Vec<f64>,
    /// Per step: the cells' net inputs and internal states.
    net_c: Vec<f64>,
    state: Vec<f64>,
    /// Per step: output units' activations.
    out: Vec<f64>,
}

impl Trace {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Output activations at step `t`.
    pub fn output(&self, t: usize, n_out: usize) -> &[f64] {
        &self.out[t * n_out..(t + 1) * n_out]
    }
}

/// A network: its spec, weights and the scratch space of one sequence.
#[derive(Debug, Clone)]
pub struct Net {
    pub spec: NetSpec,
    pub weights: Weights,
    masks: Masks,
    pub trace: Trace,
    grads: Weights,
    /// While the cells are held back (exp. 2a's sequential construction): the output weights
    /// from the cells they will start with.
    held_back: Option<Vec<f64>>,
}

impl Net {
    pub fn new(spec: NetSpec, weights: Weights) -> Self {
        let masks = Masks::new(&spec);
        let grads = Weights::zeros(&spec);
        Self { spec, weights, masks, trace: Trace::default(), grads, held_back: None }
    }

    /// Starts without the memory cells (§5.2, exp. 2a: "Memory cell and input gate are added once
    /// the error has stopped decreasing"): the outputs do not read the cells, and no cell or gate
    /// weight learns, until [`Net::add_cells`].
    pub fn hold_back_cells(&mut self) {
        let (n_c, os) = (self.spec.cells(), self.spec.output_sources());
        let mut held = Vec::with_capacity(self.spec.outputs * n_c);
        for k in 0..self.spec.outputs {
            for c in 0..n_c {
                held.push(self.weights.output[k * os + c]);
                self.weights.output[k * os + c] = 0.0;
                self.masks.output[k * os + c] = 0.0;
            }
        }
        self.masks.hidden.fill(0.0);
        self.held_back = Some(held);
    }

    /// Adds the held-back cells with their initial weights.
    pub fn add_cells(&mut self) {
        let Some(held) = self.held_back.take() else { return };
        let (n_c, os) = (self.spec.cells(), self.spec.output_sources());
        for k in 0..self.spec.outputs {
            for c in 0..n_c {
                self.weights.output[k * os + c] = held[k * n_c + c];
            }
        }
        self.masks = Masks::new(&self.spec);
    }

    pub fn cells_held_back(&self) -> bool {
        self.held_back.is_some()
    }

    /// Runs a sequence from the reset state (activations and cell states zero, §5), keeping the
    /// trace for [`Net::backward`].
    pub fn forward(&mut self, seq: &Sequence) {
        self.forward_inner(seq, None);
    }

    /// Like [`Net::forward`], but the recurrent inputs at every step are taken from `sources` (a
    /// copy of an earlier trace's [`Net::sources`]) instead of the previous step's outputs. The
    /// exact gradient of this function is what [`Gradient::Truncated`] computes; the gradient
    /// check uses it.
    pub fn forward_with_fixed_recurrence(&mut self, seq: &Sequence, sources: &[f64]) {
        self.forward_inner(seq, Some(sources));
    }

    /// The hidden units' source vectors of the last forward sequence.
    pub fn sources(&self) -> Vec<f64> {
        self.trace.src[..self.trace.len * self.spec.hidden_sources()].to_vec()
    }

    fn forward_inner(&mut self, seq: &Sequence, fixed: Option<&[f64]>) {
        self.begin(seq);
        for t in 0..seq.len {
            self.forward_step(seq, t, fixed);
        }
    }

    fn begin(&mut self, seq: &Sequence) {
        let sp = &self.spec;
        let tr = &mut self.trace;
        tr.len = seq.len;
        tr.src.resize(seq.len * sp.hidden_sources(), 0.0);
        tr.hidden.resize(seq.len * sp.hidden_units(), 0.0);
        tr.net_c.resize(seq.len * sp.cells(), 0.0);
        tr.state.resize(seq.len * sp.cells(), 0.0);
        tr.out.resize(seq.len * sp.outputs, 0.0);
    }

    /// Computes step `t` from the stored step `t − 1` with the current weights.
    fn forward_step(&mut self, seq: &Sequence, t: usize, fixed: Option<&[f64]>) {
        let sp = &self.spec;
        let (n_in, n_out, n_h, n_c, b) = (sp.inputs, sp.outputs, sp.hidden_units(), sp.cells(), sp.blocks);
        let (hs, os) = (sp.hidden_sources(), sp.output_sources());
        let spb = sp.cells_per_block;
        let tr = &mut self.trace;
        let mut net = [0.0; 64];
        let mut net_heap;
        let net: &mut [f64] = if n_h <= 64 {
            &mut net[..n_h]
        } else {
            net_heap = vec![0.0; n_h];
            &mut net_heap
        };
        let x = &seq.inputs[t * n_in..(t + 1) * n_in];
        {
            let src = &mut tr.src[t * hs..(t + 1) * hs];
            src[..n_in].copy_from_slice(x);
            if let (true, Some(fixed)) = (sp.recurrent, fixed) {
                src[n_in..n_in + n_h].copy_from_slice(&fixed[t * hs + n_in..t * hs + n_in + n_h]);
            } else if sp.recurrent {
                if t == 0 {
                    src[n_in..n_in + n_h].fill(0.0);
                } else {
                    src[n_in..n_in + n_h].copy_from_slice(&tr.hidden[(t - 1) * n_h..t * n_h]);
                }
            }
            src[hs - 1] = 1.0;
        }
        let src = &tr.src[t * hs..(t + 1) * hs];
        for (u, v) in net.iter_mut().enumerate() {
            *v = dot(&self.weights.hidden[u * hs..(u + 1) * hs], src);
        }
        let y = &mut tr.hidden[t * n_h..(t + 1) * n_h];
        for j in 0..b {
            y[n_c + j] = sigmoid(net[n_c + j]);
            if sp.output_gates {
                y[n_c + b + j] = sigmoid(net[n_c + b + j]);
            }
        }
        for c in 0..n_c {
            let j = c / spb;
            let prev = if t == 0 { 0.0 } else { tr.state[(t - 1) * n_c + c] };
            let s = prev + y[n_c + j] * sp.g.value(net[c]);
            tr.net_c[t * n_c + c] = net[c];
            tr.state[t * n_c + c] = s;
            let gate = if sp.output_gates { y[n_c + b + j] } else { 1.0 };
            y[c] = gate * sp.h.value(s);
        }
        let mut osrc = [0.0; 256];
        let mut osrc_heap;
        let osrc: &mut [f64] = if os <= 256 {
            &mut osrc[..os]
        } else {
            osrc_heap = vec![0.0; os];
            &mut osrc_heap
        };
        osrc[..n_c].copy_from_slice(&y[..n_c]);
        if sp.input_to_output {
            osrc[n_c..n_c + n_in].copy_from_slice(x);
        }
        osrc[os - 1] = 1.0;
        for k in 0..n_out {
            tr.out[t * n_out + k] = sigmoid(dot(&self.weights.output[k * os..(k + 1) * os], osrc));
        }
    }

    /// The paper's real-time learning (App. A.2): runs the sequence step by step, carrying the
    /// truncated derivatives ∂s_c/∂w of each cell state forward in time, and at every step with
    /// a target either adds that step's truncated gradient to the accumulator (`lr: None`; the sum
    /// equals [`Gradient::Truncated`]'s) or updates the weights at once (`Some(lr)`). Returns the
    /// error ½Σ(y − d)².
    pub fn realtime(&mut self, seq: &Sequence, lr: Option<f64>) -> f64 {
        self.begin(seq);
        let sp = self.spec.clone();
        let (n_in, n_out, n_h, n_c, b) = (sp.inputs, sp.outputs, sp.hidden_units(), sp.cells(), sp.blocks);
        let (hs, os) = (sp.hidden_sources(), sp.output_sources());
        let spb = sp.cells_per_block;
        let mut d_cell = vec![0.0; n_c * hs];
        let mut d_gate = vec![0.0; n_c * hs];
        let mut e_y = vec![0.0; n_c];
        let mut e_out = vec![0.0; b];
        let mut osrc = vec![0.0; os];
        let mut loss = 0.0;
        for t in 0..seq.len {
            self.forward_step(seq, t, None);
            let tr = &self.trace;
            let src = &tr.src[t * hs..(t + 1) * hs];
            let y = &tr.hidden[t * n_h..(t + 1) * n_h];
            for c in 0..n_c {
                let j = c / spb;
                let net_c = tr.net_c[t * n_c + c];
                let y_in = y[n_c + j];
                let a = y_in * sp.g.derivative(net_c);
                let g = sp.g.value(net_c) * y_in * (1.0 - y_in);
                for ((dc, dg), s) in d_cell[c * hs..(c + 1) * hs].iter_mut().zip(&mut d_gate[c * hs..(c + 1) * hs]).zip(src) {
                    *dc += a * s;
                    *dg += g * s;
                }
            }
            if !seq.has_target[t] {
                continue;
            }
            e_y.fill(0.0);
            e_out.fill(0.0);
            osrc[..n_c].copy_from_slice(&y[..n_c]);
            if sp.input_to_output {
                osrc[n_c..n_c + n_in].copy_from_slice(&seq.inputs[t * n_in..(t + 1) * n_in]);
            }
            osrc[os - 1] = 1.0;
            for k in 0..n_out {
                let yk = tr.out[t * n_out + k];
                let err = yk - seq.targets[t * n_out + k];
                loss += 0.5 * err * err;
                let dk = err * yk * (1.0 - yk);
                for (g, s) in self.grads.output[k * os..(k + 1) * os].iter_mut().zip(&osrc) {
                    *g += dk * s;
                }
                for (e, w) in e_y[..n_c].iter_mut().zip(&self.weights.output[k * os..k * os + n_c]) {
                    *e += w * dk;
                }
            }
            for c in 0..n_c {
                let j = c / spb;
                let s = tr.state[t * n_c + c];
                let gate = if sp.output_gates { y[n_c + b + j] } else { 1.0 };
                e_out[j] += e_y[c] * sp.h.value(s);
                let e_s = e_y[c] * gate * sp.h.derivative(s);
                for (g, d) in self.grads.hidden[c * hs..(c + 1) * hs].iter_mut().zip(&d_cell[c * hs..(c + 1) * hs]) {
                    *g += e_s * d;
                }
                for (g, d) in self.grads.hidden[(n_c + j) * hs..(n_c + j + 1) * hs].iter_mut().zip(&d_gate[c * hs..(c + 1) * hs]) {
                    *g += e_s * d;
                }
            }
            if sp.output_gates {
                for j in 0..b {
                    let yo = y[n_c + b + j];
                    let delta = e_out[j] * yo * (1.0 - yo);
                    for (g, s) in self.grads.hidden[(n_c + b + j) * hs..(n_c + b + j + 1) * hs].iter_mut().zip(src) {
                        *g += delta * s;
                    }
                }
            }
            if let Some(lr) = lr {
                self.apply(lr);
            }
        }
        loss
    }

    /// Back-propagates ½Σ(y − d)² of the last forward sequence and adds the gradient to the
    /// accumulator; returns the error.
    pub fn backward(&mut self, seq: &Sequence, mode: Gradient) -> f64 {
        let sp = &self.spec;
        let (n_in, n_out, n_h, n_c, b) = (sp.inputs, sp.outputs, sp.hidden_units(), sp.cells(), sp.blocks);
        let (hs, os) = (sp.hidden_sources(), sp.output_sources());
        let spb = sp.cells_per_block;
        let tr = &self.trace;
        let mut loss = 0.0;
        let mut ds_next = vec![0.0; n_c];
        let mut rec_next = vec![0.0; n_h];
        let mut e_y = vec![0.0; n_h];
        let mut delta = vec![0.0; n_h];
        let mut ds = vec![0.0; n_c];
        let mut osrc = vec![0.0; os];
        for t in (0..tr.len).rev() {
            e_y.copy_from_slice(&rec_next);
            let y = &tr.hidden[t * n_h..(t + 1) * n_h];
            if seq.has_target[t] {
                osrc[..n_c].copy_from_slice(&y[..n_c]);
                if sp.input_to_output {
                    osrc[n_c..n_c + n_in].copy_from_slice(&seq.inputs[t * n_in..(t + 1) * n_in]);
                }
                osrc[os - 1] = 1.0;
                for k in 0..n_out {
                    let yk = tr.out[t * n_out + k];
                    let err = yk - seq.targets[t * n_out + k];
                    loss += 0.5 * err * err;
                    let dk = err * yk * (1.0 - yk);
                    let row = &mut self.grads.output[k * os..(k + 1) * os];
                    for (g, s) in row.iter_mut().zip(&osrc) {
                        *g += dk * s;
                    }
                    let wrow = &self.weights.output[k * os..(k + 1) * os];
                    for c in 0..n_c {
                        e_y[c] += wrow[c] * dk;
                    }
                }
            }
            for c in 0..n_c {
                let j = c / spb;
                let s = tr.state[t * n_c + c];
                let gate = if sp.output_gates { y[n_c + b + j] } else { 1.0 };
                if sp.output_gates {
                    e_y[n_c + b + j] += e_y[c] * sp.h.value(s);
                }
                ds[c] = e_y[c] * gate * sp.h.derivative(s) + ds_next[c];
                let net_c = tr.net_c[t * n_c + c];
                let y_in = y[n_c + j];
                delta[c] = ds[c] * y_in * sp.g.derivative(net_c);
                e_y[n_c + j] += ds[c] * sp.g.value(net_c);
            }
            for j in 0..b {
                let yi = y[n_c + j];
                delta[n_c + j] = e_y[n_c + j] * yi * (1.0 - yi);
                if sp.output_gates {
                    let yo = y[n_c + b + j];
                    delta[n_c + b + j] = e_y[n_c + b + j] * yo * (1.0 - yo);
                }
            }
            let src = &tr.src[t * hs..(t + 1) * hs];
            for (u, &d) in delta[..n_h].iter().enumerate() {
                if d != 0.0 {
                    for (g, s) in self.grads.hidden[u * hs..(u + 1) * hs].iter_mut().zip(src) {
                        *g += d * s;
                    }
                }
            }
            ds_next.copy_from_slice(&ds);
            if mode == Gradient::Full && sp.recurrent {
                rec_next.fill(0.0);
                for (u, &d) in delta[..n_h].iter().enumerate() {
                    if d != 0.0 {
                        let wrow = &self.weights.hidden[u * hs + n_in..u * hs + n_in + n_h];
                        for (r, w) in rec_next.iter_mut().zip(wrow) {
                            *r += d * w;
                        }
                    }
                }
            }
        }
        loss
    }

    /// The accumulated gradient (hidden, then output, as [`Weights::flat`]).
    pub fn gradient(&self) -> Vec<f64> {
        let mut g = self.grads.flat();
        for (v, m) in g.iter_mut().zip(self.masks.hidden.iter().chain(&self.masks.output)) {
            *v *= m;
        }
        g
    }

    /// w ← w − lr · accumulated gradient, then clears the accumulator.
    pub fn apply(&mut self, lr: f64) {
        for ((w, g), m) in self.weights.hidden.iter_mut().zip(self.grads.hidden.iter_mut()).zip(&self.masks.hidden) {
            *w -= lr * *g * m;
            *g = 0.0;
        }
        for ((w, g), m) in self.weights.output.iter_mut().zip(self.grads.output.iter_mut()).zip(&self.masks.output) {
            *w -= lr * *g * m;
            *g = 0.0;
        }
    }

    pub fn clear_gradient(&mut self) {
        self.grads.hidden.fill(0.0);
        self.grads.output.fill(0.0);
    }

    /// ½Σ(y − d)² of a sequence, forward only.
    pub fn error(&mut self, seq: &Sequence) -> f64 {
        self.forward(seq);
        let n_out = self.spec.outputs;
        (0..seq.len).filter(|&t| seq.has_target[t]).map(|t| (0..n_out).map(|k| 0.5 * (self.trace.out[t * n_out + k] - seq.targets[t * n_out + k]).powi(2)).sum::<f64>()).sum()
    }

    /// Largest |y − d| over the judged target steps of the last forward sequence, and the sum of
    /// squared errors with the number of target values there.
    pub fn last_errors(&self, seq: &Sequence) -> (f64, f64, usize) {
        let n_out = self.spec.outputs;
        let (mut max, mut sq, mut n) = (0.0f64, 0.0, 0);
        for t in (seq.judged_from..seq.len).filter(|&t| seq.has_target[t]) {
            for k in 0..n_out {
                let e = (self.trace.out[t * n_out + k] - seq.targets[t * n_out + k]).abs();
                // NaN (a diverged net) stays the worst error; f64::max would drop it.
                max = if e.is_nan() || max.is_nan() { f64::NAN } else { max.max(e) };
                sq += e * e;
                n += 1;
            }
        }
        (max, sq, n)
    }
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
