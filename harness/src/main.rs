//! `harness`: trains the papers' models, compares the numbers with the published ones, and
//! writes the records and write-ups under `results/`.

mod cli;
mod commands;

use commands::{bench, migrate, replay, smoke};

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use repro_common::data::{self, DataSource};
use repro_common::device::{self, Selected};
use repro_common::engine::{self, TrainSpec};
use repro_common::lifecycle::{Place, RunRequest, SeedChoice};
use repro_common::paper::{ImagePaper, Paper, Recipe};
use repro_common::records::{self, Manifest};
use repro_common::report;

/// Every paper the harness knows, in the order `list` and the README show them. A new paper
/// crate adds one line here (and its dependency in harness/Cargo.toml).
fn papers() -> Vec<&'static dyn Paper> {
    vec![&repro_lenet::LenetPaper, &repro_resnet::ResnetPaper, &repro_alexnet::AlexnetPaper, &repro_vgg::VggPaper, &repro_googlenet::GooglenetPaper, &repro_lstm::LstmPaper]
}

/// The papers of image classifiers (checkpoints to evaluate and export, parity, image benches).
fn image_papers() -> Vec<&'static dyn ImagePaper> {
    papers().into_iter().filter_map(|p| p.images()).collect()
}

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Reproduce classic deep-learning papers and check their published numbers",
    long_about = "Reproduce classic deep-learning papers and check their published numbers.\n\n\
Each paper ships its recipes (experiments) and its published claims. `train` runs an experiment and\n\
records it under results/<paper>/<experiment>/<dataset>/<run>/ (metrics.csv, manifest.yaml,\n\
checkpoints); `compare` and `report` turn the records into a paper-vs-ours verdict per claim."
)]
struct Cli {
    /// Where run records and write-ups go.
    #[arg(long, global = true, default_value = "results", value_name = "DIR")]
    results: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List papers, their models, experiments (recipes) and published claims.
    List,
    /// Print what decides this machine's CPU numbers: the CPU, the SIMD code burn-flex and gemm
    /// run, the caches gemm blocks by, the compute threads. The same seed can follow another
    /// trajectory where one of these differs: paste it beside a number you compare or report.
    Machine,
    /// Train one experiment (a shipped recipe or a YAML file) for one or more seeds.
    Train {
        /// Experiment name (see `harness list`); omit with --config.
        experiment: Option<String>,
        /// A recipe file to use instead of a shipped experiment.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Train every experiment of a paper, then print paper vs ours and write the report.
    Reproduce {
        /// Paper id (see `harness list`).
        paper: String,
        /// Run the paper's sample experiments on the bundled MNIST sample (a smoke-size check
        /// whose numbers are not comparable with the paper's).
        #[arg(long)]
        sample: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Evaluate imported weights (torchvision's .pth or .safetensors) with an experiment's
    /// evaluation protocol, and record the result as a run.
    #[command(name = "evaluate-pretrained")]
    EvaluatePretrained {
        /// Experiment naming the model and protocol (see `harness list`).
        experiment: String,
        /// The weights file: torchvision's `.pth`, or a `.safetensors` export of it.
        #[arg(long, value_name = "FILE")]
        weights: PathBuf,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Evaluate a run's latest checkpoint on its evaluation split.
    Eval {
        /// A run directory: results/<paper>/<experiment>/<dataset>/<run>.
        run_dir: PathBuf,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Write a run's trained model as PyTorch-layout safetensors, under PyTorch's names where the
    /// paper's net has a PyTorch twin (torchvision's), for PyTorch or timm's `validate.py`.
    Export {
        /// A run directory holding manifest.yaml and a checkpoint.
        run_dir: PathBuf,
        /// The file to write (default: RUN_DIR/model.safetensors).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Train recorded runs again (same recipe, seed and data) and check each final number against
    /// its record within a statistical gate; exits non-zero when one leaves its gate.
    #[command(long_about = "Train recorded runs again (same recipe, seed and data) and check each final number against its record.\n\n\
The gate is 3 standard errors of a record-vs-replay difference: for an error rate p on n evaluation\n\
items, 3 × √2 × √(p(1 − p)/n) (the same seed follows a slightly different trajectory on another CPU\n\
or thread count, so exact equality is not expected). A number outside its gate means the code no\n\
longer produces what the record says: re-make the record, or find the regression.")]
    Replay {
        /// Run directories (holding manifest.yaml), or folders above them to replay every run inside.
        #[arg(required = true, value_name = "RUN_DIR")]
        runs: Vec<PathBuf>,
        #[command(flatten)]
        place: PlaceArgs,
        /// Worker threads for records of independent trials; default: every core.
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
    /// Rewrite run records made by an older version in today's manifest layout (their numbers
    /// are untouched); records already current are left as they are.
    #[command(after_help = "Examples:\n  harness migrate                  every record under --results\n  harness migrate --results ~/old-results   records kept elsewhere")]
    Migrate {
        /// Run directories, or folders above them (default: --results).
        #[arg(value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Print the paper-vs-ours table from the records in --results.
    Compare {
        /// Paper id (see `harness list`).
        paper: String,
    },
    /// Regenerate results/<paper>/README.md (tables, curves, deviations) from the records, or
    /// with `readme` the "Results so far" section of README.md (the one beside --results).
    Report {
        /// Paper id (see `harness list`), or `readme` for README.md's generated results section.
        paper: String,
    },
    /// Print a model's layer table: output shapes and trainable parameters.
    Layers {
        /// Model name (see `harness list`).
        model: String,
    },
    /// Download a dataset into the cache and verify its checksums.
    Fetch {
        /// Dataset name: mnist, fashion-mnist, cifar10, cifar100 (mnist-sample is built in;
        /// ImageNet cannot be downloaded: pass --data-dir).
        dataset: String,
    },
    /// Measure training-step throughput (images/s) of each model on the chosen device.
    Bench(bench::BenchArgs),
    /// Check a device (a GPU above all) before trusting it with a reproduction: parity with the
    /// CPU, a short training, throughput and memory of the papers' nets, as tables.
    #[command(
        after_help = "Examples:\n  cargo build --release -p harness --features vulkan && target/release/harness smoke --device vulkan --out smoke.md\n  cargo build --release -p harness --features ndarray && target/release/harness smoke --device cpu --backend ndarray --quick     ndarray against flex"
    )]
    Smoke(smoke::SmokeArgs),
}

#[derive(Args, Clone)]
struct PlaceArgs {
    /// cpu, cuda, cuda:N, vulkan, vulkan:N, wgpu or wgpu:N (GPUs need a build with `--features
    /// cuda`, `vulkan` or `wgpu`).
    #[arg(long, default_value = "cpu", value_parser = cli::parse_device, value_name = "DEVICE")]
    device: String,
    /// CPU backend of --device cpu.
    #[arg(long, value_enum, default_value_t = cli::Backend::Flex)]
    backend: cli::Backend,
    /// Read dataset files from this folder instead of the download cache (offline machines).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Threads decoding and augmenting images ahead of the model (default: every core, at most
    /// 16; `$REPRO_LOADER_THREADS` also sets it).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// Images (crops, for multi-crop protocols) per evaluation batch: memory and speed only, the
    /// numbers do not change. The default, 1,000 views, is ~600 MB on the host at 224×224.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    eval_batch_size: Option<u32>,
}

#[derive(Args, Clone)]
struct RunArgs {
    #[command(flatten)]
    place: PlaceArgs,
    /// Dataset to train and evaluate on, overriding the recipe's (mnist, fashion-mnist,
    /// mnist-sample, cifar10, cifar100, cifar10-layout, imagenet; see `harness list`).
    #[arg(long)]
    dataset: Option<String>,
    /// Number of seeds to run: seeds 1..=N (the recipe's seeds by default).
    #[arg(long, value_name = "N", conflicts_with = "seed")]
    seeds: Option<u64>,
    /// Run this seed (repeatable).
    #[arg(long, value_name = "S")]
    seed: Vec<u64>,
    /// Override one recipe field, e.g. `--set epochs=2 --set batch_size=64` (YAML values).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Continue the latest unfinished run of each seed from its last checkpoint (runs of trials:
    /// skip the trials already recorded).
    #[arg(long)]
    resume: bool,
    /// Without a terminal (CI, nohup, a pipe), a plain progress line every N training steps
    /// (default: about ten per epoch; 0: none). A terminal shows a progress bar instead. burn's
    /// own messages: RUST_LOG=info.
    #[arg(long, value_name = "N")]
    log_interval: Option<usize>,
    /// Threads: burn's CPU kernels for training by epochs, or workers for runs of independent
    /// trials; default: every core. Recorded as `compute_threads` in the manifest.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

impl PlaceArgs {
    fn place(&self) -> Place {
        Place {
            device: self.device.clone(),
            backend: self.backend.name().into(),
            data_source: data_source(self),
            workers: self.workers.map(usize::from),
            eval_batch_size: self.eval_batch_size.map(|n| n as usize),
        }
    }
}

impl RunArgs {
    fn request(&self) -> RunRequest {
        RunRequest {
            place: self.place.place(),
            dataset: self.dataset.clone(),
            seeds: match (self.seeds, self.seed.is_empty()) {
                (Some(n), _) => SeedChoice::First(n),
                (None, false) => SeedChoice::These(self.seed.clone()),
                (None, true) => SeedChoice::Recipe,
            },
            overrides: self.overrides.clone(),
            resume: self.resume,
            log_interval: self.log_interval,
            threads: self.threads,
            command: command_line(),
        }
    }
}

fn main() -> ExitCode {
    // A bug must still not print a panic trace at the user: say what happened and exit non-zero.
    // `RUST_BACKTRACE=1` keeps Rust's own report, for bug reports.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        install_panic_hook();
    }
    // burn's and its runtimes' own messages (`log`), behind RUST_LOG (e.g. RUST_LOG=info);
    // warnings and errors by default.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    repro_common::kernels::keep_freed_memory();
    // The papers' own `--help` examples and smoke nets are added to the command at run time.
    let matches = cli::with_paper_help(Cli::command(), &papers()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.payload().downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| info.payload().downcast_ref::<String>().cloned()).unwrap_or_default();
        eprintln!("error: internal error: {msg}");
        if let Some(loc) = info.location() {
            eprintln!("  at {}:{} (run with RUST_BACKTRACE=1 for a trace, and please report this)", loc.file(), loc.line());
        }
    }));
}

fn run(cli: Cli) -> Result<()> {
    let results = cli.results.clone();
    match cli.command {
        Command::List => list(),
        Command::Machine => {
            for (what, value) in device::numerics() {
                println!("{what}: {value}");
            }
            Ok(())
        }
        Command::Train { experiment, config, run } => {
            let request = run.request();
            let (paper, failures) = match (experiment, config) {
                (_, Some(path)) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config {}", path.display()))?;
                    let origin = path.display().to_string();
                    let tree: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).with_context(|| format!("invalid config {origin}"))?;
                    let id = tree.get("paper").and_then(|p| p.as_str()).with_context(|| format!("invalid config {origin}: `paper` is missing (the id of the paper crate: {})", paper_ids()))?;
                    let paper = find_paper(id)?;
                    (paper, paper.train(Recipe::File { origin: &origin, text: &text }, &request, &results)?)
                }
                (Some(name), None) => {
                    let (paper, name) = find_experiment(&name)?;
                    (paper, paper.train(Recipe::Named(&name), &request, &results)?)
                }
                (None, None) => bail!("name an experiment (see `harness list`) or pass --config FILE"),
            };
            conclude(paper, &results, failures, "")
        }
        Command::Reproduce { paper, sample, run } => {
            let paper = find_paper(&paper)?;
            let done = paper.reproduce(sample, &run.request(), &results)?;
            conclude(paper, &results, done.failures, &done.note)
        }
        Command::Eval { run_dir, place } => eval(&run_dir, &place),
        Command::Export { run_dir, out, place } => export(&run_dir, out, &place),
        Command::Replay { runs, place, threads } => replay::run(&runs, &place, threads),
        Command::Migrate { dirs } => migrate::run(if dirs.is_empty() { std::slice::from_ref(&results) } else { &dirs }),
        Command::EvaluatePretrained { experiment, weights, place } => {
            let (paper, name) = find_experiment(&experiment)?;
            let images = paper.images().with_context(|| format!("paper `{}` has no image classifiers to evaluate", paper.id()))?;
            let config = images.experiment(&name).expect("found by name");
            if !weights.is_file() {
                bail!("weights file {} not found", weights.display());
            }
            let selected = select(&place)?;
            let dataset = data::load(&config.data.dataset, &data_source(&place)).with_context(|| format!("loading dataset `{}` for experiment `{}`", config.data.dataset, config.name))?;
            let exp_dir = records::experiment_dir(&results, paper.id(), &config.name, &config.data.dataset);
            let run_dir = records::new_run_dir(&exp_dir, 1)?;
            let started = std::time::Instant::now();
            let evaluation = images.evaluate(&config, &weights, &selected, &dataset)?;
            let spec = TrainSpec { config: &config, seed: 1, selected: &selected, dataset: &dataset, run_dir: run_dir.clone(), resume: false, command: command_line(), stop_after_epoch: None };
            // Weights from one of our runs carry its pedigree: an evaluation claim asks for it.
            let trained_by = records::run_holding(&weights).and_then(|run| {
                let m = records::Manifest::load(&run).ok()?;
                let shipped_recipe = images.experiment(&m.header.experiment).is_some_and(|recipe| report::follows_recipe(&m, &recipe));
                Some(records::TrainedBy {
                    run: run.display().to_string(),
                    experiment: m.header.experiment.clone(),
                    seed: m.header.seed,
                    git_commit: m.header.provenance.git_commit.clone(),
                    shipped_recipe,
                    complete: m.header.status == records::RunStatus::Complete,
                })
            });
            engine::record_evaluation(&spec, &weights, trained_by, evaluation, started.elapsed().as_secs_f64())?;
            let top5 = evaluation.top5_error_pct.map(|t| format!(", acc@5 {:.3}%", 100.0 - t)).unwrap_or_default();
            println!("{}: acc@1 {:.3}%{top5} on {} {} -> {}", config.name, 100.0 - evaluation.error_pct, config.data.dataset, config.data.eval_split, run_dir.display());
            conclude(paper, &results, 0, "")
        }
        Command::Report { paper } if paper == "readme" => {
            // README.md sits beside the results folder (`results` -> `./README.md`).
            let readme = results.parent().unwrap_or(Path::new("")).join("README.md");
            let section = report::readme_results(&papers(), &results)?;
            report::write_readme_results(&readme, &section)?;
            println!("wrote the results section of {}", readme.display());
            Ok(())
        }
        Command::Compare { paper } => {
            println!("{}", find_paper(&paper)?.compare_text(&results)?);
            Ok(())
        }
        Command::Report { paper } => {
            let path = find_paper(&paper)?.write_report(&results)?;
            println!("wrote {}", path.display());
            Ok(())
        }
        Command::Layers { model } => {
            let name = model.split_once('/').map_or(model.as_str(), |(_, m)| m);
            match papers().into_iter().find(|p| p.layer_names().iter().any(|n| n == name)) {
                Some(paper) => {
                    println!("{}", paper.layers(name)?);
                    Ok(())
                }
                None => bail!("unknown model `{model}`; known models: {}", papers().iter().flat_map(|p| p.layer_names()).collect::<Vec<_>>().join(", ")),
            }
        }
        Command::Fetch { dataset } => {
            let dir = data::fetch(&dataset)?;
            let ds = data::load(&dataset, &DataSource::Dir(dir.clone()))?;
            println!("{}: {} train / {} test images verified in {}", dataset, ds.split_len("train"), ds.split_len("test"), dir.display());
            Ok(())
        }
        Command::Bench(args) => bench::run(&args, &papers(), &results),
        Command::Smoke(args) => smoke::run(&args, &image_papers()),
    }
}

fn paper_ids() -> String {
    papers().iter().map(|p| p.id()).collect::<Vec<_>>().join(", ")
}

fn find_paper(id: &str) -> Result<&'static dyn Paper> {
    papers().into_iter().find(|p| p.id() == id).ok_or_else(|| anyhow!("unknown paper `{id}`; known papers: {}", paper_ids()))
}

