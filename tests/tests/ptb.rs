//! The PTB data layer and language model of Zaremba et al. (2014), on small corpora the tests
//! write in the exact PTB layout (the real files cannot be downloaded here).

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use repro_common::data::DataSource;
use repro_common::data::text::load_text;
use repro_common::device;
use repro_lstm::ptb::{self, PtbSpec};

/// A corpus from a small Markov chain over 30 words (plus `<unk>`), one sentence per line with
/// PTB's leading space, so a language model has something to learn.
fn write_corpus(dir: &Path, words: [usize; 3]) {
    let vocab: Vec<String> = (0..30).map(|i| format!("w{i}")).chain(["<unk>".to_string()]).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for (name, n) in ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"].iter().zip(words) {
        let mut text = String::new();
        let mut state = 0usize;
        let mut written = 0;
        while written < n {
            text.push(' ');
            let len = rng.random_range(4..12);
            for _ in 0..len {
                // Each word is followed by one of three successors most of the time.
                state = if rng.random_bool(0.85) { (state * 7 + rng.random_range(1..4)) % vocab.len() } else { rng.random_range(0..vocab.len()) };
                text.push_str(&vocab[state]);
                text.push(' ');
                written += 1;
            }
            text.push('\n');
        }
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn tokenizer_follows_the_reference_data_layout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ptb.train.txt"), " the cat sat \n the dog <unk> \n").unwrap();
    std::fs::write(dir.path().join("ptb.valid.txt"), " the dog sat \n").unwrap();
    std::fs::write(dir.path().join("ptb.test.txt"), " cat \n").unwrap();
    let c = load_text("text", &DataSource::Dir(dir.path().to_owned())).unwrap();
    assert_eq!(c.vocab, ["the", "cat", "sat", "<eos>", "dog", "<unk>"]);
    assert_eq!(c.train, [0, 1, 2, 3, 0, 4, 5, 3]);
    assert_eq!(c.valid, [0, 4, 2, 3]);
    assert_eq!(c.test, [1, 3]);
    assert_eq!(c.checksums.len(), 3);
}

#[test]
fn bad_corpora_get_errors_that_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ptb.train.txt"), " a b \n").unwrap();
    std::fs::write(dir.path().join("ptb.valid.txt"), " a zebra \n").unwrap();
    let err = load_text("text", &DataSource::Dir(dir.path().to_owned())).unwrap_err().to_string();
    assert!(err.contains("ptb.test.txt"), "{err}");
    std::fs::write(dir.path().join("ptb.test.txt"), " a \n").unwrap();
    let err = load_text("text", &DataSource::Dir(dir.path().to_owned())).unwrap_err().to_string();
    assert!(err.contains("ptb.valid.txt") && err.contains("line 1") && err.contains("zebra"), "{err}");
    // Under the name `ptb`, files that are not the real PTB fail their checksum.
    std::fs::write(dir.path().join("ptb.valid.txt"), " a b \n").unwrap();
    let err = load_text("ptb", &DataSource::Dir(dir.path().to_owned())).unwrap_err().to_string();
    assert!(err.contains("ptb.train.txt") && err.contains("checksum"), "{err}");
    std::fs::write(dir.path().join("ptb.test.txt"), [0xff, 0xfe, b'\n']).unwrap();
    let err = load_text("text", &DataSource::Dir(dir.path().to_owned())).unwrap_err().to_string();
    assert!(err.contains("ptb.test.txt") && err.contains("UTF-8"), "{err}");
}

#[test]
fn recipes_follow_section_4_1() {
    let small = ptb::experiment("ptb-small").unwrap();
    let lrs: Vec<f64> = (1..=7).map(|e| small.lr(e)).collect();
    assert_eq!(lrs, [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]);
    let medium = ptb::experiment("ptb-medium").unwrap();
    assert_eq!(medium.lr(6), 1.0);
    assert!((medium.lr(8) - 1.0 / 1.44).abs() < 1e-12);
    let large = ptb::experiment("ptb-large").unwrap();
    assert_eq!((large.unroll, large.model.hidden, large.epochs, large.max_grad_norm), (35, 1500, 55, Some(10.0)));
    // Parameters with the 10,000-word vocabulary: embedding + 2 LSTM layers (two biases per gate,
    // as main.lua) + softmax layer. The large model's 66,034,000 is the "66M" others quote.
    let count = |h: usize| 10_000 * h + 2 * 4 * (2 * h * h + 2 * h) + h * 10_000 + 10_000;
    assert_eq!((count(200), count(650), count(1500)), (4_653_200, 19_780_400, 66_034_000));
    let model = ptb::LanguageModel::new(&small.model, 10_000, &burn::tensor::Device::flex());
    assert_eq!(model.param_count(), count(200));
}

#[test]
fn streams_cut_the_corpus_like_main_lua() {
    let words: Vec<u32> = (0..103).collect();
    let rows = ptb::streams(&words, 20);
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r.len() == 5));
    assert_eq!(rows[1], [5, 6, 7, 8, 9]);
}

/// The smoke run's configuration: a 48-unit model on the generated corpus, 3 epochs.
fn smoke_config() -> ptb::PtbConfig {
    let overrides: Vec<String> = ["dataset=text", "model.hidden=48", "batch_size=8", "unroll=10", "epochs=3", "decay.after_epoch=2", "model.dropout=0.0"].iter().map(|s| s.to_string()).collect();
    ptb::experiment("ptb-small").unwrap().with_overrides(&overrides).unwrap()
}

