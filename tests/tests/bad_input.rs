//! Bad input gets a clear error naming the file or key: missing, truncated or corrupt dataset
//! files, wrong magic numbers or checksums, bad YAML keys and values, unknown models and options.

use std::io::Write;
use std::path::Path;

use repro_common::config::ExperimentConfig;
use repro_common::data::{self, DataSource, idx, registry};
use repro_common::paper::ImagePaper;
use repro_lenet::LenetPaper;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A folder holding the bundled sample's four files, to be damaged one way or another.
fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in registry::MNIST_SAMPLE.files() {
        std::fs::copy(Path::new(registry::sample_dir()).join(f.name), dir.path().join(f.name)).unwrap();
    }
    dir
}

fn load_err(dir: &Path) -> String {
    data::load("mnist-sample", &DataSource::Dir(dir.to_owned())).unwrap_err().to_string()
}

#[test]
fn a_prepared_folder_loads_gzipped_or_unpacked() {
    let dir = sample_copy();
    let ds = data::load("mnist-sample", &DataSource::Dir(dir.path().to_owned())).unwrap();
    let train = ds.split("train").unwrap();
    assert_eq!((train.len(), ds.split_len("test"), train.rows, train.cols), (8000, 2000, 28, 28));
    // Unpacked copies (no .gz) verify against the decompressed checksum.
    let name = "t10k-labels-idx1-ubyte.gz";
    let raw = std::fs::read(dir.path().join(name)).unwrap();
    let mut unpacked = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut unpacked).unwrap();
    std::fs::remove_file(dir.path().join(name)).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), unpacked).unwrap();
    let again = data::load("mnist-sample", &DataSource::Dir(dir.path().to_owned())).unwrap();
    assert_eq!(again.split("test").unwrap().labels, ds.split("test").unwrap().labels);
    assert_eq!(again.checksums, ds.checksums, "the manifest records content checksums, whatever the compression");
}

#[test]
fn missing_file_names_the_file_and_the_fix() {
    let dir = sample_copy();
    std::fs::remove_file(dir.path().join("train-labels-idx1-ubyte.gz")).unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("train-labels-idx1-ubyte.gz") && e.contains("was not found in"), "{e}");
}

#[test]
fn truncated_gzip_is_reported_as_damaged() {
    let dir = sample_copy();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("train-images-idx3-ubyte.gz") && e.contains("damaged or truncated"), "{e}");
}

#[test]
fn truncated_idx_payload_is_reported_with_sizes() {
    let dir = sample_copy();
    let bytes = idx::encode_images(28, 28, &vec![0u8; 28 * 28 * 3]);
    let mut cut = bytes.clone();
    cut.truncate(bytes.len() - 100);
    // Announce 3 images but carry fewer bytes.
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), gz(&cut)).unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("t10k-images-idx3-ubyte.gz") && e.contains("truncated") && e.contains("3 images"), "{e}");
}

#[test]
fn wrong_magic_number_says_what_was_expected() {
    let dir = sample_copy();
    let labels = idx::encode_labels(&[1, 2, 3]);
    // A label file where an image file belongs.
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), gz(&labels)).unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("magic number 0x00000801") && e.contains("expected 0x00000803"), "{e}");
}

#[test]
fn wrong_checksum_names_both_checksums() {
    let dir = sample_copy();
    // A well-formed label file with different content.
    let labels = idx::encode_labels(&vec![7u8; 2000]);
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), gz(&labels)).unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("does not match the registry checksum") && e.contains(registry::MNIST_SAMPLE.test_labels.raw_sha256), "{e}");
}

#[test]
fn unknown_dataset_lists_the_known_ones() {
    let e = data::load("cifar-11", &DataSource::Auto).unwrap_err().to_string();
    assert!(e.contains("cifar-11") && e.contains("fashion-mnist"), "{e}");
}

#[test]
fn idx_parser_rejects_short_headers_and_bad_labels() {
    let e = idx::parse_images(&[0, 0, 8, 3, 0, 0], Path::new("x.idx")).unwrap_err().to_string();
    assert!(e.contains("x.idx") && e.contains("too short"), "{e}");
    let e = idx::parse_labels(&idx::encode_labels(&[1, 2])[..9], Path::new("y.idx")).unwrap_err().to_string();
    assert!(e.contains("y.idx") && e.contains("announces 2 labels"), "{e}");
}

fn lenet5_yaml() -> String {
    std::fs::read_to_string(repro_tests::repo_root().join("papers/lenet/experiments/lenet5.yaml")).unwrap()
}

#[test]
fn unknown_yaml_key_is_rejected_with_line_and_column() {
    let text = lenet5_yaml().replace("batch_size: 1\n", "batch_size: 1\nbatch_szie: 32\n");
    let e = ExperimentConfig::from_yaml(&text, "my.yaml").unwrap_err().to_string();
    assert!(e.contains("my.yaml") && e.contains("unknown field `batch_szie`") && e.contains("line"), "{e}");
    let nested = lenet5_yaml().replace("    pad: 2", "    pad: 2\n    padding: 4");
    let e = ExperimentConfig::from_yaml(&nested, "my.yaml").unwrap_err().to_string();
    assert!(e.contains("unknown field `padding`") && e.contains("line"), "{e}");
}