/// `NAME` or `PAPER/NAME`: the paper that has the experiment, and its name.
fn find_experiment(name: &str) -> Result<(&'static dyn Paper, String)> {
    let (paper_id, exp) = match name.split_once('/') {
        Some((p, e)) => (Some(p), e),
        None => (None, name),
    };
    for paper in papers() {
        if paper_id.is_some_and(|p| p != paper.id()) {
            continue;
        }
        if paper.experiment_names().iter().any(|e| e == exp) {
            return Ok((paper, exp.to_owned()));
        }
    }
    let known: Vec<String> = papers().iter().flat_map(|p| p.experiment_names()).collect();
    bail!("unknown experiment `{name}`; known experiments: {}", known.join(", "))
}

fn list() -> Result<()> {
    for paper in papers() {
        println!("{}", paper.listing()?);
    }
    println!("datasets: {}, {}", data::dataset_names().join(", "), data::text::TEXT_DATASETS.join(", "));
    Ok(())
}

/// Opens the device `place` names and applies its loader and evaluation settings.
fn select(place: &PlaceArgs) -> Result<Selected> {
    Ok(place.place().select()?)
}

fn data_source(place: &PlaceArgs) -> DataSource {
    match &place.data_dir {
        Some(dir) => DataSource::Dir(dir.clone()),
        None => DataSource::Auto,
    }
}

