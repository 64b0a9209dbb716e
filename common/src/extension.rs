//! A paper's own settings inside a shared recipe: the `kind`-tagged mappings through which a paper
//! crate adds an optimiser or a test protocol without `common` knowing it.

use serde::{Deserialize, Serialize};

/// The settings of a mechanism a paper crate defines for its recipes (an optimiser, a test
/// protocol): a YAML mapping whose `kind` names it. `common` keeps and records it as written;
/// the paper crate reads it into its own type with [`Extension::parse`], which rejects
/// unknown keys, and refuses kinds it does not define.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Extension(serde_yaml_ng::Mapping);

impl<'de> Deserialize<'de> for Extension {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = serde_yaml_ng::Mapping::deserialize(deserializer)?;
        match map.get("kind") {
            Some(serde_yaml_ng::Value::String(_)) => Ok(Extension(map)),
            _ => Err(serde::de::Error::custom("needs a `kind` naming what it is")),
        }
    }
}

impl Extension {
    /// What it is, e.g. `sgd` or a paper's own name.
    pub fn kind(&self) -> &str {
        self.0.get("kind").and_then(|k| k.as_str()).unwrap_or_default()
    }

    /// The settings read into the paper crate's type (a `kind`-tagged enum or a struct that
    /// takes `kind`); the error names the unknown or missing key.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(self.0.clone())).map_err(|e| format!("`{}`: {e}", self.kind()))
    }
}
