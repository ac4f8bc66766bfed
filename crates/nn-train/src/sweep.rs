//! One training run per learning rate, every one from the same weights:
//! the `step`, `summary` and `best` records and the checkpoints.

use std::path::PathBuf;

use cli::{Error, Result};
use nets::data::{Shape, TrainData};
use nets::model::Model;
use nets::recipe::Recipe;
use nets::train::{self, grid, Event, HeldOut, TrainConfig};
use records::{Best, Record, RecordWriter, Step, TrainSummary};

use crate::job::TrainJob;
use crate::messages::from_nets;

/// What can stop a training run: the library, or writing its records.
enum Halt {
    Nets(nets::Error),
    Tool(Error),
}

impl From<nets::Error> for Halt {
    fn from(e: nets::Error) -> Self {
        Halt::Nets(e)
    }
}

impl From<Halt> for Error {
    fn from(s: Halt) -> Self {
        match s {
            Halt::Nets(e) => from_nets(e),
            Halt::Tool(e) => e,
        }
    }
}

/// A model with its first weights: built, then --checkpoint loaded.
pub fn fresh(job: &TrainJob, recipe: &mut Recipe) -> Result<Box<dyn Model>> {
    let model = recipe.build().map_err(from_nets)?;
    if let Some(p) = &job.checkpoint {
        nets_cli::load_checkpoint(model.as_ref(), p, from_nets)?;
    }
    Ok(model)
}

/// The runs' shared setting.
pub struct Sweep<'a> {
    pub job: &'a TrainJob,
    pub data: &'a TrainData,
    pub heldout: &'a HeldOut,
    /// The --inputs file the data came from, if it did.
    pub given: Option<&'a str>,
    pub label: &'a str,
}