/// How the user would type this invocation again.
pub(crate) fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).map(|a| if a.contains([' ', '"', '\'']) { format!("'{a}'") } else { a }).collect();
    let enabled: Vec<&str> = [("cuda", cfg!(feature = "cuda")), ("vulkan", cfg!(feature = "vulkan")), ("wgpu", cfg!(feature = "wgpu"))].into_iter().filter(|(_, on)| *on).map(|(f, _)| f).collect();
    let features = if enabled.is_empty() { String::new() } else { format!(" --features {}", enabled.join(",")) };
    format!("cargo run --release -p harness{features} -- {}", args.join(" "))
}

/// The tail of every command that makes records: the write-up regenerated from them, the
/// paper-vs-ours comparison printed (then `note`), and a non-zero exit when a run stopped early.
fn conclude(paper: &dyn Paper, results: &Path, failures: usize, note: &str) -> Result<()> {
    let path = paper.write_report(results)?;
    println!("\n{}", paper.compare_text(results)?);
    print!("{note}");
    println!("write-up: {}", path.display());
    if failures > 0 {
        bail!("{failures} run(s) stopped early; see the messages above");
    }
    Ok(())
}

/// The image-classifier paper that made the record in `run_dir`, with the record.
fn image_record(run_dir: &Path) -> Result<(&'static dyn ImagePaper, Manifest)> {
    let header = records::RunIdentity::load(run_dir)?;
    let paper = find_paper(&header.paper)?;
    let images = paper.images().with_context(|| format!("{}: paper `{}` writes no image-classifier checkpoints to evaluate or export", run_dir.display(), paper.id()))?;
    Ok((images, Manifest::<records::EpochRun>::load(run_dir)?))
}

