//! nn-train's flags resolved once into a typed job: every check a flag can
//! take alone or with another is made here; the rest of the tool reads the
//! job, never the flags.

use std::path::PathBuf;

use cli::{Error, Result};
use nets::models::Loss;
use nets::recipe::ModelSpec;
use nets::train::{OptimizerKind, OptimizerSpec, Schedule};
use tch::{Device, Kind};

use crate::args::Args;
use crate::lr_scale::{self, ScaleFrom};
use crate::messages::from_nets;

/// Training runs, one per learning rate, as the flags ask for them.
pub struct TrainJob {
    pub model: ModelSpec,
    pub kind: Kind,
    pub device: Device,
    pub threads: usize,
    /// The training and held-out data.
    pub data: nets_cli::DataChoice,
    /// The rates, in order (--lr, or --lr-grid).
    pub rates: Vec<f64>,
    /// Whether the rates are a grid (a `best` record, and no error for a run
    /// that diverges while another does not).
    pub grid: bool,
    /// Rates --extend-grid may add.
    pub extend: Option<u32>,
    pub kind_of_optimizer: OptimizerKind,
    pub optimizer: OptimizerSpec,
    pub schedule: Schedule,
    /// Updates per run (--steps), or epochs over the training set.
    pub length: Length,
    pub batch_size: usize,
    pub clip: Option<f64>,
    pub eval_every: Option<u64>,
    pub eval_examples: usize,
    pub log_every: u64,
    pub seed: u64,
    pub class_counts: bool,
    pub save_at: Vec<f64>,
    pub save_dir: Option<PathBuf>,
    pub checkpoint: Option<PathBuf>,
    pub label: Option<String>,
    pub lr_scale: Vec<(String, f64)>,
    pub lr_scale_from: Option<ScaleFrom>,
    /// A single run that diverges is a result, not an error.
    pub allow_divergence: bool,
}

/// How long each run trains.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    Steps(u64),
    Epochs(f64),
}

impl TrainJob {
    pub fn from_args(args: &Args) -> Result<TrainJob> {
        let rates: Vec<f64> = args.lr_grid.clone().or(args.lr.map(|r| vec![r])).unwrap_or_default();
        check_flags(args, &rates)?;
        let kind = nets::parse_dtype(&args.dtype).map_err(from_nets)?;
        let device = nets::parse_device(&args.device).map_err(from_nets)?;
        let model = match (&args.torchscript, &args.model) {
            (Some(path), _) => ModelSpec::TorchScript {
                path: path.clone(),
                loss: args.loss.unwrap_or(Loss::CrossEntropy),
                train: false,
            },
            (None, Some(name)) => ModelSpec::Zoo {
                name: name.clone(),
                options: args.model_flags.options(args.bn),
                init_seed: args.model_flags.init_seed,
            },
            (None, None) => return Err(Error::usage("give --model or --torchscript")),
        };
        let mut optimizer = OptimizerSpec::defaults(args.optimizer);
        optimizer.momentum = args.momentum;
        optimizer.weight_decay = args.weight_decay.unwrap_or(optimizer.weight_decay);
        let length = match (args.steps, args.epochs) {
            (Some(s), _) => Length::Steps(s),
            (None, Some(e)) => Length::Epochs(e),
            (None, None) => return Err(Error::usage("give --steps or --epochs")),
        };
        Ok(TrainJob {
            model,
            kind,
            device,
            threads: args.threads,
            data: nets_cli::DataChoice {
                // The size of a synthetic training set.
                examples: Some(args.synthetic_examples),
                ..nets_cli::DataChoice::from_flags(
                    &args.data_flags,
                    &args.inputs,
                    args.reads,
                    args.data_seed,
                    "training data",
                )
            },
            rates,
            grid: args.lr_grid.is_some(),
            extend: args.extend_grid,
            kind_of_optimizer: args.optimizer,
            optimizer,
            schedule: Schedule { kind: args.schedule, warmup: args.warmup },
            length,
            batch_size: args.batch_size,
            clip: args.clip,
            eval_every: args.eval_every,
            eval_examples: args.eval_examples,
            log_every: args.log_every,
            seed: args.seed,
            class_counts: args.class_counts,
            save_at: args.save_at.clone(),
            save_dir: args.save_dir.clone(),
            checkpoint: args.checkpoint.clone(),
            label: args.label.clone(),
            lr_scale: args.lr_scale.clone(),
            lr_scale_from: args.lr_scale_from.clone().map(|path| ScaleFrom { path, rule: args.lr_scale_rule.rule() }),
            allow_divergence: args.allow_divergence,
        })
    }

    /// Updates per run, for a training set of `n` examples (None: drawn
    /// afresh every update).
    pub fn total_steps(&self, n: Option<usize>) -> Result<u64> {
        if let Some(n) = n.filter(|n| self.batch_size > *n) {
            return Err(Error::usage(format!(
                "--batch-size {} exceeds the {n} examples of the training set",
                self.batch_size
            )));
        }
        match (self.length, n) {
            (Length::Steps(s), _) => Ok(s),
            (Length::Epochs(e), Some(n)) => Ok(((e * (n / self.batch_size) as f64).round() as u64).max(1)),
            (Length::Epochs(_), None) => {
                Err(Error::usage("--epochs does not apply to BERT (batches are drawn afresh): use --steps"))
            }
        }
    }
}

/// Every flag that can be checked alone, before any data is read.
fn check_flags(args: &Args, rates: &[f64]) -> Result<()> {
    if rates.is_empty() {
        return Err(Error::usage("--lr-grid needs at least one rate"));
    }
    if let Some(r) = rates.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        return Err(Error::usage(format!("learning rates must be positive and finite, got {r}")));
    }
    if args.steps == Some(0) {
        return Err(Error::usage("--steps must be at least 1"));
    }
    if args.epochs.is_some_and(|e| !(e.is_finite() && e > 0.0)) {
        return Err(Error::usage("--epochs must be positive"));
    }
    if args.batch_size == 0 {
        return Err(Error::usage("--batch-size must be at least 1"));
    }
    if args.eval_every == Some(0) || args.log_every == 0 {
        return Err(Error::usage("--eval-every and --log-every must be at least 1"));
    }
    if args.clip.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
        return Err(Error::usage("--clip must be positive"));
    }
    if !(0.0..1.0).contains(&args.momentum) {
        return Err(Error::usage(format!("--momentum must be in [0, 1), got {}", args.momentum)));
    }
    if args.weight_decay.is_some_and(|w| !(w.is_finite() && w >= 0.0)) {
        return Err(Error::usage("--weight-decay must be at least 0"));
    }
    if let Some(f) = args.save_at.iter().find(|f| !(0.0..=1.0).contains(*f)) {
        return Err(Error::usage(format!("--save-at fractions must be in [0, 1], got {f}")));
    }
    if args.synthetic_examples < 1 {
        return Err(Error::usage("--synthetic-examples must be at least 1"));
    }
    lr_scale::check_rules(&args.lr_scale)?;
    // A run is named by its rate (records, checkpoints): one run per rate.
    if let Some((i, r)) = rates.iter().enumerate().find(|(i, r)| rates[..*i].contains(*r)) {
        return Err(Error::usage(format!(
            "--lr-grid has the rate {r} twice (positions {} and {}): each rate is one run, named by it",
            rates.iter().position(|x| x == r).map_or(0, |p| p + 1),
            i + 1
        )));
    }
    Ok(())
}
