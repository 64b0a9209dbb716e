//! Shared helpers for the workspace's snapshot, regression and bad-input tests (`tests/tests/`).

pub mod own_step;
pub mod trajectory;

use std::path::{Path, PathBuf};

use repro_common::config::ExperimentConfig;
use repro_common::data::{self, DataSource, Dataset};
use repro_common::device::{self, Selected};
use repro_common::engine::TrainSpec;
use repro_common::paper::ImagePaper;
use repro_common::records::Manifest;

/// The repository root (for committed records).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// The committed state of `results/` and `README.md`, laid out in a temporary folder: what git's
/// index holds (the checked-out commit plus whatever was `git add`ed), not the working tree. The
/// README's first command adds seed-1 runs under `results/lenet/` and regenerates the LeNet
/// write-up there; a user's runs are not what the committed tables and write-ups must match.
/// Outside a git checkout (a source archive) the working tree is what was shipped, and is used.
pub struct Committed {
    _scratch: Option<tempfile::TempDir>,
    root: PathBuf,
}

impl Committed {
    /// Lays out the committed files (about 200, a few MB).
    pub fn load() -> Self {
        let repo = repo_root();
        let in_git = std::process::Command::new("git").arg("-C").arg(&repo).args(["rev-parse", "--is-inside-work-tree"]).output().is_ok_and(|o| o.status.success());
        if !in_git {
            return Self { _scratch: None, root: repo };
        }
        let scratch = tempfile::tempdir().expect("a scratch folder");
        // `checkout-index --prefix` writes each listed index entry under the prefix.
        let prefix = format!("{}/", scratch.path().display());
        let listed = std::process::Command::new("git").arg("-C").arg(&repo).args(["ls-files", "-z", "--", "results", "README.md"]).output().expect("git ls-files runs");
        assert!(listed.status.success(), "git ls-files: {}", String::from_utf8_lossy(&listed.stderr));
        let mut child = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["checkout-index", "-z", "--stdin", "--prefix", &prefix])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("git checkout-index runs");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &listed.stdout).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success(), "git checkout-index of results/ and README.md failed");
        Self { root: scratch.path().to_owned(), _scratch: Some(scratch) }
    }

    /// The committed `results/`.
    pub fn results(&self) -> PathBuf {
        self.root.join("results")
    }

    /// The committed `README.md`.
    pub fn readme(&self) -> String {
        let path = self.root.join("README.md");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

pub fn cpu() -> Selected {
    device::select("cpu", "flex").expect("flex is built in")
}

pub fn sample() -> Dataset {
    data::load("mnist-sample", &DataSource::Auto).expect("the bundled sample loads")
}

/// A shipped recipe with overrides applied.
pub fn recipe(paper: &dyn ImagePaper, name: &str, overrides: &[&str]) -> ExperimentConfig {
    let base = paper.experiments().into_iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no experiment {name}"));
    base.with_overrides(&overrides.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid overrides")
}

/// burn's flex backend seeds one process-wide generator, so two trainings running at once in the
/// same process (as parallel tests do) would draw from each other's stream. The harness trains
/// one run at a time; tests take this lock to do the same. The kernel switch
/// ([`repro_common::kernels::use_kernels`]) is process-wide too, and only changed under it.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Trains `config` with `seed` into `run_dir`, one training at a time, on the default path: the
/// project's kernels, on the compute threads of the calling context.
pub fn train(paper: &dyn ImagePaper, config: &ExperimentConfig, seed: u64, dataset: &Dataset, run_dir: &Path, resume: bool, stop_after: Option<usize>) -> Manifest {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    train_unlocked(paper, config, seed, dataset, run_dir, resume, stop_after)
}

fn train_unlocked(paper: &dyn ImagePaper, config: &ExperimentConfig, seed: u64, dataset: &Dataset, run_dir: &Path, resume: bool, stop_after: Option<usize>) -> Manifest {
    std::fs::create_dir_all(run_dir).unwrap();
    let selected = cpu();
    let spec = TrainSpec { config, seed, selected: &selected, dataset, run_dir: run_dir.to_owned(), resume, command: "test".into(), stop_after_epoch: stop_after };
    paper.train(spec).expect("training runs")
}

/// Runs `f` with burn-flex's kernels on a pool of `threads` compute threads (rayon's global pool
/// is fixed per process; an installed pool replaces it for everything `f` runs). Reductions are
/// split by this count, so 1 and 2 threads can give different last bits.
pub fn with_compute_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a compute pool").install(f)
}

/// This machine as a failed gate names it: CPU, threads and the SIMD features that choose
/// kernels (`harness machine` prints the whole of it).
pub fn on_this_machine() -> String {
    format!("on {}, {}", device::cpu_description(), device::cpu_features())
}

/// The thread counts every training gate is checked at: CI machines have 1 or 2 cores free.
pub const THREAD_COUNTS: [usize; 2] = [1, 2];

/// One numerical path a CPU training step can take: whose kernels compute it and on how many
/// threads. Another CPU takes another path (gemm's k-blocks follow the L1d, so a 48K 12-way one
/// sums long products in another order than a 32K 8-way one; burn-flex's SIMD level follows the
/// CPU's features), and for a training run another path acts like another seed: the trajectories
/// part after a few steps. One machine reaches four paths of its own (and another L1d through
/// `tests/with-cache-geometry`); a gate is calibrated over seeds × these, so that it holds on a
/// CPU nobody calibrated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumericalPath {
    pub kernels: repro_common::kernels::Kernels,
    pub threads: usize,
}