impl Sweep<'_> {
    /// Train from `first` (then from fresh models of `recipe`) at each rate,
    /// growing the grid with --extend-grid, and write the records.
    pub fn run(
        &self,
        recipe: &mut Recipe,
        first: Box<dyn Model>,
        mut cfg: TrainConfig,
        out: &mut RecordWriter<std::io::Stdout>,
    ) -> Result<()> {
        let job = self.job;
        let opt_name = job.kind_of_optimizer.name();
        let bar = nets_cli::progress_bar(cfg.steps * job.rates.len() as u64, "updates");
        let mut finals = Vec::new();
        let mut summaries = Vec::new();
        let mut rates = job.rates.clone();
        let mut first = Some(first);
        let mut added = 0;
        let mut next = 0;
        while next < rates.len() {
            let lr = rates[next];
            next += 1;
            cfg.lr = lr;
            bar.set_message(format!("{opt_name} lr {lr}"));
            let model = match first.take() {
                Some(model) => model,
                None => fresh(job, recipe)?,
            };
            self.check(model.as_ref())?;
            let params = model.named_parameters();
            let outcome =
                train::train(model.as_ref(), &params, self.data, self.heldout, &cfg, job.device, |event| match event {
                    Event::Step(s) => {
                        bar.inc(cfg.log_every.min(s.step));
                        out.write(&Record::Step(self.step(opt_name, lr, s))).map_err(|e| Halt::Tool(e.into()))
                    }
                    Event::Checkpoint { step } => {
                        let dir = job.save_dir.clone().unwrap_or_else(|| PathBuf::from("."));
                        let path = dir.join(format!("{}-{opt_name}-lr{lr}-step{step}.safetensors", self.label));
                        model.save(&path).map_err(Halt::Nets)
                    }
                })
                .map_err(Error::from)?;
            let finished = outcome.heldout.filter(|_| outcome.diverged_at.is_none());
            let summary = TrainSummary {
                model: self.label.to_string(),
                optimizer: opt_name.to_string(),
                lr,
                steps: outcome.steps,
                epochs: outcome.epochs,
                batch_size: job.batch_size as u64,
                weight_decay: cfg.optimizer.weight_decay,
                final_heldout_loss: finished.map(|h| h.loss),
                final_heldout_accuracy: finished.and_then(|h| h.accuracy),
                final_heldout_accuracy_frequent_half: finished.and_then(|h| h.frequent_accuracy),
                final_heldout_accuracy_rare_half: finished.and_then(|h| h.rare_accuracy),
                final_heldout_loss_frequent_half: finished.and_then(|h| h.frequent_loss),
                final_heldout_loss_rare_half: finished.and_then(|h| h.rare_loss),
                final_train_loss: outcome.final_train_loss,
                diverged_at: outcome.diverged_at,
            };
            out.write(&Record::Summary(summary.clone()))?;
            finals.push((lr, summary.final_heldout_loss));
            summaries.push(summary);
            // --extend-grid: once the grid so far is done, one more rate past the edge the best sits on.
            if next == rates.len() && added < job.extend.unwrap_or(0) {
                if let Some(lr) = grid::extension(&finals) {
                    rates.push(lr);
                    added += 1;
                    bar.inc_length(cfg.steps);
                }
            }
        }
        bar.finish_and_clear();

        let diverged = summaries.iter().filter(|s| s.diverged_at.is_some()).count();
        if !job.grid {
            return match summaries[0].diverged_at {
                Some(_) if job.allow_divergence => Ok(()),
                Some(step) => Err(Error::numeric(format!(
                    "the loss or gradient is NaN or infinite at update {step} (--lr {})",
                    rates[0]
                ))),
                None => Ok(()),
            };
        }
        let Some(win) = grid::best(&finals) else {
            return Err(Error::numeric(format!("every rate of --lr-grid diverged ({diverged} of {})", rates.len())));
        };
        let w = &summaries[win];
        out.write(&Record::Best(Best {
            model: self.label.to_string(),
            optimizer: opt_name.to_string(),
            lr: w.lr,
            rule: grid::RULE.to_string(),
            final_heldout_loss: w.final_heldout_loss.unwrap_or(f64::NAN),
            final_heldout_accuracy: w.final_heldout_accuracy,
            tried: rates.len() as u64,
            diverged: diverged as u64,
            placement: Some(grid::placement(&finals).name().to_string()),
            added: job.extend.map(|_| added as u64),
        }))?;
        Ok(())
    }

    /// Whether `model` reads the data: a user's batch whole (every target
    /// against its classes), a data set's first batch (its labels were
    /// checked where they were read).
    fn check(&self, model: &dyn Model) -> Result<()> {
        let device = self.job.device;
        match (self.given, &self.data.train) {
            (Some(file), nets::data::Examples::Held(batch)) => model
                .check_data(&batch.to(device), None)
                .map_err(|e| from_nets(e).with_hint(&format!("--inputs {file}"))),
            _ => {
                let first = self.data.train.batch(&[0], 0).map_err(from_nets)?.to(device);
                let classes = match self.data.shape {
                    Shape::Classes { classes, .. } => Some(classes),
                    Shape::Tokens { .. } => None,
                };
                model.check_data(&first, classes).map_err(from_nets)
            }
        }
    }

    /// The `step` record of a report.
    fn step(&self, optimizer: &str, lr: f64, s: &train::StepReport) -> Step {
        // A non-finite held-out loss (the run diverged there) is left out: no record holds NaN.
        let heldout = s.heldout.filter(|h| h.loss.is_finite());
        Step {
            model: self.label.to_string(),
            optimizer: optimizer.to_string(),
            lr,
            step: s.step,
            epoch: s.epoch,
            lr_now: s.lr_now,
            train_loss: s.train_loss,
            grad_norm: s.grad_norm,
            heldout_loss: heldout.map(|h| h.loss),
            heldout_accuracy: heldout.and_then(|h| h.accuracy),
            heldout_accuracy_frequent_half: heldout.and_then(|h| h.frequent_accuracy),
            heldout_accuracy_rare_half: heldout.and_then(|h| h.rare_accuracy),
            heldout_loss_frequent_half: heldout.and_then(|h| h.frequent_loss),
            heldout_loss_rare_half: heldout.and_then(|h| h.rare_loss),
        }
    }
}
