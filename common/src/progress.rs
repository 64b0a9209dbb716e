//! Progress bars on a terminal, plain log lines elsewhere (CI, pipes).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Steps between plain progress lines when stderr is not a terminal: 0 until set, meaning about
/// ten lines per epoch; `usize::MAX` for none ([`set_log_interval`]).
static LOG_INTERVAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the steps between plain progress lines (the harness's `--log-interval`); `None` switches
/// them off.
pub fn set_log_interval(steps: Option<usize>) {
    LOG_INTERVAL.store(steps.map_or(usize::MAX, |s| s.max(1)), std::sync::atomic::Ordering::Relaxed);
}

/// Whether step `step` (1-based) of `steps` gets a plain progress line: only without a terminal
/// (a terminal has the bar), every `--log-interval` steps, by default about ten per epoch.
pub fn line_due(step: usize, steps: usize) -> bool {
    if is_interactive() {
        return false;
    }
    let interval = match LOG_INTERVAL.load(std::sync::atomic::Ordering::Relaxed) {
        0 => steps.div_ceil(10).max(1),
        n => n,
    };
    interval != usize::MAX && step.is_multiple_of(interval)
}

/// Whether stderr is a terminal, asked once per process: the training loop asks every step.
pub fn is_interactive() -> bool {
    static INTERACTIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INTERACTIVE.get_or_init(|| std::io::stderr().is_terminal())
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
