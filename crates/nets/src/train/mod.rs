//! Training a network: libtorch's own optimizers over a list of named
//! tensors, a learning-rate schedule, a deterministic batch order, gradient
//! clipping by global norm, held-out evaluation every K steps, and events
//! for the caller to record (steps, checkpoints). Anything with a
//! [`Net`](crate::net::Net) loss and its parameters as tensors can be
//! trained, a zoo model or a loaded module alike.
//!
//! * [`optimizer`]: SGD with momentum, Adam, AdamW (libtorch's, PyTorch's rules);
//! * [`schedule`]: constant or cosine, after a linear warm-up;
//! * [`sampler`]: epoch permutations from a seed;
//! * [`eval`]: held-out loss and accuracy, the gradient's norm;
//! * [`grid`]: the rule that picks a learning rate from a grid;
//! * [`scale`]: per-parameter learning-rate factors (libtorch parameter groups).
//!
//! A run is a pure function of its inputs: the same network weights,
//! configuration and thread count give the same losses and weights bit for
//! bit on the CPU.

pub mod eval;
pub mod grid;
pub mod optimizer;
pub mod sampler;
pub mod scale;
pub mod schedule;

use tch::{Device, Tensor};

pub use eval::{grad_norm, Evaluation, HeldOut};
pub use optimizer::{OptimizerKind, OptimizerSpec};
pub use sampler::Sampler;
pub use scale::LrFactor;
pub use schedule::{Schedule, ScheduleKind};

use crate::data::{Examples, TrainData};
use crate::error::{Error, Result};
use crate::net::Net;

/// One run's settings (one learning rate).
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub optimizer: OptimizerSpec,
    pub lr: f64,
    pub schedule: Schedule,
    pub batch_size: usize,
    pub steps: u64,
    /// Clip the gradient's global norm to this (PyTorch's
    /// `clip_grad_norm_`: scale by max / (norm + 1e-6) when above max).
    pub clip: Option<f64>,
    /// Evaluate on the held-out set after every this many updates (and
    /// after the last).
    pub eval_every: u64,
    /// Report a step after every this many updates (and every evaluated one).
    pub log_every: u64,
    /// Updates after which the caller is asked to save a checkpoint (0:
    /// before the first).
    pub save_at: Vec<u64>,
    /// Seed of the batch order (and of BERT's batches).
    pub seed: u64,
    /// Learning-rate factors of named parameters (the others keep 1): each
    /// update's rate for a parameter is the scheduled rate times its factor.
    pub lr_scale: Vec<LrFactor>,
}

/// What a step did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Updates done, counting this one.
    pub step: u64,
    /// Passes over the training set (None for sets drawn afresh).
    pub epoch: Option<f64>,
    /// The scheduled base rate (a parameter's rate is this times its factor).
    pub lr_now: f64,
    pub train_loss: f64,
    pub grad_norm: f64,
    pub heldout: Option<Evaluation>,
}

/// What the caller is told while a run goes.
#[derive(Debug)]
pub enum Event<'a> {
    Step(&'a StepReport),
    /// Save the weights now: `step` updates are done.
    Checkpoint {
        step: u64,
    },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub steps: u64,
    pub epochs: Option<f64>,
    /// Held-out evaluation after the last update (None when diverged).
    pub heldout: Option<Evaluation>,
    /// Mean training loss over the last tenth of the updates (at least one).
    pub final_train_loss: Option<f64>,
    /// The update whose loss or gradient was NaN or infinite.
    pub diverged_at: Option<u64>,
}

/// Check a configuration against the training set before any work.
pub fn check(cfg: &TrainConfig, data: &TrainData) -> Result<()> {
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return Err(Error::invalid(format!("learning rate must be positive and finite, got {}", cfg.lr)));
    }
    if cfg.steps == 0 || cfg.batch_size == 0 || cfg.eval_every == 0 || cfg.log_every == 0 {
        return Err(Error::invalid("steps, batch size and intervals must be at least 1"));
    }
    if let Some(n) = data.train.len() {
        if cfg.batch_size > n {
            return Err(Error::BatchExceedsData {
                batch_size: cfg.batch_size as i64,
                available: n,
                data: "training set",
            });
        }
    }
    if cfg.clip.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
        return Err(Error::invalid("the clipping norm must be positive"));
    }
    for f in &cfg.lr_scale {
        scale::check_factor(f.factor)?;
    }
    if let Some(s) = cfg.save_at.iter().find(|s| **s > cfg.steps) {
        return Err(Error::invalid(format!("checkpoint at update {s} is past the last update {}", cfg.steps)));
    }
    Ok(())
}

