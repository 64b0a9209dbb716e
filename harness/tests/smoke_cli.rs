//! `harness smoke` on the CPU (CI has no GPU): the whole check on flex, whose copy through a
//! checkpoint file must give exactly the reference's numbers; the parity check of burn's ndarray
//! backend against flex, two real implementations that differ in rounding only; and planted faults,
//! which must fail it.

use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness")).args(args).output().expect("harness runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const NETS: [&str; 4] = ["LeNet-5", "ResNet-20", "ResNet-50", "VGG-16"];

/// The parity rows of a smoke table: `(net, [scores, loss, step] errors, verdict)`.
fn parity_rows(table: &str) -> Vec<(String, [f64; 3], String)> {
    let section = table.split("## Parity").nth(1).expect("a parity section").split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| NETS.iter().any(|n| l.starts_with(&format!("| {n} |"))))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let number = |i: usize| cells[i].parse::<f64>().unwrap_or_else(|_| panic!("cell {i} of {l}"));
            (cells[0].to_string(), [number(4), number(5), number(6)], cells[7].to_string())
        })
        .collect()
}

#[test]
fn the_smoke_check_on_the_cpu_passes_and_writes_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke.md");
    let o = harness(&["smoke", "--device", "cpu", "--quick", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let table = std::fs::read_to_string(&out).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), table.trim(), "the file holds what was printed");
    let rows = parity_rows(&table);
    assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), NETS, "{table}");
    for (net, errors, verdict) in &rows {
        assert_eq!(*errors, [0.0; 3], "{net}: flex against flex through a checkpoint file must be exact");
        assert_eq!(verdict, "yes", "{net}");
    }
    let throughput = table.split("## Training throughput").nth(1).expect("a throughput section");
    for net in NETS {
        let row = throughput.lines().find(|l| l.starts_with(&format!("| {net} |"))).unwrap_or_else(|| panic!("{net}'s throughput row: {table}"));
        let img_per_s: f64 = row.trim_matches('|').split('|').nth(4).unwrap().trim().parse().unwrap();
        assert!(img_per_s > 0.0, "{row}");
    }
    let short_run = table.split("## A short ResNet-20 training").nth(1).expect("the short run's section");
    let row = short_run.lines().find(|l| l.starts_with("| 80 |")).expect("the short run's row");
    assert!(row.ends_with("| yes |"), "{row}");
    assert!(table.trim_end().ends_with("Every check passed."), "{table}");
}

/// Needs a build with burn-ndarray: `cargo test --release -p harness --features ndarray --test smoke_cli`.
#[cfg(feature = "ndarray")]
#[test]
fn ndarray_agrees_with_flex_within_the_parity_tolerances() {
    let o = harness(&["smoke", "--device", "cpu", "--backend", "ndarray", "--quick", "--parity-only"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let rows = parity_rows(&t);
    assert_eq!(rows.len(), 4, "{t}");
    for (net, errors, verdict) in &rows {
        assert_eq!(verdict, "yes", "{net}: {t}");
        assert!(errors[0] > 0.0, "{net}: two backends should differ in rounding, so the comparison is real: {t}");
    }
}

#[cfg(not(feature = "ndarray"))]
#[test]
fn ndarray_without_its_feature_is_a_clear_error() {
    let o = harness(&["smoke", "--device", "cpu", "--backend", "ndarray", "--quick", "--parity-only"]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("--features ndarray") && !t.contains("panicked"), "{t}");
}

/// A planted fault fails the check on every net that can see it. LeNet-5's RBF outputs at
/// initialisation barely depend on the input (one image of 16 zeroed moves its scores by 9e-5 of
/// their scale and its step by 1.4e-3), so the batch fault is required of the other three.
#[test]
fn a_planted_fault_fails_the_parity_check() {
    for (plant, needle, nets) in [("weight", "scores", &NETS[..]), ("batch", "scores", &NETS[1..])] {
        let o = harness(&["smoke", "--device", "cpu", "--quick", "--plant", plant]);
        let t = text(&o);
        assert!(!o.status.success(), "planted {plant}: {t}");
        assert!(t.contains("failed as it should") && t.contains(needle), "planted {plant}: expected `{needle}` among the failures: {t}");
        for net in nets {
            let row = parity_rows(&t).into_iter().find(|r| r.0 == *net).unwrap_or_else(|| panic!("{net}: {t}"));
            assert_ne!(row.2, "yes", "planted {plant}: {net} must fail: {t}");
        }
        assert!(!t.contains("panicked"), "{t}");
    }
}
