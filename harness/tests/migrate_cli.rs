//! `harness migrate` on records in the layouts made before the shared manifest header (an image
//! run with its provenance at the top level, a run of trials without `dataset`): each is
//! rewritten once with the same content, reads as before, and a damaged one is named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_yaml_ng::{Mapping, Value};

fn harness(args: &[&str], results: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness")).arg("--results").arg(results).args(args).output().expect("harness runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A copy of `harness/tests/data/old-records` (two records as committed before the migration).
fn old_records() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/old-records");
    let mut manifests = Vec::new();
    copy(&source, dir.path(), &mut manifests);
    manifests.sort();
    (dir, manifests)
}

fn copy(from: &Path, to: &Path, manifests: &mut Vec<PathBuf>) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy(&entry.path(), &target, manifests);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            if entry.file_name() == "manifest.yaml" {
                manifests.push(target);
            }
        }
    }
}

fn read(path: &Path) -> Mapping {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The manifest with `provenance:` spread over the top level, as the old image layout had it.
fn flattened(mut m: Mapping) -> Mapping {
    if let Some(Value::Mapping(p)) = m.remove("provenance") {
        m.extend(p);
    }
    m
}

/// Every key of `old` is in `new` with the same value, in nested mappings too (`new` may add
/// keys: the defaults that older records left out, written explicitly).
fn keeps_everything(new: &Mapping, old: &Mapping, at: &str) {
    for (key, value) in old {
        let here = format!("{at}.{}", key.as_str().unwrap_or("?"));
        match (new.get(key), value) {
            (Some(Value::Mapping(n)), Value::Mapping(o)) => keeps_everything(n, o, &here),
            (Some(n), o) => assert_eq!(n, o, "{here} changed"),
            (None, _) => panic!("{here} was lost"),
        }
    }
}

#[test]
fn old_records_are_rewritten_once_with_the_same_content() {
    let (dir, manifests) = old_records();
    let before: Vec<Mapping> = manifests.iter().map(|p| read(p)).collect();
    let compare_before = harness(&["compare", "lenet"], dir.path());
    assert!(compare_before.status.success(), "old records load: {}", text(&compare_before));

    let o = harness(&["migrate"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 of 2 manifest(s) rewritten"), "{}", text(&o));

    let (image, trials) = (read(&manifests[0]), read(&manifests[1]));
    assert!(image.contains_key("provenance") && !image.contains_key("git_commit"), "provenance nested: {image:?}");
    keeps_everything(&flattened(image), &before[0], "image");
    assert_eq!(trials.get("dataset"), Some(&Value::from("generated")));
    keeps_everything(&trials, &before[1], "trials");

    let compare_after = harness(&["compare", "lenet"], dir.path());
    assert_eq!(text(&compare_after), text(&compare_before), "the comparison reads the same numbers");
    let again = harness(&["migrate"], dir.path());
    assert!(text(&again).contains("0 of 2 manifest(s) rewritten"), "{}", text(&again));
}

#[test]
fn a_manifest_with_an_unknown_key_is_named_and_left_alone() {
    let (dir, manifests) = old_records();
    let damaged = std::fs::read_to_string(&manifests[0]).unwrap().replace("epochs_completed:", "epochs_complete:");
    std::fs::write(&manifests[0], &damaged).unwrap();
    let o = harness(&["migrate"], dir.path());
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&manifests[0].display().to_string()) && text(&o).contains("epochs_complete"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&manifests[0]).unwrap(), damaged, "the damaged file is not rewritten");
}
