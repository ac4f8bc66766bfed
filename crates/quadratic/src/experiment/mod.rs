//! The Section 3 experiment: block eigenvalues from a case or from spectral
//! densities, the problem and start point a seed fixes, the optimizers with
//! their steps (tuned over a grid where no step is given), and the
//! `problem`, `spectrum`, `tune` and `iterate` records of a run.
//!
//! * `sources`: where the blocks' eigenvalues come from (a case or a spectra file).
//! * `validate`: the checks on an [`ExperimentConfig`] before anything is built.
//! * `report`: the `problem`, `spectrum` and `iterate` records.
//! * `tune`: the learning-rate grids and the search that picks a step.

mod report;
mod sources;
#[cfg(test)]
mod tests;
mod tune;
mod validate;

pub use report::{iterate_record, problem_record};
pub use sources::{Source, SpectraFile, CLUSTER_BLOCKS, CLUSTER_BLOCK_DIM, SPECTRA_BLOCK_DIM};
pub use tune::{default_grid, log_grid, TuneBy, Tuning};

use records::{Iterate, Problem};

use crate::cases;
use crate::error::{Error, Result};
use crate::optimizer::{self, Method, OptSpec, Optimizer, OptimizerRequest, RunOptions, StepRequest};
use crate::problem::{Quadratic, Rotation};
use sources::eigenvalues;

/// Everything an experiment needs.
#[derive(Debug, Clone)]
pub struct ExperimentConfig {
    pub source: Source,
    /// Condition number of the whole H.
    pub kappa: f64,
    /// Number of blocks (None: 3 for the cluster cases, every density block otherwise).
    pub blocks: Option<usize>,
    /// Dimension of each block (None: 3 for the cluster cases, 100 otherwise).
    pub block_dim: Option<usize>,
    pub seed: u64,
    /// Each block's eigenvectors: Haar-random (the paper) or the axes.
    pub rotation: Rotation,
    /// Empty: [`Optimizer::DEFAULT`] with their default steps.
    pub optimizers: Vec<OptimizerRequest>,
    /// Step of the optimizers without a theory step (None: tune them).
    pub lr: Option<f64>,
    /// Learning rates to tune over (None: [`default_grid`]); an optimizer
    /// with a theory step is always tried at it too.
    pub lr_grid: Option<Vec<f64>>,
    /// What the grid search minimises.
    pub tune_by: TuneBy,
    pub beta1: f64,
    pub beta2: f64,
    pub iters: u64,
    /// Keep every `every`-th iterate (and always the first and last).
    pub every: u64,
    /// Stop once the loss gap falls below this fraction of the initial one.
    pub stop_rel: f64,
}

/// One optimizer of an experiment with its update rule and step (None: tune it).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub optimizer: Optimizer,
    pub method: Method,
    pub lr: Option<f64>,
}

impl Plan {
    pub fn spec(&self, lr: f64) -> OptSpec {
        OptSpec { name: self.optimizer.name().to_string(), method: self.method, lr }
    }
}

/// A built experiment: the problem, its start point and record, and the plans.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub quadratic: Quadratic,
    pub w0: Vec<f64>,
    pub problem: Problem,
    pub plans: Vec<Plan>,
    lr_grid: Option<Vec<f64>>,
    tune_by: TuneBy,
    run: RunOptions,
    every: u64,
}

impl Experiment {
    pub fn new(config: &ExperimentConfig) -> Result<Experiment> {
        config.validate()?;
        let eig = eigenvalues(config)?;
        let (p, w0) = cases::build(&eig.names, &eig.values, config.rotation, config.seed)?;
        // The paper's rotated problem keeps its plain id; an axis-aligned one
        // gets its own, so that both can be read together (theory-check).
        let id = match config.rotation {
            Rotation::Haar => format!("case{}-seed{}", eig.case, config.seed),
            Rotation::AxisAligned => format!("case{}-seed{}-rotation-none", eig.case, config.seed),
        };
        let problem = problem_record(&id, &eig.case, &eig.source, config.seed, config.rotation, &p, &w0)?;
        let requests: Vec<OptimizerRequest> = if config.optimizers.is_empty() {
            Optimizer::DEFAULT
                .iter()
                .map(|&optimizer| OptimizerRequest { optimizer, step: StepRequest::Default })
                .collect()
        } else {
            config.optimizers.clone()
        };
        let plans = requests
            .iter()
            .map(|r| Plan {
                optimizer: r.optimizer,
                method: r.optimizer.method(config.beta1, config.beta2),
                lr: match r.step {
                    StepRequest::Grid => None,
                    StepRequest::Fixed(lr) => Some(lr),
                    StepRequest::Default => r.optimizer.theory_step(&p, problem.eta_adam).or(config.lr),
                },
            })
            .collect::<Vec<Plan>>();
        // A grid that tunes nothing would be ignored without a word.
        if config.lr_grid.is_some() && plans.iter().all(|plan| plan.lr.is_some()) {
            return Err(Error::setting(
                "lr_grid",
                "tunes no optimizer: each has a fixed step (lr, NAME=LR or its theory step); \
                 drop the grid, or ask for NAME=grid",
            ));
        }
        Ok(Experiment {
            quadratic: p,
            w0,
            problem,
            plans,
            lr_grid: config.lr_grid.clone(),
            tune_by: config.tune_by,
            run: RunOptions { iters: config.iters, stop_rel: config.stop_rel },
            every: config.every,
        })
    }

    /// Run `plan` at `lr` and pass every `every`-th iterate (and the last) to `emit`.
    pub fn iterates<E>(
        &self,
        plan: &Plan,
        lr: f64,
        mut emit: impl FnMut(Iterate) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let spec = plan.spec(lr);
        let every = self.every.max(1);
        optimizer::run(&self.quadratic, &self.w0, &spec, &self.run, |s| {
            if s.t % every == 0 || s.last {
                emit(iterate_record(&self.problem.problem, &spec, s))?;
            }
            Ok(())
        })
        .map(|_| ())
    }
}
