//! The constants and bounds of the paper's Section 3 theory.
//!
//! Rates here are per-step contraction factors of the loss gap
//! E_t = L(w_t) - L* unless named `distance`: E_{t+1} <= rate * E_t.

use ndarray::Array2;
use ndarray_linalg::{EigValsh, UPLO};

use crate::error::{Error, Result};
use crate::problem::{Block, Quadratic};

/// Assumption 1 with its tightest constants for a given start point:
/// c1_l lambda_max(H_l) <= |g0_i| <= c2_l lambda_max(H_l) for i in block l.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption1 {
    pub c1: Vec<f64>,
    pub c2: Vec<f64>,
    /// r = max_l (c2_l / c1_l)^2.
    pub r: f64,
    /// Theorem 2's step. The paper writes eta = min_l 1/C_l1; with Assumption 1
    /// as written (C in units of w, |g| / lambda), the step that gives
    /// eta * lambda_max(D0_l^{-1} H_l) <= 1 in every block -- the step the
    /// proof needs -- is eta = min_l c1_l, which is what we use.
    pub eta: f64,
}

/// The tightest Assumption 1 constants at the gradient `g0`. Errors when a
/// gradient coordinate is exactly 0 (Assumption 1 then fails: c1 = 0).
pub fn assumption1(p: &Quadratic, g0: &[f64]) -> Result<Assumption1> {
    let mut c1 = Vec::with_capacity(p.blocks.len());
    let mut c2 = Vec::with_capacity(p.blocks.len());
    for (l, b) in p.blocks.iter().enumerate() {
        let g = &g0[p.range(l)];
        let lo = g.iter().map(|x| x.abs()).fold(f64::INFINITY, f64::min);
        let hi = g.iter().map(|x| x.abs()).fold(0.0, f64::max);
        if !(lo > 0.0) {
            return Err(Error::Numeric(format!(
                "the gradient at w0 has a zero coordinate in block `{}`: Assumption 1 fails (c1 = 0); use another seed",
                b.name
            )));
        }
        c1.push(lo / b.lambda_max());
        c2.push(hi / b.lambda_max());
    }
    let r = c1.iter().zip(&c2).map(|(a, b)| (b / a).powi(2)).fold(0.0, f64::max);
    let eta = c1.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Assumption1 { c1, c2, r, eta })
}

/// Eigenvalues (ascending) of D^{-1} H_l, D = diag(d0) with d0 > 0, computed
/// as those of the similar symmetric matrix D^{-1/2} H D^{-1/2}.
pub fn precond_eigenvalues(b: &Block, d0: &[f64]) -> Result<Vec<f64>> {
    let d = b.dim();
    if d0.len() != d || d0.iter().any(|x| !(*x > 0.0 && x.is_finite())) {
        return Err(Error::Numeric("preconditioner must be positive and finite".into()));
    }
    let s: Vec<f64> = d0.iter().map(|x| 1.0 / x.sqrt()).collect();
    let a = Array2::from_shape_fn((d, d), |(i, j)| s[i] * b.h[i * d + j] * s[j]);
    let ev = a.eigvalsh(UPLO::Lower).map_err(|e| Error::Numeric(format!("eigensolver failed: {e}")))?;
    let mut v = ev.to_vec();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// kappa(D^{-1} H_l).
pub fn kappa_precond(b: &Block, d0: &[f64]) -> Result<f64> {
    let v = precond_eigenvalues(b, d0)?;
    let (lo, hi) = (v[0], v[v.len() - 1]);
    if !(lo > 0.0) {
        return Err(Error::Numeric("preconditioned block is not positive definite (numerically)".into()));
    }
    Ok(hi / lo)
}

/// GD with eta = 2/(mu+L) ([`crate::optimizer::gd_step`]): ||w-w*|| contracts by (kappa-1)/(kappa+1) = 1 - 2/(kappa+1) per step.
pub fn gd_distance_rate(kappa: f64) -> f64 {
    1.0 - 2.0 / (kappa + 1.0)
}

/// ... and the loss gap by its square, at every step.
pub fn gd_loss_rate(kappa: f64) -> f64 {
    gd_distance_rate(kappa).powi(2)
}

/// Theorem 1: blockwise GD, eta_l = 1/lambda_l,1: max_l (1 - 1/kappa_l).
pub fn theorem1_rate(kappas: &[f64]) -> f64 {
    kappas.iter().map(|k| 1.0 - 1.0 / k).fold(0.0, f64::max)
}

/// Theorem 2: Adam with beta2 = 1 at its step: max_l (1 - 1/(r kappa_l)).
pub fn theorem2_rate(kappas: &[f64], r: f64) -> f64 {
    kappas.iter().map(|k| 1.0 - 1.0 / (r * k)).fold(0.0, f64::max)
}

/// The bounds that hold in Theorem 2's setting (Adam with beta2 = 1 at the same
/// step eta = m = min_l c1_l), from docs/theorem2.md: Theorem 2 as stated
/// replaces m by each block's own c1_l and fails when the c1_l differ.
///
/// exact <= rho2 = max_l (1 - m/(c2_l kappa_l))^2 <= rho1 = max_l (1 - m/(c2_l kappa_l))
/// <= rho_r = max_l (1 - 1/(R kappa_l)), R = (max_l c2_l / min_l c1_l)^2 >= r.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theorem2Corrected {
    /// R = (max_l c2_l / min_l c1_l)^2.
    pub big_r: f64,
    /// The tight rate, attained by 1x1 blocks.
    pub rho2: f64,
    /// Its linear relaxation.
    pub rho1: f64,
    /// Theorem 2 with r replaced by R.
    pub rho_r: f64,
}

/// [`Theorem2Corrected`] from Assumption 1's per-block constants and the blocks' kappa_l.
pub fn theorem2_corrected(c1: &[f64], c2: &[f64], kappas: &[f64]) -> Theorem2Corrected {
    let m = c1.iter().copied().fold(f64::INFINITY, f64::min);
    let big_r = (c2.iter().copied().fold(0.0, f64::max) / m).powi(2);
    let a: Vec<f64> = c2.iter().zip(kappas).map(|(c, k)| m / (c * k)).collect();
    Theorem2Corrected {
        big_r,
        rho2: a.iter().map(|x| (1.0 - x).powi(2)).fold(0.0, f64::max),
        rho1: a.iter().map(|x| 1.0 - x).fold(0.0, f64::max),
        rho_r: theorem2_rate(kappas, big_r),
    }
}

/// The exact worst per-step loss contraction of w <- w - eta D^{-1} g:
/// max over the eigenvalues x of eta D_l^{-1} H_l of (1 - x)^2.
pub fn preconditioned_loss_rate(p: &Quadratic, d0: &[f64], eta: f64) -> Result<f64> {
    let mut worst: f64 = 0.0;
    for (l, b) in p.blocks.iter().enumerate() {
        for x in precond_eigenvalues(b, &d0[p.range(l)])? {
            worst = worst.max((1.0 - eta * x).powi(2));
        }
    }
    Ok(worst)
}

/// Iterations a per-step contraction `rate` needs to bring the relative
/// loss gap to `eps`: ceil(ln eps / ln rate); None when rate >= 1.
pub fn iterations_for(eps: f64, rate: f64) -> Option<u64> {
    if !(rate < 1.0) {
        return None;
    }
    if rate <= 0.0 {
        return Some(1);
    }
    Some((eps.ln() / rate.ln()).ceil().max(0.0) as u64)
}
