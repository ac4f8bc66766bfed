//! Learning-rate grids and the search that picks a step from one.

use records::Tune;

use super::{Experiment, Plan};
use crate::error::{positive, Error, Result};
use crate::optimizer::{self, Optimizer, Stop, Summary};

/// What a grid search minimises when it picks a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TuneBy {
    /// Fewest steps to the stopping gap, else the smallest final loss gap.
    #[default]
    LossGap,
    /// The smallest final gradient norm (ties: fewer steps), as the paper's
    /// Figure 8 plots |grad| against the iteration.
    GradNorm,
}

impl TuneBy {
    pub const ALL: [TuneBy; 2] = [TuneBy::LossGap, TuneBy::GradNorm];

    pub fn name(self) -> &'static str {
        match self {
            TuneBy::LossGap => "loss-gap",
            TuneBy::GradNorm => "grad-norm",
        }
    }
}

impl std::str::FromStr for TuneBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<TuneBy> {
        TuneBy::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| Error::setting("tune_by", format!("`{s}` is not one of loss-gap, grad-norm")))
    }
}

/// `per_decade` log-spaced values from `lo` to `hi` (both included when `hi`
/// is a whole number of steps from `lo`): lo * 10^(k / per_decade).
pub fn log_grid(lo: f64, hi: f64, per_decade: u32) -> Result<Vec<f64>> {
    positive("lr_grid", lo)?;
    positive("lr_grid", hi)?;
    if !(hi >= lo) || per_decade == 0 {
        return Err(Error::setting(
            "lr_grid",
            format!("a log grid needs 0 < lo <= hi and at least 1 point per decade, got {lo}:{hi}:{per_decade}"),
        ));
    }
    let steps = ((hi / lo).log10() * per_decade as f64 + 1e-9).floor() as u32;
    if steps > 10_000 {
        return Err(Error::setting("lr_grid", format!("{lo}:{hi}:{per_decade} has more than 10000 points")));
    }
    Ok((0..=steps).map(|k| lo * 10f64.powf(k as f64 / per_decade as f64)).collect())
}

/// The default learning-rate grid: 1e-4, 10^-3.5, ..., 1 for the Adam
/// variants, the same times 100 / lambda_max for the others.
pub fn default_grid(optimizer: Optimizer, lambda_max: f64) -> Vec<f64> {
    let base: Vec<f64> = (0..=8).map(|k| 10f64.powf(-4.0 + 0.5 * k as f64)).collect();
    if optimizer.is_adam() {
        base
    } else {
        base.iter().map(|x| x * 100.0 / lambda_max).collect()
    }
}

/// The result of tuning: the chosen step and one record per step tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    pub lr: f64,
    pub records: Vec<Tune>,
}

impl Experiment {
    /// The learning rates `plan` is tuned over, ascending: the grid, plus the
    /// optimizer's theory step (GD's 2/(mu+L), Theorem 2's step) so that a
    /// search is never worse than the step the theory prescribes.
    pub fn grid(&self, plan: &Plan) -> Vec<f64> {
        let mut grid =
            self.lr_grid.clone().unwrap_or_else(|| default_grid(plan.optimizer, self.quadratic.lambda_max()));
        if let Some(lr) = plan.optimizer.theory_step(&self.quadratic, self.problem.eta_adam) {
            grid.push(lr);
        }
        grid.sort_by(f64::total_cmp);
        grid.dedup();
        grid
    }

    /// Run every step of the grid (calling `progress` before each) and pick
    /// the best by the configured [`TuneBy`]; diverged runs rank last.
    /// Errors when every step diverged.
    pub fn tune(&self, plan: &Plan, mut progress: impl FnMut(f64)) -> Result<Tuning> {
        let results: Vec<(f64, Summary)> = self
            .grid(plan)
            .into_iter()
            .map(|lr| {
                progress(lr);
                let s = optimizer::run::<std::convert::Infallible>(
                    &self.quadratic,
                    &self.w0,
                    &plan.spec(lr),
                    &self.run,
                    |_| Ok(()),
                )
                .unwrap_or_else(|e| match e {});
                (lr, s)
            })
            .collect();
        let name = plan.optimizer.name();
        let best = best_run(&results, self.tune_by).ok_or_else(|| Error::setting("lr_grid", "is empty"))?;
        if results[best].1.stopped == Some(Stop::Diverged) {
            return Err(Error::Invalid(format!("{name}: every learning rate of the grid diverged")));
        }
        let records = results
            .iter()
            .enumerate()
            .map(|(i, (lr, s))| Tune {
                problem: self.problem.problem.clone(),
                optimizer: name.to_string(),
                lr: *lr,
                final_rel_gap: s.final_rel_gap(),
                final_grad_norm: s.final_grad_norm,
                steps: s.steps,
                stopped: s.stopped.map(|x| x.name().to_string()),
                chosen: i == best,
            })
            .collect();
        Ok(Tuning { lr: results[best].0, records })
    }
}

/// The index of the best run: not diverged first; then, by loss gap, runs
/// that converged (fewest steps first) and the rest by final relative loss
/// gap; by gradient norm, the smallest final norm (ties: fewest steps).
pub(super) fn best_run(results: &[(f64, Summary)], by: TuneBy) -> Option<usize> {
    let rank = |s: &Summary| {
        let converged = s.stopped == Some(Stop::Converged);
        match by {
            TuneBy::LossGap => {
                (s.stopped == Some(Stop::Diverged), !converged, if converged { s.steps } else { 0 }, s.final_rel_gap())
            }
            TuneBy::GradNorm => (s.stopped == Some(Stop::Diverged), false, 0, s.final_grad_norm),
        }
    };
    results
        .iter()
        .enumerate()
        .min_by(|a, b| {
            let (ka, kb) = (rank(&a.1 .1), rank(&b.1 .1));
            ka.0.cmp(&kb.0)
                .then(ka.1.cmp(&kb.1))
                .then(ka.2.cmp(&kb.2))
                .then(ka.3.total_cmp(&kb.3))
                .then(a.1 .1.steps.cmp(&b.1 .1.steps))
        })
        .map(|(i, _)| i)
}
