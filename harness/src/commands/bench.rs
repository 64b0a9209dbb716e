//! `harness bench`: training-step throughput of each model, the number that decides how long a
//! reproduction takes. Measured here, never asserted in tests.

use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use repro_common::bench::{BenchRecord, LoaderTiming, StepTiming};
use repro_common::config::ExperimentConfig;
use repro_common::device::{self, Selected};
use repro_common::engine::TrainSpec;
use repro_common::kernels;
use repro_common::paper::{ImagePaper, Paper};
use repro_common::records::{self, Provenance};

#[derive(Args)]
pub struct BenchArgs {
    /// Experiments to time (default: every image experiment); a paper id whose runs are not
    /// image epochs (trials on generated sequences) times that paper's default experiments.
    #[arg(long = "experiment", value_name = "NAME")]
    experiments: Vec<String>,
    /// Backends to compare (cpu only; repeatable).
    #[arg(long = "backend", value_enum, default_values_t = [crate::cli::Backend::Flex])]
    backends: Vec<crate::cli::Backend>,
    /// cpu, cuda, cuda:N, vulkan, vulkan:N, wgpu or wgpu:N.
    #[arg(long, default_value = "cpu", value_parser = crate::cli::parse_device, value_name = "DEVICE")]
    device: String,
    /// Batch size of the timed steps (default: the recipe's).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Images per timed epoch (one warm-up epoch runs first); default 4096 for 28×28 inputs,
    /// 1024 for CIFAR's 32×32×3, 32 for ImageNet's 224×224×3.
    #[arg(long)]
    images: Option<usize>,
    /// Time the ImageNet JPEG pipeline alone (decode, scale augmentation, crop, flip, colour;
    /// 1-crop and 10-crop evaluation) in images/s, on --data-dir or on generated JPEGs.
    #[arg(long)]
    loader: bool,
    /// ImageNet folder for --loader (train/<wnid>/*.JPEG); default: 256 generated 500×375 JPEGs.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Whose kernels to time a CPU training step with: the project's (its convolutions, batch
    /// norm and a paper's own fused step; see common/src/kernels.rs) or burn-flex's own ops and
    /// burn's autodiff graph; repeat to time both side by side in one run.
    #[arg(long = "kernels", alias = "conv", value_enum, default_values_t = [KernelsArg::Project])]
    kernels: Vec<KernelsArg>,
    /// Trial-based experiments (sequences generated on line): training sequences per thread.
    #[arg(long, default_value_t = 5000)]
    sequences: u64,
    /// Print the measurements without writing them as a record under `<results>/bench/` (the
    /// records are what write-ups and the README's throughput table are generated from).
    #[arg(long)]
    no_record: bool,
    /// Record the measurements of `harness/bench/pytorch_train_step.py` (JSON on this file, `-`
    /// for standard input) as a bench record; the script calls this itself.
    #[arg(long, value_name = "FILE")]
    record_pytorch: Option<std::path::PathBuf>,
}

/// `--kernels`: whose kernels compute every CPU training step (the `kernels` column).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelsArg {
    /// The project's: convolutions by im2col/col2im and gemm, batch norm in one pass each way,
    /// a paper's own fused step where it has one.
    Project,
    /// burn-flex 0.22.1's own ops and burn's autodiff graph throughout.
    Burn,
}

impl KernelsArg {
    fn kernels(self) -> kernels::Kernels {
        match self {
            KernelsArg::Project => kernels::Kernels::Project,
            KernelsArg::Burn => kernels::Kernels::Burn,
        }
    }
    fn name(self) -> &'static str {
        match self {
            KernelsArg::Project => "project",
            KernelsArg::Burn => "burn",
        }
    }
}

