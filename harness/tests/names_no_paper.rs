//! The harness reaches every paper through `repro_common::paper::Paper` and names none: a paper
//! is one line of the registry in main.rs, and even the `--help` examples come from the papers
//! (`Paper::help_examples`). `common` knows no paper at all: what one paper needs lives in its
//! crate, behind `common`'s extension points.

use std::path::Path;

/// Paper ids and the names their crates and nets go by, matched case-insensitively.
const PAPER_WORDS: &[&str] = &["lenet", "resnet", "alexnet", "vgg", "googlenet", "lstm", "ptb", "sdlm", "hochreiter", "zaremba"];

/// Lines that may name a paper, per file: the registry (one line per paper crate).
const ALLOWED: &[(&str, usize)] = &[("main.rs", 1)];

/// What names a paper, a net or its authors in `common` (the dataset names `mnist`, `cifar` and
/// `ptb` are data, not papers).
const COMMON_WORDS: &[&str] = &["lenet", "resnet", "alexnet", "vgg", "googlenet", "inception", "lstm", "sdlm", "hochreiter", "zaremba", "simonyan", "he et al"];

/// `common`'s one exception: the PTB mirror is a repository of a paper's reference code.
const COMMON_ALLOWED: &[(&str, usize)] = &[("data/text.rs", 1)];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of the Rust files under `src` naming one of `words`, beyond `allowed`, as messages.
fn naming_lines(src: &Path, words: &[&str], allowed: &[(&str, usize)], shown: &str, advice: &str) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut problems = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        let naming: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| words.iter().any(|w| l.to_ascii_lowercase().contains(w))).map(|(i, l)| (i + 1, l)).collect();
        let allowed = allowed.iter().find(|(f, _)| *f == relative).map_or(0, |(_, n)| *n);
        if naming.len() > allowed {
            let lines: Vec<String> = naming.iter().map(|(i, l)| format!("  {relative}:{i}: {}", l.trim())).collect();
            problems.push(format!("{shown}/{relative} names a paper on {} lines (allowed: {allowed}); {advice}:\n{}", naming.len(), lines.join("\n")));
        }
    }
    problems
}

#[test]
fn harness_names_no_paper_beyond_its_registry() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = naming_lines(&src, PAPER_WORDS, ALLOWED, "harness/src", "reach it through the `Paper` trait instead");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn common_names_no_paper() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../common/src");
    let problems = naming_lines(&src, COMMON_WORDS, COMMON_ALLOWED, "common/src", "move it into the paper's crate, behind one of common's hooks");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
