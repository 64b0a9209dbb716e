//! `harness replay` as a user meets it: a fresh record replays inside its gate (exit 0), and a
//! record whose number the code does not produce is refused with the direction and size of the
//! change (non-zero exit).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn harness(args: &[&str], results: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness")).arg("--results").arg(results).args(args).env("REPRO_DATA_CACHE", results.join("cache")).output().expect("harness runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn only_run(results: &Path) -> PathBuf {
    let exp = results.join("lenet/lenet5-modern/mnist-sample");
    let runs: Vec<_> = std::fs::read_dir(&exp).unwrap().flatten().map(|e| e.path()).filter(|p| p.join("manifest.yaml").is_file()).collect();
    assert_eq!(runs.len(), 1);
    runs[0].clone()
}

#[test]
fn a_record_replays_inside_its_gate_and_a_doctored_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let train = harness(&["train", "lenet5-modern", "--dataset", "mnist-sample", "--set", "epochs=1", "--set", "data.train_limit=1000", "--set", "data.eval_limit=500"], r);
    assert!(train.status.success(), "{}", text(&train));
    let run = only_run(r);

    let o = harness(&["replay", run.to_str().unwrap()], r);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ok: lenet5-modern seed 1 on mnist-sample test: final error %") && text(&o).contains("500 items"), "{}", text(&o));

    // The record claims 30 points more error than the code produces: the replay is "better" by
    // about 30 points, far outside a band of a few points.
    let path = run.join("manifest.yaml");
    let mut manifest: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let recorded = manifest["final_metrics"]["test_error_pct"].as_f64().unwrap();
    manifest["final_metrics"]["test_error_pct"] = (recorded + 30.0).into();
    std::fs::write(&path, serde_yaml_ng::to_string(&manifest).unwrap()).unwrap();
    let o = harness(&["replay", r.join("lenet").to_str().unwrap()], r);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("OUTSIDE") && t.contains("down") && t.contains("better") && t.contains("re-make the record"), "{t}");
    assert!(!t.contains("panicked"), "{t}");

    let o = harness(&["replay", r.join("nothing-here").to_str().unwrap()], r);
    assert!(!o.status.success() && text(&o).contains("holds no run record"), "{}", text(&o));
}
