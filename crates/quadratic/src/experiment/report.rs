//! The `problem`, `spectrum` and `iterate` records of an experiment.

use records::{Iterate, Problem, ProblemBlock, Spectrum};

use super::Experiment;
use crate::error::Result;
use crate::optimizer::{OptSpec, Step};
use crate::problem::{Quadratic, Rotation};
use crate::theory;

/// The `problem` record of `p` and start point `w0`: eigenvalue extremes,
/// condition numbers, Assumption 1's constants and Theorem 2's step.
pub fn problem_record(
    id: &str,
    case: &str,
    source: &str,
    seed: u64,
    rotation: Rotation,
    p: &Quadratic,
    w0: &[f64],
) -> Result<Problem> {
    let mut g0 = vec![0.0; p.dim()];
    p.grad(w0, &mut g0);
    let a1 = theory::assumption1(p, &g0)?;
    let mut blocks = Vec::new();
    for (l, b) in p.blocks.iter().enumerate() {
        let d0: Vec<f64> = g0[p.range(l)].iter().map(|x| x.abs()).collect();
        blocks.push(ProblemBlock {
            name: b.name.clone(),
            dim: b.dim(),
            lambda_min: b.lambda_min(),
            lambda_max: b.lambda_max(),
            kappa: b.kappa(),
            c1: a1.c1[l],
            c2: a1.c2[l],
            kappa_precond: theory::kappa_precond(b, &d0)?,
        });
    }
    Ok(Problem {
        problem: id.to_string(),
        case: case.to_string(),
        source: source.to_string(),
        seed,
        dim: p.dim(),
        kappa: p.kappa(),
        lambda_min: p.lambda_min(),
        lambda_max: p.lambda_max(),
        loss0: Quadratic::loss_from_grad(w0, &g0),
        grad0_norm: g0.iter().map(|x| x * x).sum::<f64>().sqrt(),
        r: a1.r,
        eta_adam: a1.eta,
        rotation: rotation.record_name().to_string(),
        blocks,
    })
}

/// The `iterate` record of one reported point of `spec`'s trajectory.
pub fn iterate_record(problem: &str, spec: &OptSpec, step: &Step) -> Iterate {
    let (beta1, beta2) = spec.betas();
    Iterate {
        problem: problem.to_string(),
        optimizer: spec.name.clone(),
        lr: spec.lr,
        beta1,
        beta2,
        t: step.t,
        loss_gap: step.loss_gap,
        grad_norm: step.grad_norm,
        dist: step.dist,
        stopped: step.stopped.map(|x| x.name().to_string()),
    }
}
impl Experiment {
    /// Every block's eigenvalues as `spectrum` records.
    pub fn spectra(&self) -> Vec<Spectrum> {
        let p = &self.problem;
        let blocks = &self.quadratic.blocks;
        blocks
            .iter()
            .map(|b| Spectrum {
                problem: p.problem.clone(),
                block: b.name.clone(),
                source: p.source.clone(),
                eigenvalues: b.eigenvalues.clone(),
            })
            .collect()
    }
}
