//! Per-block learning-rate factors for SGD (issue 19's rescue), how far
//! they move during training, and how much of SGD's deficit against AdamW
//! they close.
//!
//! Two rules give block b a factor from one number per block, v_b:
//! factor_b = max_c v_c / v_b, so the block with the largest v keeps the
//! base rate and every other block gets more.
//! * [`Rule::Curvature`]: v_b = lambda_max of the block's Hessian. Every
//!   block's rate times its largest curvature is then the same: the rule
//!   quad-sim's blockwise GD follows (eta_b = eta / lambda_max(H_b)).
//! * [`Rule::Gradient`]: v_b = the block's RMS gradient, |g_b| / sqrt(dim_b).
//!   SGD's first update of block b (its momentum buffer is g_b) then moves
//!   each coordinate by eta max_c v_c in RMS, the same in every block, as
//!   Adam's first update does (+-eta per coordinate): a rival that matches
//!   Adam's per-block step size without looking at curvature.

use crate::gap::t90;
use crate::rank::spearman;
use crate::{Error, Result};

/// Which number per block sets its factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Curvature,
    Gradient,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Curvature => "curvature",
            Rule::Gradient => "gradient",
        }
    }

    /// The record type whose blocks this rule reads.
    pub fn record(self) -> &'static str {
        match self {
            Rule::Curvature => "density",
            Rule::Gradient => "gradient",
        }
    }
}

/// A block's RMS gradient: its Euclidean norm over sqrt(dim).
pub fn rms(norm: f64, dim: u64) -> f64 {
    norm / (dim as f64).sqrt()
}

/// max_c v_c / v_b for every block b, in the order given. Every value must
/// be positive and finite (`names` name the blocks in the message).
pub fn equalizing_factors(names: &[&str], values: &[f64]) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Err(Error::undefined("no blocks to take learning-rate factors from"));
    }
    if let Some(i) = values.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        let name = names.get(i).copied().unwrap_or("?");
        return Err(Error::undefined(format!(
            "block `{name}` has value {}: a learning-rate factor needs it positive and finite",
            values[i]
        )));
    }
    let largest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(values.iter().map(|v| largest / v).collect())
}

/// How far one set of block factors moved from another (the same blocks,
/// in the same order).
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// Spearman's rho between the two factor vectors (None: fewer than two
    /// blocks, or one side constant).
    pub spearman: Option<f64>,
    /// max_b and median_b of |log10(later_b / initial_b)|.
    pub max_abs_log10: f64,
    pub median_abs_log10: f64,
    /// The block where the max is reached.
    pub max_block: usize,
}

/// The drift of `later` from `initial`: both positive and finite.
pub fn drift(initial: &[f64], later: &[f64]) -> Result<Drift> {
    if initial.len() != later.len() || initial.is_empty() {
        return Err(Error::undefined(format!(
            "{} initial factors against {} later ones: need the same blocks",
            initial.len(),
            later.len()
        )));
    }
    let logs: Vec<f64> = initial.iter().zip(later).map(|(a, b)| (b / a).log10().abs()).collect();
    if let Some(i) = logs.iter().position(|l| !l.is_finite()) {
        return Err(Error::undefined(format!(
            "block {i}: factors {} and {} have no finite ratio",
            initial[i], later[i]
        )));
    }
    let mut max_block = 0;
    for (i, l) in logs.iter().enumerate() {
        if *l > logs[max_block] {
            max_block = i;
        }
    }
    let rho = spearman(initial, later);
    let median = spectra::stats::median(logs.clone()).unwrap_or(f64::NAN);
    Ok(Drift {
        spearman: rho.is_finite().then_some(rho),
        max_abs_log10: logs[max_block],
        median_abs_log10: median,
        max_block,
    })
}

/// The share of SGD's deficit a rule closes, from paired seeds: for seed s,
/// closed_s = L_sgd,s - L_rule,s and gap_s = L_sgd,s - L_adamw,s; the share
/// is mean(closed) / mean(gap) = (gap_plain - gap_rule) / gap_plain.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    /// mean(closed) and its 90% t interval (loss units).
    pub closed: f64,
    pub closed_ci90: [f64; 2],
    /// mean(gap) of plain SGD and of the rule, each with its 90% t interval.
    pub gap_plain: f64,
    pub gap_plain_ci90: [f64; 2],
    pub gap_rule: f64,
    pub gap_rule_ci90: [f64; 2],
    /// mean(closed) / mean(gap).
    pub fraction: f64,
    /// Fieller's 90% interval for that ratio; None when it is unbounded
    /// (plain SGD's gap is not distinguishable from 0 at this level).
    pub fraction_ci90: Option<[f64; 2]>,
}

