//! Experiment configs in YAML: one file per recipe, every choice with its source.
//!
//! Unknown keys are rejected with their line and column; `--set path=value` overrides one field
//! and goes through the same validation.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::data::DataConfig;
pub use crate::extension::Extension;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("invalid config {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("invalid override `{assignment}`: {reason}")]
    Override { assignment: String, reason: String },
    #[error("invalid config {origin}: `{key}` {reason}")]
    Invalid { origin: String, key: String, reason: String },
}

/// One experiment: a model, a dataset and a training recipe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Experiment id, unique within its paper (e.g. `net-sgd`).
    pub name: String,
    /// Paper crate id.
    pub paper: String,
    pub description: String,
    /// Model variant, as the paper crate names it.
    pub model: String,
    /// Model-specific numeric options, validated by the paper crate; `width`
    /// for the ImageNet nets, a multiplier in (0, 1] of every
    /// layer's width, 1 (the default) being the paper's net (narrow nets are for quick tests).
    #[serde(default)]
    pub model_options: BTreeMap<String, f64>,
    pub data: DataConfig,
    pub optimizer: OptimizerConfig,
    pub schedule: LrSchedule,
    pub epochs: usize,
    /// Stop after this many updates even within an epoch (a paper that counts iterations, not epochs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iterations: Option<u64>,
    pub batch_size: usize,
    /// Seeds run by default (`--seeds` overrides).
    pub seeds: Vec<u64>,
    /// Where each choice above comes from: a section of the paper, or why we chose it.
    pub sources: BTreeMap<String, String>,
}

/// The optimiser: SGD and Adam are built in; any other `kind` is an optimiser a paper crate
/// defines ([`Extension`]), which the engine runs as a per-pass rescaling of every gradient
/// before a plain SGD step (see [`crate::engine::GradientScaler`]).
#[derive(Debug, Clone, PartialEq)]
pub enum OptimizerConfig {
    /// SGD, optionally with momentum and (coupled, L2) weight decay.
    Sgd {
        momentum: f64,
        weight_decay: f64,
    },
    Adam {
        weight_decay: f64,
    },
    /// An optimiser of the model's paper, read by its crate.
    Paper(Extension),
}

/// The built-in optimisers as YAML spells them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
enum BuiltinOptimizer {
    Sgd {
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        weight_decay: f64,
    },
    Adam {
        #[serde(default)]
        weight_decay: f64,
    },
}

impl Serialize for OptimizerConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            OptimizerConfig::Sgd { momentum, weight_decay } => BuiltinOptimizer::Sgd { momentum, weight_decay }.serialize(serializer),
            OptimizerConfig::Adam { weight_decay } => BuiltinOptimizer::Adam { weight_decay }.serialize(serializer),
            OptimizerConfig::Paper(ref extension) => extension.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for OptimizerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let extension = Extension::deserialize(deserializer)?;
        if !matches!(extension.kind(), "sgd" | "adam") {
            return Ok(OptimizerConfig::Paper(extension));
        }
        match extension.parse::<BuiltinOptimizer>().map_err(serde::de::Error::custom)? {
            BuiltinOptimizer::Sgd { momentum, weight_decay } => Ok(OptimizerConfig::Sgd { momentum, weight_decay }),
            BuiltinOptimizer::Adam { weight_decay } => Ok(OptimizerConfig::Adam { weight_decay }),
        }
    }
}

/// A piecewise-constant learning rate, stepped by epoch or by iteration. A pure function of the
/// position in training, so a resumed run follows it exactly.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    /// `epoch` (1-based epoch numbers) or `iteration` (0-based update counts).
    pub unit: ScheduleUnit,
    /// `[from, lr]` pairs in increasing order; the first must start at the beginning.
    pub steps: Vec<(u64, f64)>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleUnit {
    Epoch,
    Iteration,
}

impl LrSchedule {
    /// Learning rate for a 1-based `epoch` and a 0-based global `iteration`.
    pub fn lr(&self, epoch: usize, iteration: u64) -> f64 {
        let at = match self.unit {
            ScheduleUnit::Epoch => epoch as u64,
            ScheduleUnit::Iteration => iteration,
        };
        self.steps.iter().take_while(|(from, _)| *from <= at).last().map(|(_, lr)| *lr).unwrap_or(self.steps[0].1)
    }
}

