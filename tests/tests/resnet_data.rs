//! The CIFAR and ImageNet data layers on small files written here in the exact real formats.

use std::path::Path;

use repro_common::config::DataConfig;
use repro_common::data::imagenet::{FolderPreprocess, ImageFolder};
use repro_common::data::source::{build_batch, for_each_batch};
use repro_common::data::{self, DataError, DataSource};
use repro_tests::{imagenet_tree, write_cifar10};

fn load(name: &str, dir: &Path) -> Result<data::Dataset, DataError> {
    data::load(name, &DataSource::Dir(dir.to_owned()))
}

fn cifar_data(train_split: &str, eval_split: &str) -> DataConfig {
    serde_yaml_ng::from_str(&format!(
        "dataset: cifar10-layout\ntrain_split: \"{train_split}\"\neval_split: \"{eval_split}\"\npreprocess:\n  pixel_range: [0.0, 1.0]\n  subtract_mean: per_pixel\n  random_crop_padding: 4\n  horizontal_flip: true\n"
    ))
    .unwrap()
}

#[test]
fn cifar10_binary_batches_load_with_planes_and_labels_in_order() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(&dir.path().join("cifar-10-batches-bin"), 4, 6, 1);
    let ds = load("cifar10-layout", dir.path()).unwrap();
    let train = ds.split("train").unwrap();
    assert_eq!((train.len(), ds.split_len("test"), train.channels, train.rows, train.cols), (20, 6, 3, 32, 32));
    // Labels in file order across the five batch files; pixels are the R, G, B planes as stored.
    assert_eq!(train.labels[..12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    let raw = std::fs::read(dir.path().join("cifar-10-batches-bin/data_batch_2.bin")).unwrap();
    assert_eq!(train.image(4), &raw[1..3073], "first record of the second file, label byte skipped");
    assert_eq!(ds.checksums.len(), 6, "every file's SHA-256 goes into the manifest");
}

#[test]
fn the_official_cifar10_insists_on_the_official_sizes() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 2, 2, 1);
    let err = load("cifar10", dir.path()).unwrap_err().to_string();
    assert!(err.contains("50000") || err.contains("50,000") || err.contains("official"), "{err}");
    assert!(err.contains("cifar10-layout"), "says what to use instead: {err}");
}

#[test]
fn truncated_and_corrupt_cifar_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 2, 2, 1);
    let path = dir.path().join("data_batch_3.bin");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = load("cifar10-layout", dir.path()).unwrap_err().to_string();
    assert!(err.contains("data_batch_3.bin") && err.contains("truncated"), "{err}");

    let mut bad = bytes.clone();
    bad[0] = 42; // label 42 of 10 classes
    std::fs::write(&path, &bad).unwrap();
    let err = load("cifar10-layout", dir.path()).unwrap_err().to_string();
    assert!(err.contains("data_batch_3.bin") && err.contains("label 42"), "{err}");

    std::fs::remove_file(&path).unwrap();
    let err = load("cifar10-layout", dir.path()).unwrap_err().to_string();
    assert!(err.contains("data_batch_3.bin"), "{err}");
}

#[test]
fn cifar_archives_are_read_and_checked_against_the_published_md5() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    write_cifar10(&files.join("cifar-10-batches-bin"), 3, 3, 2);
    let archive = dir.path().join("cifar-10-binary.tar.gz");
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&archive).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("cifar-10-batches-bin", files.join("cifar-10-batches-bin")).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let ds = load("cifar10-layout", dir.path()).unwrap();
    assert_eq!(ds.split_len("train"), 15);
    // The official name verifies the archive: this one is not the published file.
    let err = load("cifar10", dir.path()).unwrap_err().to_string();
    assert!(err.contains("MD5") && err.contains("cifar-10-binary.tar.gz") && err.contains("c32a1d4ab5d03f1284b67883e8d87530"), "{err}");
}

#[test]
fn cifar100_uses_the_fine_label() {
    let dir = tempfile::tempdir().unwrap();
    let record = |coarse: u8, fine: u8| {
        let mut r = vec![coarse, fine];
        r.extend(std::iter::repeat_n(7u8, 3072));
        r
    };
    let train: Vec<u8> = [record(1, 99), record(2, 42)].concat();
    std::fs::write(dir.path().join("train.bin"), &train).unwrap();
    std::fs::write(dir.path().join("test.bin"), record(3, 5)).unwrap();
    let ds = load("cifar100-layout", dir.path()).unwrap();
    assert_eq!(ds.split("train").unwrap().labels, vec![99, 42]);
    assert_eq!(ds.class_names.len(), 100);
}

