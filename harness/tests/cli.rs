//! The harness as a user meets it: exit codes, error messages without panic traces, help text,
//! records that a second run never overwrites, and (issue 10's targeted checks) what `train
//! --resume` and `eval` do with a stopped run, damaged records and a changed recipe.

use std::path::Path;
use std::process::{Command, Output};

fn harness(args: &[&str], results: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness")).arg("--results").arg(results).args(args).env("REPRO_DATA_CACHE", results.join("cache")).output().expect("harness runs")
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
    // Built without the GPU features (CI's build): the message names the feature to rebuild with.
    if !cfg!(feature = "vulkan") {
        assert_clean_failure(&harness(&["train", "lenet5", "--device", "vulkan"], r), "--features vulkan");
        assert_clean_failure(&harness(&["smoke", "--device", "vulkan:1"], r), "--features vulkan");
    }
    assert_clean_failure(&harness(&["train", "lenet5", "--device", "vulkan:x"], r), "unknown device `vulkan:x`");
    assert_clean_failure(&harness(&["train", "lenet5", "--device", "tpu"], r), "unknown device `tpu`");
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
fn flag_values_are_checked_and_flags_that_do_nothing_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    assert_clean_failure(&harness(&["train", "lenet5", "--device", "vulcan"], r), "did you mean `vulkan`");
    assert_clean_failure(&harness(&["train", "lenet5", "--backend", "ndaray"], r), "ndarray");
    assert_clean_failure(&harness(&["train", "lenet5", "--eval-batch-size", "0"], r), "--eval-batch-size");
    assert_clean_failure(&harness(&["train", "lenet5", "-j", "0"], r), "--workers");
    assert_clean_failure(&harness(&["train", "lenet5", "--threads", "0"], r), "--threads must be at least 1");
    assert_clean_failure(&harness(&["reproduce", "lstm", "--sample"], r), "no sample reproduction");
    assert_clean_failure(&harness(&["train", "exp1-4x1-lr0.1", "-j", "2"], r), "drop -j/--workers");
    let t = text(&harness(&["train", "--help"], r));
    for needle in ["flex", "ndarray", "--workers", "--eval-batch-size", "--log-interval", "RUST_LOG"] {
        assert!(t.contains(needle), "train --help lacks `{needle}`: {t}");
    }
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
    for needle in ["--resume", "--seeds", "--data-dir", "--backend", "--set", "Examples", "harness train lenet5-modern", "harness train exp2a", "harness train --config"] {
        assert!(t.contains(needle), "train --help lacks `{needle}`: {t}");
    }
    // The papers' examples reach the commands whose help they are for, and only those.
    let t = text(&harness(&["replay", "--help"], dir.path()));
    assert!(t.contains("harness replay results/lstm/exp1-3x2-lr0.1") && !t.contains("harness train"), "{t}");
    let t = text(&harness(&["smoke", "--help"], dir.path()));
    assert!(t.contains("Parity: LeNet-5, ResNet-20, ResNet-50 and VGG-16 built on the CPU") && t.contains("A short ResNet-20 training"), "{t}");
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
    // The first run with every process-wide setting: progress lines without a terminal (the test
    // captures stderr), one loader and one compute thread, small evaluation batches.
    let settings = ["--log-interval", "1", "-j", "1", "--threads", "1", "--eval-batch-size", "64"];
    let o = harness(&[&args[..], &settings[..]].concat(), r);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("recording in") && t.contains("epoch 1/1: step 1/"), "no run directory or progress line: {t}");
    let o = harness(&args, r);
    assert!(o.status.success(), "{}", text(&o));
    let exp = r.join("lenet/lenet5-modern/mnist-sample");
    let mut runs: Vec<_> = std::fs::read_dir(&exp).unwrap().flatten().map(|e| e.path()).filter(|p| p.join("manifest.yaml").is_file()).collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "two runs, two directories");
    let manifest = std::fs::read_to_string(runs[0].join("manifest.yaml")).unwrap();
    for key in [
        "git_commit:",
        "burn_version: 0.22.1",
        "backend: flex",
        "dataset_sha256:",
        "seed: 1",
        "command: cargo run --release -p harness -- --results",
        "train lenet5-modern --dataset mnist-sample",
        "status: complete",
        "compute_threads: 1",
    ] {
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness")).arg("--results").arg(killed.path()).args(args).stderr(std::process::Stdio::null()).spawn().unwrap();
    let exp = killed.path().join("lenet/lenet5-modern/mnist-sample");
    let checkpointed = || std::fs::read_dir(&exp).ok().into_iter().flatten().flatten().any(|e| e.path().join("checkpoint/latest.yaml").is_file());
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

// Targeted checks (issue 10): a stopped run, damaged records, a changed recipe.

/// A short LeNet run whose learning rate jumps to 1e30 in epoch 2: the loss goes non-finite, the
/// run stops, keeps the checkpoint of epoch 1 and stays unfinished (resumable). A deterministic
/// stand-in for a run killed after epoch 1.
const DIVERGING: [&str; 12] =
    ["train", "lenet5-modern", "--dataset", "mnist-sample", "--set", "epochs=2", "--set", "data.train_limit=500", "--set", "data.eval_limit=200", "--set", "schedule.steps=[[1, 0.01], [2, 1e30]]"];

fn run_dirs(results: &Path) -> Vec<std::path::PathBuf> {
    let exp = results.join("lenet/lenet5-modern/mnist-sample");
    let mut runs: Vec<_> = std::fs::read_dir(&exp).map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect()).unwrap_or_default();
    runs.sort();
    runs
}

