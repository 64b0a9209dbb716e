//! `harness bench`: training-step throughput of each model, the number that decides how long a
//! reproduction takes. Measured here, never asserted in tests.

use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use repro_common::device;
use repro_common::engine::TrainSpec;
use repro_common::paper::Paper;

#[derive(Args)]
pub struct BenchArgs {
    /// Experiments to time (default: every image experiment; `lstm` for the LSTM 1997 defaults).
    #[arg(long = "experiment", value_name = "NAME")]
    experiments: Vec<String>,
    /// Backends to compare (cpu only): flex, ndarray.
    #[arg(long = "backend", default_values_t = ["flex".to_string()])]
    backends: Vec<String>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Batch size of the timed steps (default: the recipe's).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Images per timed epoch (one warm-up epoch runs first); default 4096 for 28×28 inputs,
    /// 1024 for CIFAR's 32×32×3, 32 for ImageNet's 224×224×3.
    #[arg(long)]
    images: Option<usize>,
    /// LSTM 1997 experiments: training sequences per thread.
    #[arg(long, default_value_t = 5000)]
    sequences: u64,
}

/// Times one-epoch trainings of synthetic data through the real engine, so the figure includes
/// batching, the optimizer step and the loss read-back, as a real run does.
pub fn run(args: &BenchArgs, papers: &[&'static dyn Paper]) -> Result<()> {
    let lstm_names: Vec<String> = args.experiments.iter().filter(|e| repro_lstm::trial_experiment(e).is_some()).cloned().collect();
    if !lstm_names.is_empty() || args.experiments.iter().any(|e| e == "lstm") {
        crate::lstm::bench(&lstm_names, args.sequences)?;
        if lstm_names.len() + usize::from(args.experiments.iter().any(|e| e == "lstm")) == args.experiments.len() {
            return Ok(());
        }
        println!();
    }
    let mut rows = Vec::new();
    let tmp = std::env::temp_dir().join(format!("repro-bench-{}", std::process::id()));
    for paper in papers {
        for recipe in paper.experiments() {
            if !args.experiments.is_empty() && !args.experiments.contains(&recipe.name) {
                continue;
            }
            for backend in &args.backends {
                let selected = device::select(&args.device, backend)?;
                // Synthetic data of the recipe's dataset's shape, in memory (an ImageNet recipe times
                // the training step alone; `harness bench --loader` times its JPEG pipeline).
                let dataset = recipe.data.dataset.as_str();
                let (shape, classes, default_n) = match dataset {
                    d if d.starts_with("cifar100") => ([3, 32, 32], 100, 1024),
                    d if d.starts_with("cifar") => ([3, 32, 32], 10, 1024),
                    "imagenet" => ([3, 224, 224], 1000, 32),
                    _ => ([1, 28, 28], 10, 4096),
                };
                let n = args.images.unwrap_or(default_n);
                let ds = repro_common::data::synthetic(dataset, classes, shape, n, n.min(256));
                let mut overrides = vec!["epochs=2".to_string(), "seeds=[1]".into()];
                match args.batch_size {
                    Some(b) => overrides.push(format!("batch_size={b}")),
                    None if recipe.batch_size > n => overrides.push(format!("batch_size={n}")),
                    None => {}
                }
                let mut config = recipe.with_overrides(&overrides)?;
                config.max_iterations = None;
                config.data.train_split = "train".into();
                config.data.eval_split = "test".into();
                let run_dir = tmp.join(format!("{}-{backend}", recipe.name));
                std::fs::create_dir_all(&run_dir)?;
                let started = Instant::now();
                let spec = TrainSpec { config: &config, seed: 1, selected: &selected, dataset: &ds, run_dir, resume: false, command: "bench".into(), stop_after_epoch: None };
                let manifest = paper.train(spec)?;
                let Some(last) = manifest.final_metrics else { bail!("bench run of {} did not finish", recipe.name) };
                rows.push(format!(
                    "| `{}` | {} | {} / {} | {} | {:.0} | {:.1} |",
                    recipe.name, recipe.model, selected.backend, selected.name, config.batch_size, last.train_img_per_s, started.elapsed().as_secs_f64()
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("Training throughput, second of two epochs of synthetic images of each recipe's input size (the first warms up); {}\n", device::cpu_description());
    println!("| experiment | model | backend / device | batch | train img/s | wall s (2 epochs + eval) |\n|---|---|---|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
    Ok(())
}