/// Fieller's 90% interval for mean(a) / mean(b), a and b paired samples of
/// n >= 2: the set of r for which |mean(a - r b)| <= t_{n-1} se(a - r b),
/// the roots of (bm^2 - t^2 v_bb) r^2 - 2 (am bm - t^2 v_ab) r +
/// (am^2 - t^2 v_aa) <= 0, v the (co)variances of the means. Bounded only
/// when bm^2 > t^2 v_bb, i.e. when mean(b)'s own t interval excludes 0.
pub fn fieller90(a: &[f64], b: &[f64]) -> Option<[f64; 2]> {
    let n = a.len();
    if n < 2 || b.len() != n {
        return None;
    }
    let nf = n as f64;
    let (am, bm) = (a.iter().sum::<f64>() / nf, b.iter().sum::<f64>() / nf);
    let cov = |x: &[f64], xm: f64, y: &[f64], ym: f64| {
        x.iter().zip(y).map(|(p, q)| (p - xm) * (q - ym)).sum::<f64>() / (nf - 1.0) / nf
    };
    let (vaa, vbb, vab) = (cov(a, am, a, am), cov(b, bm, b, bm), cov(a, am, b, bm));
    let t2 = t90(n - 1).powi(2);
    let qa = bm * bm - t2 * vbb;
    if !(qa > 0.0) {
        return None;
    }
    let qb = am * bm - t2 * vab;
    let qc = am * am - t2 * vaa;
    // The ratio itself satisfies the inequality, so the discriminant is >= 0
    // up to rounding.
    let root = (qb * qb - qa * qc).max(0.0).sqrt();
    Some([(qb - root) / qa, (qb + root) / qa])
}