#[test]
fn the_45k_5k_split_is_a_range_of_the_training_set() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 4, 2, 3);
    let ds = load("cifar10-layout", dir.path()).unwrap();
    let train = ds.split("train").unwrap();
    let (head, tail) = (ds.split("train[:15]").unwrap(), ds.split("train[15:]").unwrap());
    assert_eq!((head.len(), tail.len()), (15, 5));
    assert_eq!(tail.image(0), train.image(15));
    for bad in ["train[15:15]", "train[:99]", "valid", "train[a:]"] {
        let err = ds.split(bad).unwrap_err().to_string();
        assert!(err.contains(bad), "{err}");
    }
    // The shipped validation recipe uses exactly this mechanism.
    let (t, v) = ds.sources(&cifar_data("train[:15]", "train[15:]")).unwrap();
    assert_eq!((t.len(), v.len()), (15, 5));
}

#[test]
fn cifar_augmentation_crops_flips_and_subtracts_the_training_mean() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 2, 2, 4);
    let ds = load("cifar10-layout", dir.path()).unwrap();
    let (train, eval) = ds.sources(&cifar_data("train", "test")).unwrap();
    let set = ds.split("train").unwrap();
    // The per-pixel mean of the training set, in [0, 1] units.
    let mean0: f32 = (0..set.len()).map(|i| set.image(i)[0] as f32 / 255.0).sum::<f32>() / set.len() as f32;
    let mut plain = vec![0f32; 3 * 32 * 32];
    let label = train.write(0, &mut plain, None).unwrap();
    assert_eq!(label, set.labels[0] as usize);
    assert!((plain[0] - (set.image(0)[0] as f32 / 255.0 - mean0)).abs() < 1e-5, "the single original view, mean subtracted");
    // Training views: shifted by up to 4 pixels (zero padding after the mean), sometimes mirrored;
    // always the same for the same (seed, epoch, item).
    let batch = |seed, epoch| build_batch(train.as_ref(), &[0, 1, 2], Some((seed, epoch))).unwrap().images;
    assert_eq!(batch(1, 1), batch(1, 1));
    assert_ne!(batch(1, 1), batch(1, 2));
    // Every training view is the plain view shifted by (dy, dx) ∈ [-4, 4]² with zeros outside,
    // possibly mirrored; over 40 epochs both flips and several shifts occur.
    let candidate = |dy: isize, dx: isize, flip: bool| -> Vec<f32> {
        (0..32isize)
            .flat_map(|r| (0..32isize).map(move |c| (r, c)))
            .map(|(r, c)| {
                let sc = if flip { 31 - c } else { c };
                let (y, x) = (r + dy, sc + dx);
                if (0..32).contains(&y) && (0..32).contains(&x) { plain[(y * 32 + x) as usize] } else { 0.0 }
            })
            .collect()
    };
    let mut seen = std::collections::BTreeSet::new();
    for epoch in 1..40 {
        let v = build_batch(train.as_ref(), &[0], Some((1, epoch))).unwrap().images;
        let found = (-4..=4isize).flat_map(|dy| (-4..=4isize).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)])).find(|&(dy, dx, flip)| candidate(dy, dx, flip)[..] == v[..1024]);
        let found = found.unwrap_or_else(|| panic!("epoch {epoch}: the view is no shift or mirror of the image"));
        seen.insert(found);
    }
    assert!(seen.iter().any(|s| s.2) && seen.iter().any(|s| !s.2), "both mirrored and plain views: {seen:?}");
    assert!(seen.len() > 20, "many different crops: {seen:?}");
    // Evaluation never augments.
    let mut e1 = vec![0f32; 3072];
    eval.write(0, &mut e1, None).unwrap();
    assert_eq!(eval.views(), 1);
}

#[test]
fn batches_are_the_same_whatever_the_number_of_loader_threads() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 10, 2, 5);
    let ds = load("cifar10-layout", dir.path()).unwrap();
    let (train, _) = ds.sources(&cifar_data("train", "test")).unwrap();
    let order: Vec<usize> = (0..50).rev().collect();
    let chunks: Vec<&[usize]> = order.chunks(7).collect();
    let collect = |threads| {
        let mut out = Vec::new();
        for_each_batch::<DataError>(train.as_ref(), &chunks, Some((9, 3)), threads, 2, |b, batch| {
            out.push((b, batch.labels, batch.images));
            Ok(true)
        })
        .unwrap();
        out
    };
    let one = collect(1);
    assert_eq!(one.len(), 8);
    assert_eq!(one, collect(3));
    assert_eq!(one[0].1, vec![9, 8, 7, 6, 5, 4, 3], "batches in order, items in the order given");
}