/// Times one-epoch trainings of synthetic data through the real engine, so the figure includes
/// batching, the optimizer step and the loss read-back, as a real run does.
pub fn run(args: &BenchArgs, all: &[&'static dyn Paper], results: &std::path::Path) -> Result<()> {
    if let Some(file) = &args.record_pytorch {
        return record_pytorch(file, results);
    }
    // What the record says of the machine and the tree, taken before anything is measured.
    let started = record();
    if args.loader {
        let rows = loader(args)?;
        return save(args, results, BenchRecord { loader: rows, ..started });
    }
    // Papers whose runs are not image epochs time their own experiments, when named.
    let mut handled = 0;
    for paper in all.iter().filter(|p| p.images().is_none()) {
        let names: Vec<String> = args.experiments.iter().filter(|e| paper.experiment_names().contains(e)).cloned().collect();
        let by_id = args.experiments.iter().any(|e| e == paper.id());
        if names.is_empty() && !by_id {
            continue;
        }
        println!("{}", paper.bench(&names, args.sequences)?);
        handled += names.len() + usize::from(by_id);
    }
    if handled > 0 && handled == args.experiments.len() {
        return Ok(());
    }
    let papers: Vec<&dyn ImagePaper> = all.iter().filter_map(|p| p.images()).collect();
    let mut rows = Vec::new();
    let mut timings = Vec::new();
    let tmp = std::env::temp_dir().join(format!("repro-bench-{}", std::process::id()));
    for paper in &papers {
        for recipe in paper.experiments() {
            if !args.experiments.is_empty() && !args.experiments.contains(&recipe.name) {
                continue;
            }
            if recipe.epochs == 0 {
                eprintln!("{}: evaluates imported weights, nothing to train; skipped", recipe.name);
                continue;
            }
            for backend in &args.backends {
                let selected = device::select(&args.device, backend.name())?;
                for choice in &args.kernels {
                    kernels::use_kernels(choice.kernels());
                    let t = time_recipe(*paper, &recipe, &selected, args.batch_size, args.images, &tmp.join(format!("{}-{backend}-{}", recipe.name, choice.name())))?;
                    timings.push(StepTiming {
                        experiment: recipe.name.clone(),
                        model: recipe.model.clone(),
                        backend: selected.backend.to_string(),
                        device: selected.name.to_string(),
                        kernels: choice.name().into(),
                        batch_size: t.batch_size,
                        images_per_epoch: t.images,
                        epoch_img_per_s: t.epoch_img_per_s.clone(),
                        wall_s: t.wall_s,
                    });
                    rows.push(format!(
                        "| `{}` | {} | {} / {} | {} | {} | {:.1} | {:.3} | {:.1} |",
                        recipe.name,
                        recipe.model,
                        selected.backend,
                        selected.name,
                        choice.name(),
                        t.batch_size,
                        t.img_per_s,
                        t.s_per_step,
                        t.wall_s
                    ));
                }
            }
        }
    }
    kernels::use_kernels(kernels::Kernels::Project);
    let _ = std::fs::remove_dir_all(&tmp);
    println!("Training throughput, second of two epochs of synthetic images of each recipe's input size (the first warms up); {}\n", device::cpu_description());
    println!("| experiment | model | backend / device | kernels | batch | train img/s | s per step | wall s (2 epochs + eval) |\n|---|---|---|---|---:|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
    if timings.is_empty() {
        return Ok(());
    }
    save(args, results, BenchRecord { train_steps: timings, ..started })
}

/// An empty record of this invocation: its time, command, commit and machine.
fn record() -> BenchRecord {
    BenchRecord { measured: records::now(), provenance: Provenance::capture(&crate::command_line()), train_steps: Vec::new(), loader: Vec::new(), beside_pytorch: Vec::new() }
}

/// Writes the record under `<results>/bench/`, unless `--no-record`.
fn save(args: &BenchArgs, results: &std::path::Path, record: BenchRecord) -> Result<()> {
    if args.no_record {
        return Ok(());
    }
    let path = repro_common::bench::write_record(results, &record)?;
    println!("\nrecorded: {} (`harness report PAPER` and `harness report readme` regenerate the tables from it)", path.display());
    Ok(())
}

/// What `pytorch_train_step.py` hands over: its command and each net's measurements.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PytorchMeasurements {
    command: String,
    rows: Vec<repro_common::bench::BesidePytorch>,
}

fn record_pytorch(file: &std::path::Path, results: &std::path::Path) -> Result<()> {
    use anyhow::Context;
    let text = if file == std::path::Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading the measurements from standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    // JSON is YAML: no JSON parser needed.
    let m: PytorchMeasurements = serde_yaml_ng::from_str(&text).with_context(|| format!("{} is not the JSON pytorch_train_step.py writes", file.display()))?;
    if m.rows.iter().any(|r| r.pytorch.is_empty() || r.harness_burn.is_empty() || r.harness_project.is_empty()) {
        bail!("{}: a row without measurements", file.display());
    }
    let record = BenchRecord { measured: records::now(), provenance: Provenance::capture(&m.command), beside_pytorch: m.rows, ..record() };
    let path = repro_common::bench::write_record(results, &record)?;
    println!("recorded: {}", path.display());
    Ok(())
}

/// One timed recipe: the second of two epochs of synthetic images of its input size.
pub struct Timing {
    pub batch_size: usize,
    pub images: usize,
    /// Training images per second of each epoch.
    pub epoch_img_per_s: Vec<f64>,
    pub img_per_s: f64,
    pub s_per_step: f64,
    /// Both epochs and their evaluations.
    pub wall_s: f64,
}

/// `[channels, rows, cols]`, classes and the default images per timed epoch of a recipe's data.
pub fn input_of(recipe: &ExperimentConfig) -> ([usize; 3], usize, usize) {
    match recipe.data.dataset.as_str() {
        d if d.starts_with("cifar100") => ([3, 32, 32], 100, 1024),
        d if d.starts_with("cifar") => ([3, 32, 32], 10, 1024),
        "imagenet" | "ilsvrc2010" => {
            let crop = recipe.data.folder.as_ref().map(|f| f.crop).unwrap_or(224);
            ([3, crop, crop], 1000, 32)
        }
        _ => ([1, 28, 28], 10, 4096),
    }
}

/// Trains `recipe` for two epochs on synthetic data of its input shape, in memory, through the
/// real engine (an ImageNet recipe times the training step alone; `harness bench --loader` times
/// its JPEG pipeline), so the figure includes batching, the optimizer step and the per-step
/// read-back, as a real run does.
pub fn time_recipe(paper: &dyn ImagePaper, recipe: &ExperimentConfig, selected: &Selected, batch_size: Option<usize>, images: Option<usize>, run_dir: &std::path::Path) -> Result<Timing> {
    let (shape, classes, default_n) = input_of(recipe);
    let n = images.unwrap_or(default_n);
    let ds = repro_common::data::synthetic(&recipe.data.dataset, classes, shape, n, n.min(256));
    let mut overrides = vec!["epochs=2".to_string(), "seeds=[1]".into()];
    match batch_size {
        Some(b) => overrides.push(format!("batch_size={b}")),
        None if recipe.batch_size > n => overrides.push(format!("batch_size={n}")),
        None => {}
    }
    let mut config = recipe.with_overrides(&overrides)?;
    config.max_iterations = None;
    config.data.train_split = "train".into();
    config.data.eval_split = "test".into();
    std::fs::create_dir_all(run_dir)?;
    let started = Instant::now();
    let spec = TrainSpec { config: &config, seed: 1, selected, dataset: &ds, run_dir: run_dir.to_owned(), resume: false, command: "bench".into(), stop_after_epoch: None };
    let manifest = paper.train(spec)?;
    let Some(last) = manifest.body.final_metrics else { bail!("bench run of {} did not finish", recipe.name) };
    let epoch_img_per_s = repro_common::records::load_metrics(run_dir)?.iter().map(|m| m.train_img_per_s).collect();
    Ok(Timing {
        batch_size: config.batch_size,
        images: n,
        epoch_img_per_s,
        img_per_s: last.train_img_per_s,
        s_per_step: config.batch_size as f64 / last.train_img_per_s,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// Images per second of the ImageNet loader alone: every item decoded and augmented on the
/// loader threads, batches assembled, nothing trained.
fn loader(args: &BenchArgs) -> Result<Vec<LoaderTiming>> {
    use repro_common::data::imagenet::{FolderPreprocess, FolderSource, ImageFolder};
    use repro_common::data::source::{ImageSource, for_each_batch, loader_threads};
    let tmp = tempfile_dir()?;
    let root = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            let n = args.images.unwrap_or(256);
            eprintln!("generating {n} JPEGs of 500×375 (ImageNet's typical size) in {}", tmp.display());
            generate_jpegs(&tmp, n)?;
            tmp.clone()
        }
    };
    let folder = std::sync::Arc::new(ImageFolder::open(&root)?);
    let setup = |crops| FolderPreprocess {
        crop: 224,
        train_scale: [256, 480],
        horizontal_flip: true,
        color_pca_std: Some(0.1),
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        eval_resize: 256,
        protocol: None,
        eval_crops: crops,
    };
    let limit = args.images.filter(|_| args.data_dir.is_some());
    let most = loader_threads();
    println!("ImageNet loader alone, {} images from {}; {}\n", folder.train.len().min(limit.unwrap_or(usize::MAX)), root.display(), device::cpu_description());
    println!("| pipeline | loader threads | images/s |\n|---|---:|---:|");
    let mut rows = Vec::new();
    for (label, training, crops) in
        [("train: decode, scale [256,480], crop 224, flip, PCA colour", true, 1), ("eval: decode, resize 256, centre crop", false, 1), ("eval: decode, resize 256, 10 crops", false, 10)]
    {
        let source = FolderSource::new(folder.clone(), "train", setup(crops), training, limit, None)?;
        let order: Vec<usize> = (0..source.len()).collect();
        let chunks: Vec<&[usize]> = order.chunks(32).collect();
        let mut counts = vec![1, most];
        counts.dedup();
        for threads in counts {
            let started = Instant::now();
            let mut images = 0usize;
            for_each_batch::<anyhow::Error>(&source, &chunks, training.then_some((1, 1)), threads, 4, |_, b| {
                images += b.labels.len();
                Ok(true)
            })?;
            let seconds = started.elapsed().as_secs_f64();
            println!("| {label} | {threads} | {:.0} |", images as f64 / seconds);
            rows.push(LoaderTiming { pipeline: label.into(), threads, images, seconds });
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(rows)
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("repro-loader-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `n` JPEGs of 500×375 (smooth shapes plus noise, so they compress like photographs) in ten
/// synset folders, with a val/ folder so the tree opens as ImageNet.
fn generate_jpegs(root: &std::path::Path, n: usize) -> Result<()> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for i in 0..n {
        let wnid = format!("n{:08}", 1_000_000 + i % 10);
        let dir = root.join("train").join(&wnid);
        std::fs::create_dir_all(&dir)?;
        let (fx, fy) = (rng.random_range(0.01..0.05f32), rng.random_range(0.01..0.05f32));
        let img = image::RgbImage::from_fn(500, 375, |x, y| {
            let base = ((x as f32 * fx).sin() * 80.0 + (y as f32 * fy).cos() * 80.0 + 128.0) as i32;
            let noise = ((x * 7919 + y * 104_729 + i as u32 * 31) % 41) as i32 - 20;
            let v = |o: i32| (base + o + noise).clamp(0, 255) as u8;
            image::Rgb([v(0), v(30), v(-30)])
        });
        img.save_with_format(dir.join(format!("{wnid}_{i}.JPEG")), image::ImageFormat::Jpeg)?;
        if i < 10 {
            let val = root.join("val").join(&wnid);
            std::fs::create_dir_all(&val)?;
            img.save_with_format(val.join(format!("ILSVRC2012_val_{i:08}.JPEG")), image::ImageFormat::Jpeg)?;
        }
    }
    Ok(())
}
