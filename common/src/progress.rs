//! Progress bars on a terminal, plain log lines elsewhere (CI, pipes).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn is_interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar over `len` items; hidden when stderr is not a terminal.
pub fn bar(len: u64, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), if is_interactive() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    bar.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})").expect("valid template").progress_chars("=> "));
    bar.set_prefix(prefix.to_owned());
    bar
}

pub fn bytes_bar(len: Option<u64>, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(len, if is_interactive() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    bar.set_style(ProgressStyle::with_template("{prefix} {bytes}/{total_bytes} {bytes_per_sec}").expect("valid template"));
    bar.set_prefix(prefix.to_owned());
    bar
}

/// Prints a line above the bar (or plainly when there is no bar).
pub fn log(bar: Option<&ProgressBar>, line: &str) {
    match bar {
        Some(b) if !b.is_hidden() => b.println(line),
        _ => eprintln!("{line}"),
    }
}