impl ExperimentConfig {
    /// Parses YAML, rejecting unknown keys (with line and column) and inconsistent values.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
        config.validate(origin)?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("config serializes")
    }

    /// Applies `dotted.path=value` overrides; the value is parsed as YAML (`epochs=3`,
    /// `data.dataset=fashion-mnist`, `seeds=[1,2]`).
    pub fn with_overrides(&self, assignments: &[String]) -> Result<Self, ConfigError> {
        let config = apply_overrides(self, assignments)?;
        if !assignments.is_empty() {
            config.validate("after --set")?;
        }
        Ok(config)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| Err(ConfigError::Invalid { origin: origin.into(), key: key.into(), reason: reason.into() });
        // `epochs: 0` marks a recipe that only evaluates imported weights (`evaluate-pretrained`).
        if self.batch_size == 0 {
            return invalid("batch_size", "must be at least 1");
        }
        if self.seeds.is_empty() {
            return invalid("seeds", "must list at least one seed");
        }
        if self.schedule.steps.is_empty() {
            return invalid("schedule.steps", "must have at least one [from, lr] step");
        }
        let first = match self.schedule.unit {
            ScheduleUnit::Epoch => 1,
            ScheduleUnit::Iteration => 0,
        };
        if self.schedule.steps[0].0 > first {
            return invalid("schedule.steps", &format!("must start at {first} (the first {:?})", self.schedule.unit));
        }
        if self.schedule.steps.windows(2).any(|w| w[0].0 >= w[1].0) {
            return invalid("schedule.steps", "must be in strictly increasing order");
        }
        // A recipe with no epochs only evaluates (imported weights); its schedule is unused.
        if self.epochs > 0 && self.schedule.steps.iter().any(|(_, lr)| !(lr.is_finite() && *lr > 0.0)) {
            return invalid("schedule.steps", "learning rates must be positive numbers");
        }
        for split in [&self.data.train_split, &self.data.eval_split] {
            let base = split.split('[').next().unwrap_or_default();
            if !["train", "test", "val"].contains(&base) || (split.contains('[') && !(split.ends_with(']') && split.contains(':'))) {
                return invalid("data.*_split", &format!("`{split}` is not a split; use train, test or val, optionally with a range such as train[:45000]"));
            }
        }
        if !crate::data::dataset_names().contains(&self.data.dataset.as_str()) {
            return invalid("data.dataset", &format!("`{}` is not a known dataset ({})", self.data.dataset, crate::data::dataset_names().join(", ")));
        }
        Ok(())
    }
}

/// Applies `dotted.path=value` overrides to any config type by way of its YAML tree; the value
/// is parsed as YAML (`epochs=3`, `data.dataset=fashion-mnist`, `seeds=[1,2]`). Unknown keys are
/// rejected by the type's own `deny_unknown_fields`.
pub fn apply_overrides<T: Serialize + serde::de::DeserializeOwned + Clone>(value: &T, assignments: &[String]) -> Result<T, ConfigError> {
    if assignments.is_empty() {
        return Ok(value.clone());
    }
    let mut tree = serde_yaml_ng::to_value(value).expect("config serializes");
    for assignment in assignments {
        let bad = |reason: String| ConfigError::Override { assignment: assignment.clone(), reason };
        let (path, value) = assignment.split_once('=').ok_or_else(|| bad("expected KEY=VALUE, e.g. epochs=3".into()))?;
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(value).map_err(|e| bad(format!("value is not valid YAML: {e}")))?;
        let mut node = &mut tree;
        let keys: Vec<&str> = path.trim().split('.').collect();
        for (i, key) in keys.iter().enumerate() {
            let map = node.as_mapping_mut().ok_or_else(|| bad(format!("`{}` is not a section", keys[..i].join("."))))?;
            let k = serde_yaml_ng::Value::String((*key).to_owned());
            if i + 1 == keys.len() {
                map.insert(k, value.clone());
                break;
            }
            if !map.contains_key(&k) {
                map.insert(k.clone(), serde_yaml_ng::Value::Mapping(Default::default()));
            }
            node = map.get_mut(&k).unwrap();
        }
    }
    serde_yaml_ng::from_value(tree).map_err(|e| ConfigError::Override { assignment: assignments.join(" "), reason: e.to_string() })
}