fn smoke_corpus(dir: &Path) -> repro_common::data::text::Corpus {
    write_corpus(dir, [24000, 2000, 2000]);
    load_text("text", &DataSource::Dir(dir.to_owned())).unwrap()
}

/// Trains the smoke run with `seed` on `threads` compute threads into `run_dir`.
fn smoke_run(corpus: &repro_common::data::text::Corpus, config: &ptb::PtbConfig, seed: u64, threads: usize, run_dir: &Path, resume: bool) -> ptb::PtbManifest {
    let selected = device::select("cpu", "flex").unwrap();
    std::fs::create_dir_all(run_dir).unwrap();
    repro_tests::with_compute_threads(threads, || ptb::train(PtbSpec { config, seed, selected: &selected, corpus, run_dir: run_dir.to_owned(), resume, command: "test".into() }).unwrap())
}

/// Final validation perplexity of the smoke run at seeds 1–6, measured by
/// `calibrate_smoke_training` (below) on a 2-core AMD EPYC (Zen 4, AVX-512) at 1 and 2 compute
/// threads: the two thread counts gave the same perplexity to the last digit at every seed, so the
/// band rests on the six seeds (a repeated number is not another draw). The kernel switch has no
/// op here (no convolution, batch norm or pooling in the LSTM).
const SMOKE_VALID_PPL_SEEDS: [f64; 6] = [7.314, 7.415, 7.378, 7.379, 7.355, 7.399];
const SMOKE_CALIBRATED: &str = "seeds 1–6, each the same at 1 and 2 compute threads, on a 2-core AMD EPYC with AVX-512";

/// Smoke training on a generated corpus in the PTB layout, at 1 and 2 compute threads: the
/// final validation perplexity must lie in the seeds' prediction interval (another CPU or thread
/// count acts like another seed; a unigram model of this 32-word corpus sits near 30, an
/// untrained one at 32), and the training perplexity must fall from epoch to epoch.
#[test]
fn smoke_training_on_a_generated_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = smoke_corpus(dir.path());
    let config = smoke_config();
    let gate = repro_common::gate::Gate::predicted("PTB smoke: final validation perplexity (seed 1)", &SMOKE_VALID_PPL_SEEDS, 0.0, SMOKE_CALIBRATED, true);
    for threads in repro_tests::THREAD_COUNTS {
        let run_dir = dir.path().join(format!("run-{threads}"));
        let m = smoke_run(&corpus, &config, 1, threads, &run_dir, false);
        let rows = ptb::load_metrics(&run_dir).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[2].train_perplexity < rows[1].train_perplexity && rows[1].train_perplexity < rows[0].train_perplexity, "{rows:?}");
        let last = m.body.final_metrics.unwrap();
        if let Err(e) = gate.check(last.valid_perplexity) {
            panic!("{e} [{threads} compute thread(s); {rows:?}; {}]", repro_tests::on_this_machine());
        }
    }
}

/// Resume from the last checkpoint with one more epoch: continues, keeps the earlier rows.
#[test]
fn a_resumed_smoke_run_keeps_its_rows_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = smoke_corpus(dir.path());
    let config = smoke_config().with_overrides(&["epochs=2".into()]).unwrap();
    let run_dir = dir.path().join("run");
    smoke_run(&corpus, &config, 1, 2, &run_dir, false);
    let rows = ptb::load_metrics(&run_dir).unwrap();
    let more = config.with_overrides(&["epochs=3".into()]).unwrap();
    let mut manifest: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(run_dir.join("manifest.yaml")).unwrap()).unwrap();
    manifest["config"] = serde_yaml_ng::to_value(&more).unwrap();
    std::fs::write(run_dir.join("manifest.yaml"), serde_yaml_ng::to_string(&manifest).unwrap()).unwrap();
    smoke_run(&corpus, &more, 1, 2, &run_dir, true);
    let rows2 = ptb::load_metrics(&run_dir).unwrap();
    assert_eq!(rows2.len(), 3);
    assert_eq!(rows2[..2], rows[..]);
}

/// Prints what the smoke gate rests on: the final validation perplexity over seeds 1–6 at 1 and
/// 2 compute threads (`SMOKE_VALID_PPL_SEEDS` holds the distinct numbers).
#[test]
#[ignore = "calibration: run with --ignored --nocapture to re-derive the smoke gate"]
fn calibrate_smoke_training() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = smoke_corpus(dir.path());
    let config = smoke_config();
    let ppl = |seed: u64, threads: usize| smoke_run(&corpus, &config, seed, threads, &dir.path().join(format!("s{seed}-t{threads}")), false).body.final_metrics.unwrap().valid_perplexity;
    let values: Vec<f64> = (1..=6).flat_map(|s| repro_tests::THREAD_COUNTS.map(|t| ppl(s, t))).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt();
    println!("PTB smoke valid perplexity, seeds 1-6 × threads {:?}: {values:?}, mean {mean:.3}, sd {sd:.3}; {}", repro_tests::THREAD_COUNTS, repro_tests::on_this_machine());
}