fn folder_setup(eval_crops: usize) -> FolderPreprocess {
    FolderPreprocess { crop: 224, train_scale: [256, 480], horizontal_flip: true, color_pca_std: Some(0.1), mean: [0.0; 3], std: [1.0; 3], eval_resize: 256, protocol: None, eval_crops }
}

fn imagenet_data(eval_crops: usize) -> DataConfig {
    DataConfig {
        dataset: "imagenet".into(),
        train_split: "train".into(),
        eval_split: "val".into(),
        train_limit: None,
        eval_limit: None,
        preprocess: Default::default(),
        folder: Some(folder_setup(eval_crops)),
        distortion: None,
    }
}

/// Mean colour of one view, as [r, g, b].
fn mean_rgb(view: &[f32]) -> [f32; 3] {
    let plane = view.len() / 3;
    std::array::from_fn(|c| view[c * plane..(c + 1) * plane].iter().sum::<f32>() / plane as f32)
}

fn dominant(view: &[f32]) -> usize {
    let m = mean_rgb(view);
    (0..3).max_by(|&a, &b| m[a].total_cmp(&m[b])).unwrap()
}

#[test]
fn imagenet_classes_are_the_sorted_synsets_and_val_labels_follow_them() {
    for layout in ["folders", "csv", "txt"] {
        let dir = tempfile::tempdir().unwrap();
        imagenet_tree(dir.path(), layout);
        let ds = load("imagenet", dir.path()).unwrap();
        assert_eq!(ds.class_names, vec!["n01000000", "n02000000", "n03000000"], "{layout}");
        let (train, val) = ds.sources(&imagenet_data(1)).unwrap();
        assert_eq!((train.len(), val.len()), (9, 3), "{layout}");
        // Class k's images have colour k (green, red, blue → channel 1, 0, 2): a wrong order
        // would pair images with other classes' labels.
        let colour_of_class = [1, 0, 2];
        for source in [&train, &val] {
            for i in 0..source.len() {
                let mut out = vec![0f32; source.views() * 3 * 224 * 224];
                let label = source.write(i, &mut out, None).unwrap();
                assert_eq!(dominant(&out[..3 * 224 * 224]), colour_of_class[label], "{layout} item {i} label {label}");
            }
        }
        assert!(ds.checksums.keys().any(|k| k.contains("val")), "file-list fingerprints for the manifest");
    }
}

#[test]
fn numeric_or_missing_val_labels_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    imagenet_tree(dir.path(), "flat");
    // No label file: the devkit's numbering is named as the reason it is not used.
    std::fs::write(dir.path().join("ILSVRC2012_validation_ground_truth.txt"), "2\n1\n3\n").unwrap();
    let err = load("imagenet", dir.path()).unwrap_err().to_string();
    assert!(err.contains("devkit") && err.contains("val_labels.txt"), "{err}");
    // Numeric labels (the devkit and sorted orders differ) are ambiguous.
    std::fs::write(dir.path().join("val_labels.txt"), "ILSVRC2012_val_00000001.JPEG 65\n").unwrap();
    let err = load("imagenet", dir.path()).unwrap_err().to_string();
    assert!(err.contains("val_labels.txt") && err.contains("line 1") && err.contains("synset"), "{err}");
    // ImageNet is never downloaded: the message says how to prepare the folder.
    let err = data::load("imagenet", &DataSource::Auto).unwrap_err().to_string();
    assert!(err.contains("--data-dir") && err.contains("train/<wnid>"), "{err}");
}

#[test]
fn a_corrupt_jpeg_is_named_when_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    imagenet_tree(dir.path(), "folders");
    let bad = dir.path().join("train/n01000000/n01000000_1.JPEG");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..40]).unwrap();
    let ds = load("imagenet", dir.path()).unwrap();
    let (train, _) = ds.sources(&imagenet_data(1)).unwrap();
    let err = build_batch(train.as_ref(), &(0..9).collect::<Vec<_>>(), Some((1, 1))).unwrap_err().to_string();
    assert!(err.contains("n01000000_1.JPEG") && err.contains("decode"), "{err}");
}