impl std::fmt::Display for NumericalPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kernels = match self.kernels {
            repro_common::kernels::Kernels::Project => "project's kernels",
            repro_common::kernels::Kernels::Burn => "burn's kernels",
        };
        write!(f, "{kernels}, {} thread{}", self.threads, if self.threads == 1 { "" } else { "s" })
    }
}

/// The paths calibrations run over: both kernel sets at 1 and 2 compute threads.
pub const NUMERICAL_PATHS: [NumericalPath; 4] = {
    use repro_common::kernels::Kernels::{Burn, Project};
    [NumericalPath { kernels: Project, threads: 1 }, NumericalPath { kernels: Project, threads: 2 }, NumericalPath { kernels: Burn, threads: 1 }, NumericalPath { kernels: Burn, threads: 2 }]
};

/// [`train`] on `path`: its kernels switched on for this training only (under the lock that keeps
/// trainings one at a time), on a pool of its threads.
#[allow(clippy::too_many_arguments)]
pub fn train_on(path: NumericalPath, paper: &dyn ImagePaper, config: &ExperimentConfig, seed: u64, dataset: &Dataset, run_dir: &Path, resume: bool, stop_after: Option<usize>) -> Manifest {
    use repro_common::kernels::{Kernels, use_kernels};
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            use_kernels(Kernels::Project);
        }
    }
    let _restore = Restore;
    use_kernels(path.kernels);
    with_compute_threads(path.threads, || train_unlocked(paper, config, seed, dataset, run_dir, resume, stop_after))
}

/// Writes learnable CIFAR-10 binary batches into `dir` ([`repro_common::data::cifar::write_pattern_batches`]).
pub fn write_cifar10(dir: &Path, per_batch: usize, test: usize, seed: u64) {
    repro_common::data::cifar::write_pattern_batches(dir, per_batch, test, seed).unwrap();
}

/// Writes a JPEG of `w × h` filled with `rgb` (a gradient on top keeps the encoder honest).
pub fn write_jpeg(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    let img = image::RgbImage::from_fn(w, h, |x, _| {
        let shade = (x * 20 / w.max(1)) as u8;
        image::Rgb([rgb[0].saturating_sub(shade), rgb[1].saturating_sub(shade), rgb[2].saturating_sub(shade)])
    });
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, image::ImageFormat::Jpeg).unwrap();
}

/// A tiny ImageNet: three synsets created out of order, class colours green / red / blue in the
/// sorted order n01000000, n02000000, n03000000.
pub fn imagenet_tree(root: &Path, val_layout: &str) {
    let classes = [("n02000000", [220, 30, 30]), ("n01000000", [30, 220, 30]), ("n03000000", [30, 30, 220])];
    let mut labels = String::from("ImageId,PredictionString\n");
    let mut plain = String::new();
    for (k, (wnid, rgb)) in classes.iter().enumerate() {
        for i in 0..3 {
            write_jpeg(&root.join(format!("train/{wnid}/{wnid}_{i}.JPEG")), 300 + 40 * i, 260, *rgb);
        }
        let name = format!("ILSVRC2012_val_0000000{}", k + 1);
        match val_layout {
            "folders" => write_jpeg(&root.join(format!("val/{wnid}/{name}.JPEG")), 280, 350, *rgb),
            _ => write_jpeg(&root.join(format!("val/{name}.JPEG")), 280, 350, *rgb),
        }
        labels.push_str(&format!("{name},{wnid} 10 20 100 200\n"));
        plain.push_str(&format!("{name}.JPEG {wnid}\n"));
    }
    match val_layout {
        "csv" => std::fs::write(root.join("LOC_val_solution.csv"), labels).unwrap(),
        "txt" => std::fs::write(root.join("val_labels.txt"), plain).unwrap(),
        _ => {}
    }
}

/// A model's tensors as PyTorch names them (`name 64x3x7x7`, sorted): what a state dict must
/// hold for a weight import to find everything.
pub fn pytorch_tensors<M: burn::store::ModuleSnapshot>(model: &M) -> Vec<String> {
    let mut names: Vec<String> = model
        .collect(None, Some(Box::new(burn::store::BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|t| format!("{} {}", t.name, t.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")))
        .collect();
    names.sort();
    names
}

/// Little-endian float32 values of a golden file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// Every parameter's gradient in `grads` by parameter path (`c1.weight`), in the module's
/// order, as f64; parameters without one are left out.
pub fn named_gradients<M: burn::module::Module>(module: &M, grads: &burn::optim::GradientsParams) -> Vec<(String, Vec<f64>)> {
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::Tensor;
    struct Collect<'a> {
        grads: &'a burn::optim::GradientsParams,
        path: Vec<String>,
        out: Vec<(String, Vec<f64>)>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.out.push((self.path.join("."), g.to_data().convert::<f64>().try_to_vec::<f64>().unwrap()));
            }
        }
    }
    let mut collect = Collect { grads, path: Vec::new(), out: Vec::new() };
    module.visit(&mut collect);
    collect.out
}
