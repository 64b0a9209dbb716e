//! The harness as a user meets it: exit codes, error messages without panic traces, help text,
//! and records that a second run never overwrites.

use std::path::Path;
use std::process::{Command, Output};

fn harness(args: &[&str], results: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("--results")
        .arg(results)
        .args(args)
        .env("REPRO_DATA_CACHE", results.join("cache"))
        .output()
        .expect("harness runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn assert_clean_failure(o: &Output, needle: &str) {
    let t = text(o);
    assert!(!o.status.success(), "expected failure: {t}");
    assert!(t.contains(needle), "expected `{needle}` in: {t}");
    assert!(!t.contains("panicked") && !t.contains("RUST_BACKTRACE"), "panic trace shown: {t}");
}

#[test]
fn errors_are_messages_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    assert_clean_failure(&harness(&["train", "lenet9"], r), "unknown experiment `lenet9`");
    assert_clean_failure(&harness(&["reproduce", "alexnet9"], r), "unknown paper `alexnet9`");
    assert_clean_failure(&harness(&["reproduce", "alexnet"], r), "--data-dir");
    assert_clean_failure(&harness(&["layers", "lenet6"], r), "unknown model `lenet6`");
    assert_clean_failure(&harness(&["train", "lenet5", "--set", "epochz=2"], r), "unknown field `epochz`");
    assert_clean_failure(&harness(&["train", "lenet5", "--dataset", "cifar"], r), "cifar");
    assert_clean_failure(&harness(&["train", "lenet5", "--device", "cuda"], r), "--features cuda");
    assert_clean_failure(&harness(&["train", "lenet5", "--data-dir", "/nonexistent/mnist"], r), "/nonexistent/mnist");
    let bad = r.join("bad.yaml");
    std::fs::write(&bad, "name: x\nunknown_key: 1\n").unwrap();
    assert_clean_failure(&harness(&["train", "--config", bad.to_str().unwrap()], r), "bad.yaml");
    assert_clean_failure(&harness(&["eval", r.join("no-such-run").to_str().unwrap()], r), "no-such-run");
    assert_clean_failure(&harness(&["fetch", "imagenet9"], r), "unknown dataset `imagenet9`");
    assert_clean_failure(&harness(&["fetch", "imagenet"], r), "--data-dir");
    assert_clean_failure(&harness(&["train", "cifar10-resnet20", "--data-dir", "/nonexistent"], r), "/nonexistent");
    assert_clean_failure(&harness(&["evaluate-pretrained", "torchvision-resnet50", "--weights", "/nonexistent.pth"], r), "/nonexistent.pth");
    assert_clean_failure(&harness(&["train", "torchvision-resnet50"], r), "evaluate-pretrained");
}

#[test]
fn help_teaches() {
    let dir = tempfile::tempdir().unwrap();
    let o = harness(&["--help"], dir.path());
    let t = text(&o);
    assert!(o.status.success());
    for needle in ["reproduce", "train", "compare", "report", "bench", "reproduce lenet --sample"] {
        assert!(t.contains(needle), "--help lacks `{needle}`: {t}");
    }
    let t = text(&harness(&["train", "--help"], dir.path()));
    for needle in ["--resume", "--seeds", "--data-dir", "--backend", "--set", "Examples"] {
        assert!(t.contains(needle), "train --help lacks `{needle}`: {t}");
    }
}

#[test]
fn list_and_layers_show_the_paper() {
    let dir = tempfile::tempdir().unwrap();
    let t = text(&harness(&["list"], dir.path()));
    assert!(t.contains("lenet5-mnist-test-error") && t.contains("60,000 trainable parameters"), "{t}");
    let t = text(&harness(&["layers", "lenet5"], dir.path()));
    assert!(t.contains("| C3 |") && t.contains("1,516") && t.contains("**60,000**"), "{t}");
}

#[test]
fn a_second_run_never_overwrites_the_first_and_eval_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let args = ["train", "lenet5-modern", "--dataset", "mnist-sample", "--set", "epochs=1", "--set", "data.train_limit=300", "--set", "data.eval_limit=200"];
    for _ in 0..2 {
        let o = harness(&args, r);
        assert!(o.status.success(), "{}", text(&o));
    }
    let exp = r.join("lenet/lenet5-modern/mnist-sample");
    let mut runs: Vec<_> = std::fs::read_dir(&exp).unwrap().flatten().map(|e| e.path()).filter(|p| p.join("manifest.yaml").is_file()).collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "two runs, two directories");
    let manifest = std::fs::read_to_string(runs[0].join("manifest.yaml")).unwrap();
    for key in ["git_commit:", "burn_version: 0.22.1", "backend: flex", "dataset_sha256:", "seed: 1", "command: cargo run --release -p harness -- --results", "train lenet5-modern --dataset mnist-sample", "status: complete"] {
        assert!(manifest.contains(key), "manifest lacks `{key}`:\n{manifest}");
    }
    assert!(r.join("lenet/README.md").is_file(), "the write-up is regenerated");
    let o = harness(&["eval", runs[1].to_str().unwrap()], r);
    assert!(o.status.success() && text(&o).contains("error"), "{}", text(&o));
}

#[test]
fn a_killed_run_resumes_to_the_numbers_of_an_uninterrupted_one() {
    let args = ["train", "lenet5-modern", "--dataset", "mnist-sample", "--set", "epochs=4", "--set", "data.train_limit=3000", "--set", "data.eval_limit=500"];
    let killed = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("--results")
        .arg(killed.path())
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let exp = killed.path().join("lenet/lenet5-modern/mnist-sample");
    let checkpointed = || {
        std::fs::read_dir(&exp).ok().into_iter().flatten().flatten().any(|e| e.path().join("checkpoint/latest.yaml").is_file())
    };
    let started = std::time::Instant::now();
    while !checkpointed() {
        assert!(started.elapsed().as_secs() < 120, "no checkpoint within 2 minutes");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let run = std::fs::read_dir(&exp).unwrap().flatten().map(|e| e.path()).find(|p| p.is_dir()).unwrap();
    let manifest = std::fs::read_to_string(run.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("status: running"), "killed during training:\n{manifest}");

    let mut resume_args = args.to_vec();
    resume_args.push("--resume");
    let o = harness(&resume_args, killed.path());
    assert!(o.status.success() && text(&o).contains("resuming"), "{}", text(&o));
    let whole = tempfile::tempdir().unwrap();
    assert!(harness(&args, whole.path()).status.success());

    let metrics = |root: &Path| {
        let exp = root.join("lenet/lenet5-modern/mnist-sample");
        let runs: Vec<_> = std::fs::read_dir(&exp).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        assert_eq!(runs.len(), 1, "resuming continues the same run directory");
        // Keep the numbers (the first six columns, epoch … test_error_pct), not the timings.
        std::fs::read_to_string(runs[0].join("metrics.csv")).unwrap().lines().map(|l| l.split(',').take(6).collect::<Vec<_>>().join(",")).collect::<Vec<_>>()
    };
    assert_eq!(metrics(killed.path()), metrics(whole.path()));
}