/// Trains `DIVERGING` into `results`; its output and its run directory.
fn stopped_run(results: &Path) -> (Output, std::path::PathBuf) {
    let o = harness(&DIVERGING, results);
    let runs = run_dirs(results);
    assert_eq!(runs.len(), 1, "one run: {}", text(&o));
    (o, runs[0].clone())
}

fn with_resume(args: &[&'static str]) -> Vec<&'static str> {
    let mut a = args.to_vec();
    a.push("--resume");
    a
}

#[test]
fn a_run_whose_loss_goes_non_finite_exits_non_zero_and_says_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (o, run) = stopped_run(dir.path());
    assert_clean_failure(&o, "stopped early");
    assert!(text(&o).contains("training loss became"), "the reason is given: {}", text(&o));
    let manifest = std::fs::read_to_string(run.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("status: stopped") && manifest.contains("epochs_completed: 1"), "{manifest}");
}

#[test]
fn a_changed_recipe_refuses_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let (_, run) = stopped_run(r);
    let manifest = std::fs::read(run.join("manifest.yaml")).unwrap();
    let changed: Vec<&str> = with_resume(&DIVERGING).into_iter().map(|a| if a == "data.train_limit=500" { "data.train_limit=400" } else { a }).collect();
    let o = harness(&changed, r);
    assert_clean_failure(&o, &format!("cannot resume {}", run.display()));
    assert!(text(&o).contains("recipe differs") && text(&o).contains("`data.train_limit`"), "the differing field is named: {}", text(&o));
    assert_eq!(run_dirs(r), vec![run.clone()], "no new run was started");
    assert_eq!(std::fs::read(run.join("manifest.yaml")).unwrap(), manifest, "the run's records are untouched");
    // The same recipe does resume it (and, at the same learning rate, stops again).
    let o = harness(&with_resume(&DIVERGING), r);
    assert!(text(&o).contains(&format!("resuming {} after epoch 1", run.display())), "{}", text(&o));
}

#[test]
fn damaged_records_are_named_on_resume_and_on_eval() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let (_, run) = stopped_run(r);
    let ckpt = run.join("checkpoint");
    let (weights, optimizer, index) = (ckpt.join("epoch-0001.model.bpk"), ckpt.join("epoch-0001.optimizer.bpk"), ckpt.join("latest.yaml"));
    let header = |path: &Path| std::fs::read_to_string(path).unwrap().lines().next().unwrap().as_bytes().to_vec();
    let half = |path: &Path| {
        let bytes = std::fs::read(path).unwrap();
        bytes[..bytes.len() / 2].to_vec()
    };
    // (what, damaged file, its new content, the file the error must name, whether `eval` reads it)
    let cases: Vec<(&str, &Path, Vec<u8>, &Path, bool)> = vec![
        ("truncated weights", &weights, half(&weights), &weights, true),
        ("garbage weights", &weights, b"not a burnpack file\n".repeat(64), &weights, true),
        ("truncated optimizer state", &optimizer, half(&optimizer), &optimizer, false),
        ("corrupt checkpoint index", &index, b"epoch: [1\nmodel: {\n".to_vec(), &index, true),
        ("checkpoint index naming a missing file", &index, b"epoch: 1\niteration: 8\nmodel: epoch-0009.model.bpk\noptimizer: epoch-0009.optimizer.bpk\n".to_vec(), &index, true),
    ];
    let manifest = run.join("manifest.yaml");
    let metrics = run.join("metrics.csv");
    let cases = cases.into_iter().chain([
        ("truncated manifest", manifest.as_path(), half(&manifest), manifest.as_path(), true),
        ("corrupt metrics", metrics.as_path(), b"epoch,lr,train_loss\n1,0.01\nnot,a,number\n".to_vec(), metrics.as_path(), true),
        ("metrics cut after the header", metrics.as_path(), header(&metrics), metrics.as_path(), true),
    ]);
    let resume = with_resume(&DIVERGING);
    // Every case is tried and every failure reported, so one run shows all that is wrong.
    let mut failures = Vec::new();
    for (what, file, content, named, eval_reads_it) in cases {
        let original = std::fs::read(file).unwrap();
        std::fs::write(file, &content).unwrap();
        let mut commands = vec![("train --resume", resume.clone())];
        if eval_reads_it {
            commands.push(("eval", vec!["eval", run.to_str().unwrap()]));
        }
        for (command, args) in commands {
            let o = harness(&args, r);
            let t = text(&o);
            let problem = if o.status.success() {
                "succeeded".to_string()
            } else if t.contains("panicked") || t.contains("RUST_BACKTRACE") {
                "panicked".to_string()
            } else if !t.contains(&named.display().to_string()) {
                format!("does not name {}", named.display())
            } else if run_dirs(r) != [run.clone()] {
                "started a new run instead of reporting the damage".to_string()
            } else {
                continue;
            };
            failures.push(format!("{what}: `harness {command}` {problem}:\n{t}"));
            // A run started instead goes, so that the next case sees the damaged run alone.
            for extra in run_dirs(r).into_iter().filter(|d| *d != run) {
                std::fs::remove_dir_all(extra).unwrap();
            }
        }
        std::fs::write(file, original).unwrap();
    }
    assert!(failures.is_empty(), "{} damaged-record case(s) not reported cleanly:\n\n{}", failures.len(), failures.join("\n\n"));
}
