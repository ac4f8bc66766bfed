//! The algorithm's decisions, written once for every engine that runs it:
//! this crate's host loop (`lanczos`) and the device-tensor engine
//! (`lanczos-tensor`), so that both check the start vector, choose the
//! basis, take a second Gram-Schmidt pass, estimate partial
//! reorthogonalization and detect breakdown by the same rules.

use crate::kernels::norm;
use crate::partial::Omega;
use crate::{BasisKept, BasisPrecision, Options, Reorth};

/// The norm of a start vector for an operator of dimension `dim`, or why it
/// cannot start a run (wrong length, empty, NaN or Inf, zero).
pub fn check_start(start: &[f64], dim: usize) -> Result<f64, String> {
    if start.len() != dim {
        return Err(format!("length {} but operator dimension {dim}", start.len()));
    }
    if dim == 0 {
        return Err("operator has dimension 0".into());
    }
    if start.iter().any(|x| !x.is_finite()) {
        return Err("contains NaN or Inf".into());
    }
    let s = norm(start);
    if s == 0.0 {
        return Err("is zero".into());
    }
    Ok(s)
}

/// The options a run on dimension `dim` follows: `opts` moved down the
/// budget's ladder when it has one ([`crate::within_budget`]), checked.
pub fn effective_options(opts: &Options, dim: usize) -> Result<Options, String> {
    let chosen = match opts.basis_budget_gib {
        Some(budget) => crate::within_budget(opts, dim, budget),
        None => opts.clone(),
    };
    chosen.check()?;
    Ok(chosen)
}

/// Steps a run of `opts` takes at most on dimension `dim`.
pub fn max_steps(opts: &Options, dim: usize) -> usize {
    opts.steps.min(dim).max(1)
}

/// Gram-Schmidt's second pass ("twice is enough", Kahan-Parlett): needed
/// when the first removed most of the vector, its norm falling from
/// `before` to below 1/sqrt(2) of it.
pub fn second_pass_needed(before: f64, after: f64) -> bool {
    after < std::f64::consts::FRAC_1_SQRT_2 * before
}

/// Whether beta = `b` ends the run at an invariant subspace: below
/// `tol` times the largest ||A q|| seen (`anorm`), or exactly zero.
pub fn is_breakdown(b: f64, anorm: f64, tol: f64) -> bool {
    b <= tol * anorm || b == 0.0
}

/// Partial reorthogonalization's estimate for a run of `opts` (already
/// [`effective_options`]) on dimension `dim`; None unless the strategy
/// that runs is [`Reorth::Partial`].
pub fn partial_estimate(opts: &Options, dim: usize) -> Option<PartialEstimate> {
    if opts.reorth_run(dim) != Reorth::Partial {
        return None;
    }
    // An f32 basis leaves the vectors orthogonal only to f32's precision.
    let basis_eps = match opts.basis_kept(dim) {
        BasisKept::Full(BasisPrecision::F32) => f32::EPSILON as f64,
        _ => 0.0,
    };
    let reset = opts.operator_eps.max(basis_eps);
    Some(PartialEstimate(Omega::new(opts.operator_eps, opts.partial_threshold(), reset, max_steps(opts, dim))))
}

/// Simon's estimate of the loss of orthogonality (src/partial.rs), driven
/// step by step by an engine: [`step`](Self::step) after the three-term
/// recurrence says whether to orthogonalize, [`finish`](Self::finish)
/// says whether it was done.
#[derive(Debug)]
pub struct PartialEstimate(Omega);

impl PartialEstimate {
    /// After step j (`alpha` = alpha_0..alpha_j, `beta` = beta_0..beta_{j-1},
    /// `b` the new vector's norm before any reorthogonalization, `anorm`
    /// the largest ||A q|| so far): whether to orthogonalize it.
    pub fn step(&mut self, alpha: &[f64], beta: &[f64], b: f64, anorm: f64) -> bool {
        self.0.step(alpha, beta, b, anorm)
    }

    /// Ends the step: whether the new vector was orthogonalized against
    /// every stored one.
    pub fn finish(&mut self, orthogonalized: bool) {
        self.0.finish(orthogonalized)
    }
}
