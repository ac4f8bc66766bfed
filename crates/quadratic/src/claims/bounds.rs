//! Per-step bounds: GD at 2/(mu+L), Theorem 1 (blockwise GD) and Theorem 2
//! (Adam with beta2 = 1), checked between consecutive reported iterates;
//! with Theorem 2 also the bounds that hold in its place ([`theorem2_corrected`],
//! docs/theorem2.md).

use records::{Check, Problem};

use super::{check, rates::step_rates, same, Trajectory};
use crate::optimizer::{gd_step, Optimizer};
use crate::theory;

/// The per-step loss contraction a trajectory is checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// `gd-step-bound`, `theorem1`, `theorem2`, `theorem2-corrected` or `theorem2-tight`.
    pub claim: &'static str,
    pub rate: f64,
    pub statement: String,
}

/// The bound that covers trajectory `t` of problem `p`, if the theory covers
/// its optimizer at its step.
pub fn bound_for(p: &Problem, t: &Trajectory) -> Option<Bound> {
    let kappas: Vec<f64> = p.blocks.iter().map(|b| b.kappa).collect();
    match Optimizer::from_name(&t.optimizer)? {
        Optimizer::Gd if same(t.lr, gd_step(p.lambda_min, p.lambda_max)) => Some(Bound {
            claim: "gd-step-bound",
            rate: theory::gd_loss_rate(p.kappa),
            statement: format!(
                "GD with eta = 2/(mu+L): loss gap contracts by at most (1-2/(kappa+1))^2 per step, kappa = {}",
                p.kappa
            ),
        }),
        Optimizer::Bgd if same(t.lr, 1.0) => Some(Bound {
            claim: "theorem1",
            rate: theory::theorem1_rate(&kappas),
            statement: format!(
                "Theorem 1: blockwise GD with eta_l = 1/lambda_l,1 contracts the loss gap by at most max_l (1-1/kappa_l) \
                 per step, kappa_l = {kappas:?} (the exact worst factor is max_l (1-1/kappa_l)^2 = {})",
                kappas.iter().map(|k| (1.0 - 1.0 / k).powi(2)).fold(0.0, f64::max)
            ),
        }),
        o if o.is_adam() && t.beta1 == Some(0.0) && t.beta2 == Some(1.0) && same(t.lr, p.eta_adam) => Some(Bound {
            claim: "theorem2",
            rate: theory::theorem2_rate(&kappas, p.r),
            statement: format!(
                "Theorem 2: Adam with beta1 = 0, beta2 = 1 (D0 = diag|g0|) and eta = min_l c1_l = {} contracts the loss \
                 gap by at most max_l (1-1/(r kappa_l)) per step, r = max_l (c2_l/c1_l)^2 = {}, kappa_l = {kappas:?}",
                p.eta_adam, p.r
            ),
        }),
        _ => None,
    }
}

/// The bounds that hold where Theorem 2 is checked (same trajectory, same
/// step eta = min_l c1_l): `theorem2-corrected`, Theorem 2 with r replaced by
/// R = (max_l c2_l / min_l c1_l)^2, and `theorem2-tight`, the worst factor
/// max_l (1 - eta/(c2_l kappa_l))^2 that 1x1 blocks attain.
pub fn theorem2_corrected(p: &Problem) -> [Bound; 2] {
    let kappas: Vec<f64> = p.blocks.iter().map(|b| b.kappa).collect();
    let c = corrected_rates(p);
    [
        Bound {
            claim: "theorem2-corrected",
            rate: c.rho_r,
            statement: format!(
                "Theorem 2 corrected (docs/theorem2.md): Adam with beta1 = 0, beta2 = 1 and eta = min_l c1_l = {} \
                 contracts the loss gap by at most max_l (1-1/(R kappa_l)) per step, R = (max_l c2_l / min_l c1_l)^2 \
                 = {} (the paper's r = {}), kappa_l = {kappas:?}",
                p.eta_adam, c.big_r, p.r
            ),
        },
        Bound {
            claim: "theorem2-tight",
            rate: c.rho2,
            statement: format!(
                "Theorem 2, tight form (docs/theorem2.md): with eta = min_l c1_l the loss gap contracts by at most \
                 max_l (1 - eta/(c2_l kappa_l))^2 per step (<= the corrected bound {}); attained by 1x1 blocks, so \
                 observed may come close",
                c.rho_r
            ),
        },
    ]
}

/// [`theory::theorem2_corrected`] from a problem record's block constants.
pub fn corrected_rates(p: &Problem) -> theory::Theorem2Corrected {
    let c1: Vec<f64> = p.blocks.iter().map(|b| b.c1).collect();
    let c2: Vec<f64> = p.blocks.iter().map(|b| b.c2).collect();
    let kappas: Vec<f64> = p.blocks.iter().map(|b| b.kappa).collect();
    theory::theorem2_corrected(&c1, &c2, &kappas)
}