/// Train `net`, whose trainable tensors are `params`, on `data.train`,
/// evaluating on `heldout`. Non-finite losses or gradients end the run
/// (its [`Outcome::diverged_at`]); errors of `on` end it at once.
pub fn train<E: From<Error>>(
    net: &dyn Net,
    params: &[(String, Tensor)],
    data: &TrainData,
    heldout: &HeldOut,
    cfg: &TrainConfig,
    device: Device,
    mut on: impl FnMut(Event) -> std::result::Result<(), E>,
) -> std::result::Result<Outcome, E> {
    check(cfg, data)?;
    let tensors: Vec<Tensor> = params.iter().map(|(_, t)| t.shallow_clone()).collect();
    // One libtorch parameter group per distinct factor (one group without factors).
    let (group_factors, group_of) = scale::groups(&scale::per_param(params, &cfg.lr_scale)?);
    let mut opt = cfg.optimizer.build(cfg.lr, &tensors, &group_of)?;
    let libtorch = |e: tch::TchError| Error::numeric(format!("libtorch optimizer: {e}"));
    let n = data.train.len();
    let mut sampler = Sampler::new(n.unwrap_or(cfg.batch_size), cfg.batch_size, cfg.seed);
    let tail = (cfg.steps / 10).max(1);
    let mut recent: Vec<f64> = Vec::new();
    let mut outcome = Outcome { steps: 0, epochs: Some(0.0), heldout: None, final_train_loss: None, diverged_at: None };
    if cfg.save_at.contains(&0) {
        on(Event::Checkpoint { step: 0 })?;
    }
    for step in 1..=cfg.steps {
        let idx = sampler.next_batch();
        let batch_seed = rng::derive_seed(cfg.seed, &[b"train-batch", &step.to_le_bytes()]);
        let batch = data.train.batch(&idx, batch_seed)?;
        let lr_now = cfg.schedule.at(cfg.lr, step - 1, cfg.steps);
        for (group, factor) in group_factors.iter().enumerate() {
            opt.set_learning_rate_group(group, lr_now * factor).map_err(libtorch)?;
        }
        opt.zero_grad().map_err(libtorch)?;
        // libtorch's failures (out of memory) end the run with a message.
        let (train_loss, norm) = crate::contain(&format!("update {step}"), || {
            // Every batch's targets are checked against the network's
            // output (a module's class count), not only the first batch's:
            // a target out of range is an error naming the update, not a
            // NaN loss read as divergence.
            let loss = net.try_loss(&batch.to(device)).map_err(|e| match e {
                Error::Libtorch { .. } => e,
                other => Error::invalid(format!("update {step}: the training batch: {other}")),
            })?;
            let train_loss = loss.double_value(&[]);
            let norm = if train_loss.is_finite() {
                loss.backward();
                grad_norm(&tensors)
            } else {
                f64::NAN
            };
            Ok((train_loss, norm))
        })?;
        if !norm.is_finite() {
            outcome.diverged_at = Some(step);
            outcome.final_train_loss = None;
            return Ok(outcome);
        }
        if let Some(max) = cfg.clip.filter(|max| norm > *max) {
            let _guard = tch::no_grad_guard();
            for t in &tensors {
                let mut g = t.grad();
                if g.defined() {
                    let _ = g.g_mul_scalar_(max / (norm + 1e-6));
                }
            }
        }
        opt.step().map_err(libtorch)?;
        outcome.steps = step;
        outcome.epochs = n.map(|n| (step as usize * cfg.batch_size) as f64 / n as f64);
        if step + tail > cfg.steps {
            recent.push(train_loss);
        }
        let evaluated = step % cfg.eval_every == 0 || step == cfg.steps;
        let heldout_now = evaluated
            .then(|| crate::contain(&format!("held-out evaluation at update {step}"), || Ok(heldout.evaluate(net))))
            .transpose()?;
        if step % cfg.log_every == 0 || evaluated {
            let report =
                StepReport { step, epoch: outcome.epochs, lr_now, train_loss, grad_norm: norm, heldout: heldout_now };
            on(Event::Step(&report))?;
        }
        if let Some(h) = heldout_now {
            if !h.loss.is_finite() {
                outcome.diverged_at = Some(step);
                return Ok(outcome);
            }
            outcome.heldout = Some(h);
        }
        if cfg.save_at.contains(&step) {
            on(Event::Checkpoint { step })?;
        }
    }
    outcome.final_train_loss = Some(recent.iter().sum::<f64>() / recent.len().max(1) as f64);
    Ok(outcome)
}

/// The update counts at fractions of `steps` (rounded to the nearest),
/// each fraction in [0, 1].
pub fn steps_at(fractions: &[f64], steps: u64) -> Result<Vec<u64>> {
    fractions
        .iter()
        .map(|f| match (0.0..=1.0).contains(f) {
            true => Ok((f * steps as f64).round() as u64),
            false => Err(Error::invalid(format!("a fraction of training must be in [0, 1], got {f}"))),
        })
        .collect()
}

/// The training set's examples count, for messages (None: drawn afresh).
pub fn train_examples(data: &TrainData) -> Option<usize> {
    let e: &Examples = &data.train;
    e.len()
}
