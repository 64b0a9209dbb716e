//! `harness smoke` on the CPU (CI has no GPU): ndarray checked against flex, so the parity
//! arithmetic compares two real implementations, and the tables are written; a planted fault
//! must fail the parity check.

use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness")).args(args).output().expect("harness runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_smoke_check_on_the_cpu_passes_and_writes_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke.md");
    let o = harness(&["smoke", "--device", "cpu", "--backend", "ndarray", "--quick", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let table = std::fs::read_to_string(&out).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), table.trim(), "the file holds what was printed");
    for net in ["LeNet-5", "ResNet-20", "ResNet-50", "VGG-16"] {
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with(&format!("| {net} |"))).collect();
        assert_eq!(rows.len(), 2, "{net}: a parity row and a throughput row\n{table}");
        assert!(rows[0].ends_with("| yes |"), "{net} parity: {}", rows[0]);
    }
    assert!(table.contains("## A short ResNet-20 training") && table.contains("Every check passed."), "{table}");
    let short_run = table.lines().skip_while(|l| !l.starts_with("## A short")).find(|l| l.starts_with("| 80 |")).expect("the short run's row");
    assert!(short_run.ends_with("| yes |"), "{short_run}");
}

#[test]
fn a_planted_fault_fails_the_parity_check() {
    for (plant, needle) in [("weight", "step"), ("batch", "scores")] {
        let o = harness(&["smoke", "--device", "cpu", "--quick", "--plant", plant]);
        let t = text(&o);
        assert!(!o.status.success(), "planted {plant}: {t}");
        assert!(t.contains("failed as it should") && t.contains(needle), "planted {plant}: expected `{needle}` among the failures: {t}");
        assert!(!t.contains("panicked"), "{t}");
    }
}