fn eval(run_dir: &Path, place: &PlaceArgs) -> Result<()> {
    let (paper, manifest) = image_record(run_dir)?;
    let weights = engine::checkpoint_weights(run_dir)?.ok_or_else(|| anyhow!("{} has no checkpoint (checkpoint/latest.yaml)", run_dir.display()))?;
    // The recorded numbers are read first: a damaged metrics.csv is reported, not skipped.
    let recorded = records::load_metrics_through(run_dir, manifest.body.epochs_completed)?;
    let selected = select(place)?;
    let dataset = data::load(&manifest.body.config.data.dataset, &data_source(place))?;
    let e = paper.evaluate(&manifest.body.config, &weights, &selected, &dataset)?;
    let top5 = e.top5_error_pct.map(|t| format!(", top-5 error {t:.2}%")).unwrap_or_default();
    println!("{} on {} {}: loss {:.4}, error {:.2}%{top5} ({})", manifest.header.experiment, manifest.header.dataset, manifest.body.config.data.eval_split, e.loss, e.error_pct, weights.display());
    if let Some(m) = recorded.last() {
        println!("recorded at epoch {}: error {:.2}%", m.epoch, m.test_error_pct);
    }
    Ok(())
}

/// `harness export`: the run's latest checkpoint as safetensors, with its provenance in the
/// file's metadata. The dataset is opened only for its class count, which sizes the last layer.
fn export(run_dir: &Path, out: Option<PathBuf>, place: &PlaceArgs) -> Result<()> {
    let (paper, manifest) = image_record(run_dir)?;
    let weights = engine::checkpoint_weights(run_dir)?.ok_or_else(|| anyhow!("{} has no checkpoint (checkpoint/latest.yaml)", run_dir.display()))?;
    let dataset = data::load(&manifest.body.config.data.dataset, &data_source(place))?;
    let net = paper.net(&repro_common::net::NetRequest::of(&manifest.body.config, dataset.class_names.len()))?;
    let out = out.unwrap_or_else(|| run_dir.join("model.safetensors"));
    let metadata = [
        ("paper", manifest.header.paper.clone()),
        ("experiment", manifest.header.experiment.clone()),
        ("model", manifest.body.config.model.clone()),
        ("dataset", manifest.header.dataset.clone()),
        ("seed", manifest.header.seed.to_string()),
        ("epochs_completed", manifest.body.epochs_completed.to_string()),
        ("git_commit", manifest.header.provenance.git_commit.clone()),
        ("run", run_dir.display().to_string()),
    ];
    net.export(&weights, &out, &metadata)?;
    println!("{} ({}, epoch {}) -> {}", manifest.header.experiment, manifest.body.config.model, manifest.body.epochs_completed, out.display());
    Ok(())
}