/// The check of `t` against its bound: every per-step loss-gap ratio at most
/// the bound (times 1 + tol). Without a bound, a not-applicable check for the
/// optimizers a theorem is about (run at another step); else nothing.
pub fn step_bound_check(p: &Problem, t: &Trajectory, bound: Option<&Bound>, tol: f64) -> Option<Check> {
    let (pid, opt) = (Some(p.problem.as_str()), Some(t.optimizer.as_str()));
    if let Some(b) = bound {
        let rates = step_rates(&t.points, false);
        let worst = rates.iter().copied().fold(0.0, f64::max);
        let violations = rates.iter().filter(|r| **r > b.rate * (1.0 + tol)).count() as u64;
        let mut c = check(
            b.claim,
            &b.statement,
            pid,
            opt,
            Some(b.rate),
            // A trajectory of one iterate has no step to compare: the check does not apply.
            (!rates.is_empty()).then_some(worst),
            (!rates.is_empty()).then_some(violations == 0),
            match rates.len() {
                0 => "one iterate only: no step to compare (holds = null)".to_string(),
                n => format!("observed = the largest per-step loss-gap ratio over {n} compared intervals"),
            },
        );
        c.steps_checked = Some(rates.len() as u64);
        c.violations = Some(violations);
        return Some(c);
    }
    let claim = match Optimizer::from_name(&t.optimizer)? {
        Optimizer::Gd => "gd-step-bound",
        Optimizer::Bgd => "theorem1",
        Optimizer::AdamFrozen => "theorem2",
        _ => return None,
    };
    Some(check(
        claim,
        "the theorem's bound applies only at its own step size",
        pid,
        opt,
        None,
        None,
        None,
        format!(
            "lr {} is not the theorem's step (gd: 2/(mu+L) = {}, bgd: 1, adam-frozen: eta_adam = {}): run quad-sim with the optimizer's default step",
            t.lr,
            gd_step(p.lambda_min, p.lambda_max),
            p.eta_adam
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{problem_record_of, trajectory_of};
    use super::*;
    use crate::theory;

    #[test]
    fn gd_at_its_step_meets_the_closed_form_bound() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let t = trajectory_of(&p, &q, &w0, Optimizer::Gd, gd_step(1.0, 9.0), 50);
        let b = bound_for(&p, &t).expect("gd at 2/(mu+L) has a bound");
        assert_eq!(b.claim, "gd-step-bound");
        assert_eq!(b.rate, (1.0 - 2.0 / 10.0f64).powi(2));
        let c = step_bound_check(&p, &t, Some(&b), 1e-9).unwrap();
        assert_eq!((c.holds, c.violations, c.steps_checked), (Some(true), Some(0), Some(50)));
    }

    #[test]
    fn bgd_meets_theorem1_and_frozen_adam_theorem2() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let t = trajectory_of(&p, &q, &w0, Optimizer::Bgd, 1.0, 40);
        let b = bound_for(&p, &t).unwrap();
        assert_eq!((b.claim, b.rate), ("theorem1", theory::theorem1_rate(&[4.0, 4.5])));
        assert_eq!(step_bound_check(&p, &t, Some(&b), 1e-9).unwrap().holds, Some(true));
        let t = trajectory_of(&p, &q, &w0, Optimizer::AdamFrozen, p.eta_adam, 40);
        let b = bound_for(&p, &t).unwrap();
        assert_eq!((b.claim, b.rate), ("theorem2", theory::theorem2_rate(&[4.0, 4.5], p.r)));
        assert_eq!(step_bound_check(&p, &t, Some(&b), 1e-9).unwrap().holds, Some(true));
    }

    #[test]
    fn a_violation_is_counted() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let mut t = trajectory_of(&p, &q, &w0, Optimizer::Gd, gd_step(1.0, 9.0), 5);
        t.points[3].loss_gap = t.points[2].loss_gap; // a step that does not contract
        let b = bound_for(&p, &t).unwrap();
        let c = step_bound_check(&p, &t, Some(&b), 1e-9).unwrap();
        assert_eq!((c.holds, c.violations), (Some(false), Some(1)));
    }

    #[test]
    fn other_steps_are_not_applicable() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let t = trajectory_of(&p, &q, &w0, Optimizer::Gd, 0.01, 5);
        assert_eq!(bound_for(&p, &t), None);
        let c = step_bound_check(&p, &t, None, 1e-9).unwrap();
        assert_eq!((c.claim.as_str(), c.holds), ("gd-step-bound", None));
        let t = trajectory_of(&p, &q, &w0, Optimizer::Adam, 0.01, 5);
        assert_eq!(step_bound_check(&p, &t, None, 1e-9), None);
    }
}