/// [`Closed`] from final held-out losses, one per seed, in the same seed
/// order: plain SGD, SGD with the rule's factors, AdamW.
pub fn closed(sgd: &[f64], rule: &[f64], adamw: &[f64]) -> Result<Closed> {
    let n = sgd.len();
    if n < 2 || rule.len() != n || adamw.len() != n {
        return Err(Error::undefined(format!(
            "{n} plain SGD, {} rule and {} AdamW losses: need the same seeds, at least two",
            rule.len(),
            adamw.len()
        )));
    }
    if let Some(l) = sgd.iter().chain(rule).chain(adamw).find(|l| !l.is_finite()) {
        return Err(Error::undefined(format!("a final held-out loss is {l}")));
    }
    let closed: Vec<f64> = sgd.iter().zip(rule).map(|(s, r)| s - r).collect();
    let gap: Vec<f64> = sgd.iter().zip(adamw).map(|(s, a)| s - a).collect();
    if gap.iter().sum::<f64>() == 0.0 {
        return Err(Error::undefined("plain SGD's mean gap to AdamW is 0: there is no share of it to close"));
    }
    let gap_rule: Vec<f64> = rule.iter().zip(adamw).map(|(r, a)| r - a).collect();
    let (c, c_ci) = crate::gap::mean_interval(&closed);
    let (g, g_ci) = crate::gap::mean_interval(&gap);
    let (gr, gr_ci) = crate::gap::mean_interval(&gap_rule);
    Ok(Closed {
        closed: c,
        closed_ci90: c_ci,
        gap_plain: g,
        gap_plain_ci90: g_ci,
        gap_rule: gr,
        gap_rule_ci90: gr_ci,
        fraction: c / g,
        fraction_ci90: fieller90(&closed, &gap),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equalizing_factors_give_the_largest_value_factor_one() {
        let f = equalizing_factors(&["a", "b", "c"], &[4.0, 10.0, 0.5]).unwrap();
        assert_eq!(f, [2.5, 1.0, 20.0]);
        let e = equalizing_factors(&["a", "b"], &[4.0, 0.0]).unwrap_err().to_string();
        assert!(e.contains("block `b`") && e.contains("positive and finite"), "{e}");
        assert!(equalizing_factors(&["a"], &[f64::NAN]).is_err());
        assert!(equalizing_factors(&[], &[]).is_err());
        // RMS: norm 6 over 9 coordinates is 2 per coordinate.
        assert_eq!(rms(6.0, 9), 2.0);
    }

    #[test]
    fn drift_of_factors_by_hand() {
        // Ratios 1, 10, 1/100: |log10| 0, 1, 2; median 1, max 2 at block 2.
        // Ranks (1,2,3) against (2,3,1): rho = 1 - 6 (1+1+4) / (3 (9-1)) = -0.5.
        let d = drift(&[1.0, 2.0, 3.0], &[1.0, 20.0, 0.03]).unwrap();
        assert!((d.max_abs_log10 - 2.0).abs() < 1e-12 && (d.median_abs_log10 - 1.0).abs() < 1e-12);
        assert_eq!(d.max_block, 2);
        assert!((d.spearman.unwrap() + 0.5).abs() < 1e-12);
        // One side constant: rho undefined, not NaN in a record.
        assert_eq!(drift(&[1.0, 1.0], &[1.0, 2.0]).unwrap().spearman, None);
        assert!(drift(&[1.0], &[1.0, 2.0]).is_err());
        assert!(drift(&[1.0], &[0.0]).is_err());
    }

    #[test]
    fn fraction_closed_and_fieller_by_hand() {
        // Seeds: plain SGD 1.0, 1.2, 1.1; rule 0.6, 0.9, 0.6; AdamW 0.5, 0.6, 0.4.
        // closed = (0.4, 0.3, 0.5): mean 0.4; gap = (0.5, 0.6, 0.7): mean 0.6.
        let c = closed(&[1.0, 1.2, 1.1], &[0.6, 0.9, 0.6], &[0.5, 0.6, 0.4]).unwrap();
        assert!((c.closed - 0.4).abs() < 1e-12 && (c.gap_plain - 0.6).abs() < 1e-12);
        assert!((c.gap_rule - 0.2).abs() < 1e-12 && (c.fraction - 2.0 / 3.0).abs() < 1e-12);
        // Variances of the means (n = 3): closed deviations (0, -0.1, 0.1),
        // s^2 = 0.01, v_aa = 0.01/3; gap deviations (-0.1, 0, 0.1): v_bb =
        // 0.01/3; cross sum 0 + 0 + 0.01 over 2: s_ab = 0.005, v_ab = 0.005/3.
        // t = 2.919986: A = 0.36 - t^2 0.01/3, B = 0.24 - t^2 0.005/3,
        // C = 0.16 - t^2 0.01/3, interval (B -+ sqrt(B^2 - A C)) / A.
        let t2 = 2.919986f64 * 2.919986;
        let (a, b, cc) = (0.36 - t2 * 0.01 / 3.0, 0.24 - t2 * 0.005 / 3.0, 0.16 - t2 * 0.01 / 3.0);
        let root = (b * b - a * cc).sqrt();
        let want = [(b - root) / a, (b + root) / a];
        let got = c.fraction_ci90.unwrap();
        assert!((got[0] - want[0]).abs() < 1e-12 && (got[1] - want[1]).abs() < 1e-12, "{got:?} {want:?}");
        // Numerically A = 0.331579, B = 0.225789, C = 0.131579: [0.42236, 0.93955],
        // where |mean(a - r b)| / se(a - r b) is t exactly (checked by hand in Python).
        assert!((got[0] - 0.4223586).abs() < 1e-6 && (got[1] - 0.9395462).abs() < 1e-6, "{got:?}");
        assert!(got[0] < c.fraction && c.fraction < got[1]);
        // A plain gap whose interval spans 0: the ratio's interval is unbounded.
        let u = closed(&[1.0, 1.2, 1.1], &[0.9, 1.1, 1.0], &[0.5, 1.5, 1.0]).unwrap();
        assert_eq!(u.fraction_ci90, None);
        // Identical differences in every seed: the interval is the point.
        let p = fieller90(&[0.2, 0.2], &[0.4, 0.4]).unwrap();
        assert!((p[0] - 0.5).abs() < 1e-15 && (p[1] - 0.5).abs() < 1e-15);
        assert!(closed(&[1.0], &[1.0], &[1.0]).is_err());
        assert!(closed(&[1.0, f64::NAN], &[1.0, 1.0], &[1.0, 1.0]).is_err());
        assert!(closed(&[1.0, 2.0], &[1.0, 1.0], &[1.0, 2.0]).unwrap_err().to_string().contains("is 0"));
    }
}
