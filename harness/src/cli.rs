//! Command-line values checked by clap, so `--help` lists them and a typo gets a suggestion, and
//! the `--help` text the papers contribute (their examples, the nets `smoke` checks).

use clap::ValueEnum;
use repro_common::paper::{HelpExample, ImagePaper, Paper};

/// The CPU backend of `--device cpu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// burn-flex: the fastest CPU backend (default).
    Flex,
    /// burn-ndarray: kept for comparison (a build with `--features ndarray`).
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

/// The `--help` examples of each command that the harness gives itself, after the papers' own
/// (`Paper::help_examples`); `""` is `harness --help`'s "Start here".
const OWN_EXAMPLES: &[(&str, &str, &str)] = &[
    ("", "list", "papers, models, experiments and claims"),
    ("", "smoke --device vulkan", "is this GPU fit to train? parity with the CPU, a short run, img/s"),
    ("train", "train --config my-recipe.yaml", "a recipe of your own"),
    ("export", "export RUN_DIR --out model.safetensors", "then in Python: safetensors.torch.load_file(...)"),
];

/// The commands whose `--help` ends with examples.
const COMMANDS_WITH_EXAMPLES: [&str; 6] = ["", "train", "reproduce", "evaluate-pretrained", "export", "replay"];

/// `command` with the papers' examples in each command's `--help` and the nets `harness smoke`
/// checks named in its help, so the harness shows real experiment names without naming one.
pub fn with_paper_help(mut command: clap::Command, papers: &[&dyn Paper]) -> clap::Command {
    let offered: Vec<HelpExample> = papers.iter().flat_map(|p| p.help_examples().iter().copied()).collect();
    for sub in COMMANDS_WITH_EXAMPLES {
        let lines: Vec<(&str, &str)> =
            offered.iter().filter(|e| e.command == sub).map(|e| (e.example, e.what)).chain(OWN_EXAMPLES.iter().filter(|(c, _, _)| *c == sub).map(|(_, e, w)| (*e, *w))).collect();
        if lines.is_empty() {
            continue;
        }
        let text = examples_text(if sub.is_empty() { "Start here" } else { "Examples" }, &lines);
        command = if sub.is_empty() { command.after_help(text) } else { command.mut_subcommand(sub, |c| c.after_help(text)) };
    }
    let images: Vec<&dyn ImagePaper> = papers.iter().filter_map(|p| p.images()).collect();
    let nets: Vec<&str> = images.iter().flat_map(|p| p.smoke_nets().iter().map(|n| n.name)).collect();
    let training = images.iter().find_map(|p| p.smoke_training()).map_or(String::new(), |t| format!("{} ", t.name));
    command.mut_subcommand("smoke", |c| c.long_about(smoke_long_about(&nets, &training)))
}

/// `Examples:` and one line per example, each description beside its example (aligned) where
/// the line fits clap's 100 columns, else on the next line, indented.
fn examples_text(title: &str, lines: &[(&str, &str)]) -> String {
    const COLUMNS: usize = 96;
    let fits = |example: &str, what: &str, width: usize| 10 + width.max(example.len()) + 2 + what.len() <= COLUMNS;
    let width = lines.iter().filter(|(e, w)| !w.is_empty() && fits(e, w, 0)).map(|(e, _)| e.len()).max().unwrap_or(0);
    let mut text = format!("{title}:");
    for (example, what) in lines {
        if what.is_empty() {
            text.push_str(&format!("\n  harness {example}"));
        } else if fits(example, what, width) {
            text.push_str(&format!("\n  harness {example:<width$}  {what}"));
        } else {
            text.push_str(&format!("\n  harness {example}\n      {what}"));
        }
    }
    text
}

/// `training` is the short training's net and a space, or empty.
fn smoke_long_about(nets: &[&str], training: &str) -> String {
    let listed = match nets {
        [] => "the papers' nets".to_string(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    format!(
        "Check a device before trusting it with a reproduction.\n\n\
1. Parity: {listed} built on the CPU, copied to the device,\n   and run on the same batch on both: class scores, training loss and one optimizer step must agree\n   within the tolerances in common/src/parity.rs.\n\
2. A short {training}training on generated files of its dataset's real format, through the real\n   loader and engine, must end well below chance.\n\
3. Training throughput (img/s) and memory of the same nets on the device.\n\n\
Exits non-zero when parity or the training fails. REPRO_PARITY_DEBUG=1 prints every weight's step on\n\
both devices (which layer differs)."
    )
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

    /// A paper's example for a command whose help shows no examples would be dropped silently.
    #[test]
    fn every_paper_example_is_for_a_command_that_shows_examples() {
        for paper in crate::papers() {
            for e in paper.help_examples() {
                assert!(COMMANDS_WITH_EXAMPLES.contains(&e.command), "{}: example `{}` is for `{}`, whose --help shows none", paper.id(), e.example, e.command);
                assert!(e.command.is_empty() || e.example.starts_with(e.command), "{}: example `{}` is not a `{}` command", paper.id(), e.example, e.command);
            }
        }
    }
}