#[test]
fn ten_crop_evaluation_writes_corners_centre_and_their_mirrors() {
    let dir = tempfile::tempdir().unwrap();
    imagenet_tree(dir.path(), "folders");
    let ds = load("imagenet", dir.path()).unwrap();
    let (_, val) = ds.sources(&imagenet_data(10)).unwrap();
    assert_eq!(val.views(), 10);
    let view = 3 * 224 * 224;
    let mut out = vec![0f32; 10 * view];
    val.write(0, &mut out, None).unwrap();
    // View 5 + i mirrors view i (the images shade left to right, so mirrors differ).
    for i in 0..5 {
        let (a, b) = (&out[i * view..(i + 1) * view], &out[(5 + i) * view..(6 + i) * view]);
        assert_ne!(a, b);
        for r in [0, 100, 223] {
            for c in [0, 50, 223] {
                assert_eq!(a[r * 224 + c], b[r * 224 + 223 - c], "view {i} row {r} col {c}");
            }
        }
    }
    // The one-crop view is the centre crop, the fifth of the ten.
    let (_, one) = ds.sources(&imagenet_data(1)).unwrap();
    let mut centre = vec![0f32; view];
    one.write(0, &mut centre, None).unwrap();
    assert_eq!(&centre[..], &out[4 * view..5 * view]);
}

#[test]
fn imagenet_training_views_are_random_but_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    imagenet_tree(dir.path(), "folders");
    let ds = load("imagenet", dir.path()).unwrap();
    let (train, _) = ds.sources(&imagenet_data(1)).unwrap();
    let batch = |epoch| build_batch(train.as_ref(), &[0, 4, 8], Some((5, epoch))).unwrap();
    let b = batch(1);
    assert_eq!(b.shape, [3, 3, 224, 224]);
    assert_eq!(b.images, batch(1).images);
    assert_ne!(b.images, batch(2).images, "scale, crop, flip and colour change between epochs");
    let folder = ImageFolder::open(dir.path()).unwrap();
    assert_eq!(folder.train.len(), 9);
}

/// The whole ImageNet path, end to end: the folder, the JPEG pipeline on loader threads, the
/// engine, 10-crop evaluation and the records, on the tiny tree at a 32-pixel crop.
#[test]
fn imagenet_training_runs_end_to_end_on_a_tiny_tree() {
    use repro_common::records::{RunStatus, load_metrics};
    let dir = tempfile::tempdir().unwrap();
    imagenet_tree(dir.path(), "csv");
    let ds = load("imagenet", dir.path()).unwrap();
    let config =
        repro_tests::recipe(&repro_resnet::ResnetPaper, "imagenet-resnet18", &["epochs=2", "batch_size=3", "data.folder.crop=32", "data.folder.train_scale=[36, 48]", "data.folder.eval_resize=36"]);
    assert_eq!(config.data.folder.as_ref().unwrap().eval_crops, 10, "Table 3's 10-crop protocol");
    let run = tempfile::tempdir().unwrap();
    let m = repro_tests::train(&repro_resnet::ResnetPaper, &config, 1, &ds, run.path(), false, None);
    assert_eq!((m.header.status, m.body.epochs_completed), (RunStatus::Complete, 2));
    let rows = load_metrics(run.path()).unwrap();
    assert!(rows.iter().all(|r| r.test_error_pct.is_finite() && r.train_loss.is_finite()), "{rows:?}");
    assert!(m.body.dataset_sha256.keys().any(|k| k.contains("file list")), "the manifest fingerprints the folder");
}

#[test]
fn grey_to_rgb_repeats_a_grey_image_into_three_identical_planes_and_refuses_colour() {
    // fashion32-resnet20's view: 28×28 grey padded to 32×32, the per-pixel mean subtracted, in
    // the three channels the CIFAR ResNets take.
    let sample = repro_tests::sample();
    let config = repro_tests::recipe(&repro_resnet::ResnetPaper, "fashion32-resnet20", &["data.dataset=mnist-sample"]);
    let (train, _) = sample.sources(&config.data).unwrap();
    assert_eq!(train.shape(), [3, 32, 32]);
    let batch = build_batch(train.as_ref(), &[0, 1], None).unwrap();
    let plane = 32 * 32;
    for image in batch.images.chunks(3 * plane) {
        assert_eq!(image[..plane], image[plane..2 * plane]);
        assert_eq!(image[..plane], image[2 * plane..]);
        assert!(image[..plane].iter().any(|&v| v != 0.0), "the digit is there");
    }
    // Colour images are refused, naming the key.
    let dir = tempfile::tempdir().unwrap();
    write_cifar10(dir.path(), 4, 4, 1);
    let cifar = load("cifar10-layout", dir.path()).unwrap();
    let mut data = cifar_data("train", "test");
    data.preprocess.grey_to_rgb = true;
    let err = cifar.sources(&data).err().expect("colour images are refused").to_string();
    assert!(err.contains("grey_to_rgb") && err.contains("3 channels"), "{err}");
}