#[test]
fn bad_values_name_their_key() {
    for (from, to, key) in [
        ("epochs: 20", "epochs: -1", "epochs"),
        ("batch_size: 1\n", "batch_size: 0\n", "batch_size"),
        ("batch_size: 1\n", "batch_size: -3\n", "batch_size"),
        ("dataset: mnist", "dataset: mnits", "data.dataset"),
        ("[13, 1.0e-5]", "[13, -1.0]", "schedule.steps"),
        ("[1, 5.0e-4], [3, 2.0e-4]", "[3, 5.0e-4], [1, 2.0e-4]", "schedule.steps"),
    ] {
        let yaml = lenet5_yaml();
        assert!(yaml.contains(from), "the lenet5 recipe no longer contains `{from}`: update this test's edit");
        let e = ExperimentConfig::from_yaml(&yaml.replace(from, to), "r.yaml").unwrap_err().to_string();
        assert!(e.contains("r.yaml") && (e.contains(key) || e.contains("invalid value")), "{to}: {e}");
    }
}

#[test]
fn overrides_are_validated_like_files() {
    let base = (&LenetPaper as &dyn ImagePaper).experiment("lenet5").unwrap();
    assert_eq!(base.with_overrides(&["epochs=3".into()]).unwrap().epochs, 3);
    assert_eq!(base.with_overrides(&["data.dataset=fashion-mnist".into()]).unwrap().data.dataset, "fashion-mnist");
    for (bad, needle) in [("epochs", "KEY=VALUE"), ("epochz=3", "unknown field `epochz`"), ("epochs=many", "epochs"), ("data.datasett=x", "datasett"), ("batch_size=0", "batch_size")] {
        let e = base.with_overrides(&[bad.into()]).unwrap_err().to_string();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}

#[test]
fn unknown_model_and_option_are_named() {
    let ds = repro_tests::sample();
    let dir = tempfile::tempdir().unwrap();
    let selected = repro_tests::cpu();
    let base = (&LenetPaper as &dyn ImagePaper).experiment("lenet5").unwrap();
    let mut unknown_model = base.clone();
    unknown_model.model = "lenet7".into();
    let mut unknown_option = base;
    unknown_option.model_options.insert("map_k".into(), 1.0);
    let spec =
        |c| repro_common::engine::TrainSpec { config: c, seed: 1, selected: &selected, dataset: &ds, run_dir: dir.path().to_owned(), resume: false, command: String::new(), stop_after_epoch: None };
    let e = LenetPaper.train(spec(&unknown_model)).unwrap_err().to_string();
    assert!(e.contains("lenet7") && e.contains("lenet5-modern"), "{e}");
    let e = LenetPaper.train(spec(&unknown_option)).unwrap_err().to_string();
    assert!(e.contains("map_k") && e.contains("map_j"), "{e}");
    // Initial weight ranges that f32 cannot hold are errors naming the option, never a panic in
    // the uniform sampler.
    for (key, value, says) in [("init_range", -1.0, "must be positive"), ("init_fan_in_power", 30.0, "fan-in 400"), ("init_range", 1e39, "fan-in 4,")] {
        let mut bad = (&LenetPaper as &dyn ImagePaper).experiment("lenet5").unwrap();
        bad.model_options.insert(key.into(), value);
        let spec =
            repro_common::engine::TrainSpec { config: &bad, seed: 1, selected: &selected, dataset: &ds, run_dir: dir.path().to_owned(), resume: false, command: String::new(), stop_after_epoch: None };
        let e = LenetPaper.train(spec).unwrap_err().to_string();
        assert!(e.contains(key) && e.contains(says), "{key} = {value}: {e}");
    }
}

#[test]
fn resume_without_a_checkpoint_says_so() {
    let ds = repro_tests::sample();
    let dir = tempfile::tempdir().unwrap();
    let selected = repro_tests::cpu();
    let config = (&LenetPaper as &dyn ImagePaper).experiment("lenet5").unwrap();
    let spec =
        repro_common::engine::TrainSpec { config: &config, seed: 1, selected: &selected, dataset: &ds, run_dir: dir.path().to_owned(), resume: true, command: String::new(), stop_after_epoch: None };
    let e = LenetPaper.train(spec).unwrap_err().to_string();
    assert!(e.contains("nothing to resume"), "{e}");
}

#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    let e = repro_common::device::select("cuda:0", "flex").unwrap_err().to_string();
    assert!(e.contains("--features cuda"), "{e}");
    let e = repro_common::device::select("gpu", "flex").unwrap_err().to_string();
    assert!(e.contains("gpu") && e.contains("cuda:N"), "{e}");
    let e = repro_common::device::select("cpu", "torch").unwrap_err().to_string();
    assert!(e.contains("torch") && e.contains("ndarray"), "{e}");
}

#[test]
fn a_paper_optimiser_on_a_model_without_it_is_refused_before_training() {
    let paper: &dyn ImagePaper = &LenetPaper;
    let sdlm = "optimizer={kind: sdlm, mu: 0.02, hessian_samples: 500}".to_string();
    let paper_net = paper.experiment("lenet5-sgd").unwrap().with_overrides(std::slice::from_ref(&sdlm)).unwrap();
    assert_eq!(paper.check_recipe(&paper_net), Ok(()), "SDLM runs on the paper's net");
    let modern = paper.experiment("lenet5-modern").unwrap().with_overrides(&[sdlm]).unwrap();
    let e = paper.check_recipe(&modern).unwrap_err();
    assert!(e.contains("optimizer kind `sdlm`") && e.contains("model `lenet5-modern`"), "{e}");
}
