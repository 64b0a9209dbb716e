//! Command-line values checked by clap, so `--help` lists them and a typo gets a suggestion.

use clap::ValueEnum;

/// The CPU backend of `--device cpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// burn-flex: the fastest CPU backend (default).
    Flex,
    /// burn-ndarray: kept for comparison.
    Ndarray,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The device APIs `--device` takes, each optionally `:N` (cpu has no index).
const APIS: [&str; 4] = ["cpu", "cuda", "vulkan", "wgpu"];

/// `--device`: `cpu`, `cuda[:N]`, `vulkan[:N]` or `wgpu[:N]`, lower-cased. Whether the build has
/// the API is checked when the device is opened (`repro_common::device::select`).
pub fn parse_device(text: &str) -> Result<String, String> {
    let device = text.trim().to_ascii_lowercase();
    let (api, index) = device.split_once(':').map_or((device.as_str(), None), |(a, n)| (a, Some(n)));
    let known = "cpu, cuda, cuda:N, vulkan, vulkan:N, wgpu or wgpu:N";
    if !APIS.contains(&api) {
        let nearest = APIS.iter().min_by_key(|a| edit_distance(a, api)).filter(|a| edit_distance(a, api) <= 2);
        let hint = nearest.map(|a| format!(" (did you mean `{a}`?)")).unwrap_or_default();
        return Err(format!("unknown device `{device}`{hint}; use {known}"));
    }
    match index {
        Some(n) if api == "cpu" || n.parse::<usize>().is_err() => Err(format!("unknown device `{device}`; use {known}")),
        _ => Ok(device),
    }
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_typos_get_the_nearest_api() {
        assert_eq!(parse_device(" Vulkan:1 ").unwrap(), "vulkan:1");
        assert_eq!(parse_device("cuda").unwrap(), "cuda");
        assert!(parse_device("vulcan").unwrap_err().contains("did you mean `vulkan`"));
        assert!(parse_device("cudaa:0").unwrap_err().contains("did you mean `cuda`"));
        assert!(!parse_device("quantum").unwrap_err().contains("did you mean"));
        assert!(parse_device("vulkan:x").unwrap_err().contains("unknown device `vulkan:x`"));
        assert!(parse_device("cpu:0").is_err());
    }
}
