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

/// The committed records replayed here, named by run id. A test never picks a record by "the
/// only seed-1 run": the README's first command adds seed-1 runs of `lenet5-modern` and
/// `lenet5-sgd` beside these, and a user's runs are not what a replay checks. Re-making one of
/// these records means naming its new run id here.
const LENET5_MODERN_SEED1: &str = "lenet/lenet5-modern/mnist-sample/seed1-20261207T064133Z";
const LENET5_SGD_SEED1: &str = "lenet/lenet5-sgd/mnist-sample/seed1-20261207T064032Z";
const LSTM_EXP6A_SEED1: &str = "lstm/exp6a/generated/seed1-20261201T143040Z";

/// The committed run `name` (`<paper>/<experiment>/<dataset>/<run id>`) under `results`; a
/// missing one fails naming the folder and the runs that are there.
fn record(results: &Path, name: &str) -> PathBuf {
    let run = results.join(name);
    if !run.join("manifest.yaml").is_file() {
        let dir = run.parent().unwrap();
        let there: Vec<String> = std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
        panic!("{}: no committed record (a manifest.yaml) there; {} holds {there:?}: name the record this test replays", run.display(), dir.display());
    }
    run
}

/// A user's run beside a named record changes nothing: a copy of the committed experiment folder
/// with another seed-1 run in it (as the README's first command leaves) still gives the named one.
#[test]
fn named_records_ignore_a_users_runs_beside_them() {
    let scratch = tempfile::tempdir().unwrap();
    let committed = repo_root().join("results").join(LENET5_MODERN_SEED1);
    let copy = scratch.path().join(LENET5_MODERN_SEED1);
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(committed.join("manifest.yaml"), copy.join("manifest.yaml")).unwrap();
    let users = copy.parent().unwrap().join("seed1-20991231T235959Z");
    std::fs::create_dir_all(&users).unwrap();
    std::fs::copy(committed.join("manifest.yaml"), users.join("manifest.yaml")).unwrap();
    assert_eq!(record(scratch.path(), LENET5_MODERN_SEED1), copy);
    let missing = std::panic::catch_unwind(|| record(scratch.path(), "lenet/lenet5-modern/mnist-sample/seed1-19700101T000000Z")).unwrap_err();
    let message = missing.downcast_ref::<String>().unwrap();
    assert!(message.contains("seed1-19700101T000000Z") && message.contains("seed1-20991231T235959Z"), "{message}");
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
    let results = repo_root().join("results");
    for name in [LENET5_MODERN_SEED1, LENET5_SGD_SEED1] {
        replay_lenet(&record(&results, name));
    }
}

/// An LSTM 1997 record (exp. 6a, the temporal-order task, 20 trials; one of the rows that
/// reproduces): the success rate over its trials, gated like an error rate on 20 items. The 1997
/// net is plain f64 code with a fixed order of operations, so on any x86-64 CPU the replay should
/// in fact be exact: that is asserted too, per trial.
#[test]
fn lstm_1997_record_replays_exactly() {
    use repro_lstm::trials::{self, TrialsManifest, TrialsSpec};
    let run = record(&repo_root().join("results"), LSTM_EXP6A_SEED1);
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
