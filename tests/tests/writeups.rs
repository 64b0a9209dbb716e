//! The committed write-ups are what the committed records generate today. Each test copies
//! `results/` to a temporary folder, regenerates there what `harness report <paper>` writes
//! (`results/<paper>/README.md` and every run's `curve.svg`) and requires every file to equal the
//! committed one byte for byte; the README's "Results so far" section is regenerated from the
//! records and compared with the one between its markers. A stale file fails with its name, its
//! first differing line and the command that regenerates it. Nothing here writes into the repo.
//! "Committed" is git's copy (`repro_tests::Committed`): the runs a user trains into `results/`
//! and the write-up regenerated with them are the user's, not what is checked here; a developer's
//! re-made records and write-ups are checked once `git add`ed.

use std::path::{Path, PathBuf};

use repro_common::paper::ImagePaper;
use repro_common::report;
use repro_tests::Committed;

/// The image papers in the harness's order (`papers()` in harness/src/main.rs), which is the
/// README's order too.
fn image_papers() -> Vec<&'static dyn ImagePaper> {
    vec![&repro_lenet::LenetPaper, &repro_resnet::ResnetPaper, &repro_alexnet::AlexnetPaper, &repro_vgg::VggPaper, &repro_googlenet::GooglenetPaper]
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    files.sort();
    files
}

/// `line N` with the committed and the generated text of the first line that differs.
fn first_difference(committed: &str, generated: &str) -> String {
    let (mut old, mut new) = (committed.lines(), generated.lines());
    for n in 1.. {
        match (old.next(), new.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => break,
            (a, b) => {
                // SVG lines run to thousands of characters: the start of the line names the place.
                let show = |l: Option<&str>| match l {
                    Some(l) if l.chars().count() > 160 => format!("{:?}…", l.chars().take(160).collect::<String>()),
                    Some(l) => format!("{l:?}"),
                    None => "(end of file)".into(),
                };
                return format!("first difference at line {n}:\n    committed: {}\n    generated: {}", show(a), show(b));
            }
        }
    }
    "the lines are equal; only the line endings or the final newline differ".into()
}

/// Regenerates `paper`'s write-up in a copy of `results/` with `generate`, and fails naming every
/// file under `results/<paper>/` that differs from the committed one or is not committed.
fn check_writeup(paper: &str, generate: impl FnOnce(&Path)) {
    let committed = Committed::load();
    let committed_root = committed.results();
    let scratch = tempfile::tempdir().unwrap();
    let scratch_root = scratch.path().join("results");
    copy_tree(&committed_root, &scratch_root);
    generate(&scratch_root);
    let mut stale = Vec::new();
    for file in files_under(&scratch_root.join(paper)) {
        let shown = Path::new("results").join(paper).join(&file);
        let generated = std::fs::read(scratch_root.join(paper).join(&file)).unwrap();
        match std::fs::read(committed_root.join(paper).join(&file)) {
            Ok(committed) if committed == generated => {}
            Ok(committed) => stale.push(format!("{} is stale: {}", shown.display(), first_difference(&String::from_utf8_lossy(&committed), &String::from_utf8_lossy(&generated)))),
            Err(_) => stale.push(format!("{} is generated but not committed", shown.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "the committed write-up of `{paper}` is not what its records generate:\n\n{}\n\nRegenerate it with `cargo run --release -p harness -- report {paper}` and commit the result, saying why it changed.",
        stale.join("\n\n")
    );
}

fn check_image_paper(id: &str) {
    let paper = image_papers().into_iter().find(|p| p.id() == id).unwrap();
    check_writeup(id, |results| {
        report::write_paper_report(paper, results).unwrap();
    });
}

#[test]
fn lenet_writeup_is_up_to_date() {
    check_image_paper("lenet");
}

#[test]
fn resnet_writeup_is_up_to_date() {
    check_image_paper("resnet");
}

#[test]
fn alexnet_writeup_is_up_to_date() {
    check_image_paper("alexnet");
}

#[test]
fn vgg_writeup_is_up_to_date() {
    check_image_paper("vgg");
}

#[test]
fn googlenet_writeup_is_up_to_date() {
    check_image_paper("googlenet");
}

#[test]
fn lstm_writeup_is_up_to_date() {
    check_writeup(repro_lstm::ID, |results| {
        repro_lstm::report::write(results).unwrap();
    });
}

/// Every paper with records has a write-up test above (`results/bench/` holds the bench records
/// the write-ups' throughput sections are generated from, checked with each paper).
#[test]
fn every_paper_with_records_is_checked() {
    let checked: Vec<&str> = image_papers().iter().map(|p| p.id()).chain([repro_lstm::ID, repro_common::bench::BENCH_DIR]).collect();
    for entry in std::fs::read_dir(Committed::load().results()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(checked.contains(&name.as_str()), "results/{name} has no write-up check in tests/tests/writeups.rs");
    }
}

#[test]
fn readme_results_are_up_to_date() {
    let committed = Committed::load();
    let results = committed.results();
    // The harness's registry, in its order.
    let papers: Vec<&dyn repro_common::paper::Paper> =
        vec![&repro_lenet::LenetPaper, &repro_resnet::ResnetPaper, &repro_alexnet::AlexnetPaper, &repro_vgg::VggPaper, &repro_googlenet::GooglenetPaper, &repro_lstm::LstmPaper];
    let generated = report::readme_results(&papers, &results).unwrap();
    let readme = committed.readme();
    // What `harness report readme` would write: the committed README with its section replaced.
    let regenerated = report::splice_readme_results(&readme, &generated)
        .unwrap_or_else(|| panic!("README.md has no generated results section: it goes between `{}` and `{}`", report::README_RESULTS_BEGIN, report::README_RESULTS_END));
    assert!(
        readme == regenerated,
        "README.md's results section is not what the records generate: {}\n\nRegenerate it with `cargo run --release -p harness -- report readme` and commit the result, saying why it changed.",
        first_difference(&readme, &regenerated)
    );
}
