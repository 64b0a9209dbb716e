//! `harness smoke`: is this device fit to train the papers' nets? Three checks, one table each,
//! on the nets the papers offer (`ImagePaper::smoke_nets`, `smoke_training`): parity with the CPU
//! (the same weights and batch give the same scores, loss and optimizer step), a short training
//! on generated data in the CIFAR-10 format through the real loader and engine, and the training
//! throughput and memory of each net. Exits non-zero when parity or the training fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use repro_common::config::ExperimentConfig;
use repro_common::data::source::HostBatch;
use repro_common::data::{self, DataSource};
use repro_common::device::{self, Selected};
use repro_common::engine::TrainSpec;
use repro_common::gate::Gate;
use repro_common::paper::{ImagePaper, SmokeNet, SmokeTraining};
use repro_common::parity::{self, PlantedFault};
use repro_common::records;

use crate::bench;

#[derive(Args)]
pub struct SmokeArgs {
    /// The device to check: vulkan, vulkan:N, wgpu, cuda, cuda:N, or cpu (then --backend picks
    /// the CPU backend compared with the reference, flex).
    #[arg(long, default_value = "cpu", value_parser = crate::cli::parse_device, value_name = "DEVICE")]
    device: String,
    /// CPU backend of --device cpu.
    #[arg(long, value_enum, default_value_t = crate::cli::Backend::Flex)]
    backend: crate::cli::Backend,
    /// CI-sized: the ImageNet-sized nets at 1/8 of their widths (`model_options.width`), parity
    /// batches of 2 of their images, 8 timed images of theirs and 256 of the small nets'.
    /// Without it, the full nets at the bench's sizes (32 ImageNet images at batch 32, 1,024
    /// CIFAR and 4,096 MNIST-sized images at the recipes' batch sizes).
    #[arg(long)]
    quick: bool,
    /// Run the parity check alone.
    #[arg(long)]
    parity_only: bool,
    /// Also write the tables (Markdown) to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Plant a fault in the device's side of the parity check, to see the check fail (only the
    /// parity check runs).
    #[arg(long, value_enum, hide = true)]
    plant: Option<Plant>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Plant {
    /// The device's first layer's weights 1 % larger.
    Weight,
    /// The first image of the device's batch zeroed.
    Batch,
}

/// The dataset a short training runs on: generated here in CIFAR-10's binary format.
const GENERATED: &str = "cifar10-layout";

/// `--quick`'s width multiplier of the ImageNet nets.
const QUICK_WIDTH: f64 = 0.125;

pub fn run(args: &SmokeArgs, papers: &[&'static dyn ImagePaper]) -> Result<()> {
    let target = device::select(&args.device, args.backend.name())?;
    let reference = device::select("cpu", "flex")?;
    // The nets the papers put through the check, in registry order.
    let nets: Vec<(&'static dyn ImagePaper, SmokeNet)> = papers.iter().flat_map(|p| p.smoke_nets().iter().map(move |n| (*p, *n))).collect();
    let find = |paper: &'static dyn ImagePaper, experiment: &str| -> Result<(&'static dyn ImagePaper, ExperimentConfig)> {
        let mut recipe = paper.experiment(experiment).ok_or_else(|| anyhow!("paper `{}` has no experiment `{experiment}`", paper.id()))?;
        if args.quick && bench::input_of(&recipe).0[1] > 64 {
            recipe.model_options.insert("width".into(), QUICK_WIDTH);
        }
        Ok((paper, recipe))
    };
    // How a net is named in the tables: a narrowed one says so.
    let label = |recipe: &ExperimentConfig| match recipe.model_options.get("width") {
        Some(w) => format!("`{}` (width {w})", recipe.name),
        None => format!("`{}`", recipe.name),
    };
    let (commit, dirty) = records::git_state();
    let mut out = String::new();
    let mut failures = Vec::new();
    writeln!(out, "# Smoke check of `{}`\n", target.name)?;
    writeln!(
        out,
        "`{}` at commit {}{}, burn {}, {}; host CPU {} ({}), {} compute threads.\n",
        crate::command_line(),
        &commit[..commit.len().min(12)],
        if dirty { " (uncommitted changes)" } else { "" },
        records::BURN_VERSION,
        records::now(),
        device::cpu_description(),
        device::cpu_features(),
        device::compute_threads()
    )?;

    eprintln!("smoke: parity of {} with {} / {}", target.name, reference.backend, reference.name);
    writeln!(out, "## Parity with the CPU ({} / {})\n", reference.backend, reference.name)?;
    writeln!(
        out,
        "The same weights (built on the CPU, copied over) and the same batch on both devices; errors relative to the CPU's scale: class scores in evaluation mode (≤ {:.0e} of the largest |score|), the training loss (≤ {:.0e}), and the weights after one step of the recipe's optimizer (≤ {:.0e} of the largest change the step made). Dropout off (its masks come from each device's own generator). Tolerances fixed in `common/src/parity.rs` before any GPU ran.\n",
        parity::SCORES_TOLERANCE,
        parity::LOSS_TOLERANCE,
        parity::STEP_TOLERANCE
    )?;
    writeln!(out, "| net | experiment | batch | weights | scores error | loss error | step error | within tolerance |\n|---|---|---:|---:|---:|---:|---:|---|")?;
    let fault = args.plant.map(|p| match p {
        Plant::Weight => PlantedFault::Weight,
        Plant::Batch => PlantedFault::Batch,
    });
    for (paper, SmokeNet { experiment, name }) in &nets {
        let (paper, recipe) = find(*paper, experiment)?;
        let (shape, classes, _) = bench::input_of(&recipe);
        let items = match (shape[1] > 64, args.quick) {
            (true, true) => 2,
            (true, false) => 4,
            (false, _) => 16,
        };
        let mut config = recipe.clone();
        config.data.train_split = "train".into();
        config.data.eval_split = "test".into();
        // The net's input shape, after the recipe's preprocessing (e.g. 28×28 digits padded to 32).
        let [c, h, w] = data::synthetic(&recipe.data.dataset, classes, shape, 1, 1).sources(&config.data)?.0.shape();
        // Uniform pixels in [-2, 2) from a fixed seed, the same for both devices: no values tie
        // (a tie in a max-pool window may send the gradient to either element, both correct).
        let batch = {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let images: Vec<f32> = (0..items * c * h * w).map(|_| rng.random_range(-2.0..2.0f32)).collect();
            HostBatch { images, labels: (0..items).map(|i| (i * 7 % classes) as i64).collect(), shape: [items, c, h, w], views: 1 }
        };
        let started = Instant::now();
        let p = paper.parity(&config, classes, [&reference, &target], &batch, fault)?;
        eprintln!("smoke: parity {name}: scores {:.1e}, loss {:.1e}, step {:.1e} (most at {}) ({:.1} s)", p.scores_error, p.loss_error, p.step_error, p.worst_weight, started.elapsed().as_secs_f64());
        let verdict = if p.passes() { "yes".to_string() } else { format!("**no**: {}", p.failures().join(", ")) };
        if !p.passes() {
            failures.push(format!("{name} parity: {}", p.failures().join(", ")));
        }
        writeln!(out, "| {name} | {} | {items} | {} | {:.1e} | {:.1e} | {:.1e} | {verdict} |", label(&recipe), p.weights, p.scores_error, p.loss_error, p.step_error)?;
    }

    if args.parity_only && fault.is_none() {
        println!("{out}");
        if !failures.is_empty() {
            bail!("parity of {} failed: {}", target.name, failures.join("; "));
        }
        return Ok(());
    }
    if fault.is_some() {
        println!("{out}");
        bail!("planted fault: parity {}", if failures.is_empty() { "passed (the check missed it)".to_string() } else { format!("failed as it should: {}", failures.join("; ")) });
    }

    let tmp = tempdir()?;
    let training = papers.iter().find_map(|p| p.smoke_training().map(|t| (*p, t)));
    if let Some((paper, training)) = training {
        eprintln!("smoke: a short {} training on {}", training.name, target.name);
        if let Err(e) = short_training(&target, &find(paper, training.experiment)?, &training, &tmp, &mut out)? {
            failures.push(e);
        }
    }

    writeln!(out, "\n## Training throughput\n")?;
    writeln!(
        out,
        "The second of two epochs of synthetic images of each recipe's input size, through the engine (batching, host→device copy, step, the per-step read-back of loss and correct count); `harness bench` measures the same. Device memory: what burn's allocator holds after the run (its pools grow to the peak and keep it); host: the process's peak resident memory so far.\n"
    )?;
    writeln!(out, "| net | experiment | batch | images per epoch | train img/s | s per step | device memory | host peak RSS |\n|---|---|---:|---:|---:|---:|---:|---:|")?;
    for (paper, SmokeNet { experiment, name }) in &nets {
        let (paper, recipe) = find(*paper, experiment)?;
        let (shape, _, _) = bench::input_of(&recipe);
        let (batch, images) = match (shape[1] > 64, args.quick) {
            (true, true) => (Some(4), Some(8)),
            (false, true) => (Some(recipe.batch_size.min(64)), Some(256)),
            (_, false) => (None, None),
        };
        target.device.memory_cleanup();
        eprintln!("smoke: timing {name}");
        let t = bench::time_recipe(paper, &recipe, &target, batch, images, &tmp.join(experiment))?;
        writeln!(
            out,
            "| {name} | {} | {} | {} | {:.1} | {:.3} | {} | {} |",
            label(&recipe),
            t.batch_size,
            t.images,
            t.img_per_s,
            t.s_per_step,
            device::device_memory_reserved(&target).map_or("— (host)".into(), mib),
            device::host_peak_rss().map_or("—".into(), mib)
        )?;
    }
    let _ = std::fs::remove_dir_all(&tmp);

    if failures.is_empty() {
        writeln!(out, "\nEvery check passed.")?;
    } else {
        writeln!(out, "\n**Failed:** {}.", failures.join("; "))?;
    }
    println!("{out}");
    if let Some(path) = &args.out {
        records::write_atomic(path, out.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("smoke: tables written to {}", path.display());
    }
    if !failures.is_empty() {
        bail!("the smoke check of {} failed: {}", target.name, failures.join("; "));
    }
    Ok(())
}

/// A paper's short training ([`SmokeTraining`]) on 640 generated CIFAR-format images: the device
/// must take the error well below chance and the loss well down. The outer error is a broken run;
/// the inner one a run that did not learn.
fn short_training(target: &Selected, (paper, recipe): &(&'static dyn ImagePaper, ExperimentConfig), training: &SmokeTraining, tmp: &Path, out: &mut String) -> Result<Result<(), String>> {
    let config = recipe.with_overrides(&training.overrides.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    if config.data.dataset != GENERATED {
        bail!("the smoke check generates its training data as `{GENERATED}`; `{}` asks for `{}`", training.experiment, config.data.dataset);
    }
    let dir = tmp.join("cifar");
    data::cifar::write_pattern_batches(&dir, 128, 200, 11).with_context(|| format!("writing generated CIFAR files in {}", dir.display()))?;
    let ds = data::load(GENERATED, &DataSource::Dir(dir.clone()))?;
    let run_dir = tmp.join("short-run");
    std::fs::create_dir_all(&run_dir)?;
    let started = Instant::now();
    let seed = 7;
    let spec = TrainSpec { config: &config, seed, selected: target, dataset: &ds, run_dir: run_dir.clone(), resume: false, command: "smoke".into(), stop_after_epoch: None };
    let manifest = paper.train(spec)?;
    let wall = started.elapsed().as_secs_f64();
    let rows = records::load_metrics(&run_dir)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else { bail!("the short run wrote no metrics") };
    let (n_test, n_train) = (ds.split_len("test"), ds.split_len("train"));
    let name = training.name;
    let gate = Gate::below_chance(format!("{name} short run on {}: test error %", target.name), 90.0, n_test, 3.0);
    let loss_fell = last.train_loss < 0.5 * first.train_loss;
    let verdict = match (manifest.header.status == records::RunStatus::Complete, gate.check(last.test_error_pct), loss_fell) {
        (false, _, _) => Err(format!("the short {name} run did not complete: {}", manifest.header.stop_reason.unwrap_or_default())),
        (true, Err(e), _) => Err(e.to_string()),
        (true, Ok(()), false) => Err(format!("the short {name} run's training loss went from {:.3} to {:.3}, not below half", first.train_loss, last.train_loss)),
        (true, Ok(()), true) => Ok(()),
    };
    writeln!(out, "\n## A short {name} training\n")?;
    writeln!(
        out,
        "`{}` with `{}`, seed {seed}, on {n_train} training and {n_test} test images generated in the CIFAR-10 binary format (`write_pattern_batches`, read back by the real loader). It must end below chance ({gate_high:.1} % or less; chance is 90 %) with the training loss below half its first epoch's. {}\n",
        training.experiment,
        training.overrides.join(" "),
        training.cpu_result,
        gate_high = gate.high
    )?;
    writeln!(out, "| updates | train loss, first → last epoch | test error | train img/s (last epoch) | wall s | learns |\n|---:|---|---:|---:|---:|---|")?;
    let steps = config.epochs * n_train.div_ceil(config.batch_size);
    writeln!(
        out,
        "| {steps} | {:.3} → {:.3} | {:.1} % | {:.1} | {wall:.1} | {} |",
        first.train_loss,
        last.train_loss,
        last.test_error_pct,
        last.train_img_per_s,
        match &verdict {
            Ok(()) => "yes".to_string(),
            Err(e) => format!("**no**: {e}"),
        }
    )?;
    eprintln!("smoke: short run: test error {:.1} %, train loss {:.3} → {:.3}", last.test_error_pct, first.train_loss, last.train_loss);
    Ok(verdict)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("repro-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
