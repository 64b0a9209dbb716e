//! Replays of committed records: a record's recipe and seed trained again and its final number
//! checked against the record's within the replay gate (3 × √2 binomial standard errors on the
//! evaluation set; `repro_common::replay`). One record per paper where it fits in CI. A record
//! that fails here no longer says what the code produces: re-make it and regenerate the
//! write-up in the same commit (`harness reproduce ...`, `harness report <paper>`).

use std::path::{Path, PathBuf};

use repro_common::paper::ImagePaper;
use repro_common::records::Manifest;
use repro_common::{replay, report};
use repro_lenet::LenetPaper;
use repro_tests::{cpu, repo_root, sample};

/// The one committed run of `experiment` with `seed` on `dataset`.
fn record(paper: &str, experiment: &str, dataset: &str, seed: u64) -> PathBuf {
    let dir = repo_root().join("results").join(paper).join(experiment).join(dataset);
    let prefix = format!("seed{seed}-");
    let mut found: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&prefix)).collect();
    assert_eq!(found.len(), 1, "exactly one seed-{seed} record in {}: {found:?}", dir.display());
    found.pop().unwrap()
}

/// The record must have been made with today's shipped recipe (else it answers nothing), and
/// its replay must land inside the gate.
fn replay_lenet(run: &Path) {
    let recorded: Manifest = Manifest::load(run).unwrap();
    let shipped = (&LenetPaper as &dyn ImagePaper).experiment(&recorded.header.experiment).expect("a shipped recipe");
    assert!(
        report::follows_recipe_on_its_dataset(&recorded, &shipped),
        "{}: the shipped recipe `{}` changed since this record was made: re-make it (and regenerate the write-up)",
        run.display(),
        shipped.name
    );
    let scratch = tempfile::tempdir().unwrap();
    let r = replay::replay(&LenetPaper, run, &cpu(), &sample(), scratch.path(), "test".into()).unwrap();
    eprint!("{}", r.summary());
    let failures = r.failures();
    assert!(failures.is_empty(), "{}: {}", run.display(), failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "));
}

/// `lenet5-modern` and `lenet5-sgd`, seed 1, 20 epochs on the sample (about a minute each).
/// One test, so the two trainings never run at once (flex's process-wide generator).
#[test]
fn lenet_records_replay_within_their_gates() {
    for experiment in ["lenet5-modern", "lenet5-sgd"] {
        replay_lenet(&record("lenet", experiment, "mnist-sample", 1));
    }
}

/// An LSTM 1997 record (exp. 6a, the temporal-order task, 20 trials; one of the rows that
/// reproduces): the success rate over its trials, gated like an error rate on 20 items. The 1997
/// net is plain f64 code with a fixed order of operations, so on any x86-64 CPU the replay should
/// in fact be exact: that is asserted too, per trial.
#[test]
fn lstm_1997_record_replays_exactly() {
    use repro_lstm::trials::{self, TrialsManifest, TrialsSpec};
    let run = record("lstm", "exp6a", "generated", 1);
    let recorded = TrialsManifest::load(&run).unwrap();
    let shipped = repro_lstm::trial_experiment("exp6a").unwrap();
    let mut as_recorded = recorded.body.config.clone();
    as_recorded.seed = shipped.seed;
    assert_eq!(as_recorded, shipped, "{}: the shipped recipe changed since this record was made: re-make it", run.display());
    let scratch = tempfile::tempdir().unwrap();
    let replayed = trials::run(TrialsSpec { config: &recorded.body.config, run_dir: scratch.path().to_owned(), resume: false, threads: 2, command: "test".into() }).unwrap();
    let (was, now) = (recorded.body.summary.unwrap(), replayed.body.summary.unwrap());
    replay::success_rate_gate("exp6a success rate % over 20 trials", was.success_rate_pct, was.trials).assert(now.success_rate_pct);
    let per_trial = |dir: &Path| trials::load_trials(dir).unwrap().into_iter().map(|t| (t.trial, t.success, t.sequences, t.test_wrong)).collect::<Vec<_>>();
    assert_eq!(per_trial(&run), per_trial(scratch.path()), "same recipe, same seed: the f64 1997 net repeats trial for trial");
}
