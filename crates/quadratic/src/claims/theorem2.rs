//! Theorem 2 as stated is false when the blocks' c1_l differ
//! (docs/theorem2.md): its smallest counterexample, run with the crate's own
//! Adam (beta1 = 0, beta2 = 1), and the corrected bounds checked on it.

use records::Check;

use super::{bounds, Config, Point, Trajectory};
use crate::error::{Error, Result};
use crate::experiment::problem_record;
use crate::optimizer::{self, OptSpec, RunOptions};
use crate::problem::{Block, Quadratic, Rotation};
use crate::Optimizer;

/// The claim of the counterexample.
pub const COUNTEREXAMPLE: &str = "theorem2-counterexample";

/// Its problem id.
pub const PROBLEM: &str = "theorem2-1x1";

/// Steps run: w_t = (0, 2^(1-t)) stays exact in f64 far beyond this.
pub const STEPS: u64 = 40;

/// H = diag(1, 1) as two 1x1 blocks, w0 = (1, 2).
pub fn problem() -> Result<(Quadratic, Vec<f64>)> {
    let q = Quadratic::new(vec![Block::diagonal("b1", &[1.0])?, Block::diagonal("b2", &[1.0])?])?;
    Ok((q, vec![1.0, 2.0]))
}

/// The counterexample's checks: `theorem2-counterexample` (predicted = the
/// paper's bound, 0; observed = the worst per-step loss-gap ratio, 1/4;
/// holds = false), then `theorem2-corrected` and `theorem2-tight` on the same
/// trajectory.
pub fn counterexample(config: &Config) -> Result<Vec<Check>> {
    let (q, w0) = problem()?;
    let p = problem_record(PROBLEM, "custom", "diagonal", 0, Rotation::AxisAligned, &q, &w0)?;
    let frozen = Optimizer::AdamFrozen;
    let spec = OptSpec { name: frozen.name().into(), method: frozen.method(0.0, 1.0), lr: p.eta_adam };
    let (steps, _) = optimizer::trajectory(&q, &w0, &spec, &RunOptions { iters: STEPS, stop_rel: 0.0 });
    let (beta1, beta2) = spec.betas();
    let t = Trajectory {
        problem: p.problem.clone(),
        optimizer: spec.name.clone(),
        lr: spec.lr,
        beta1,
        beta2,
        points: steps.iter().map(|s| Point { t: s.t, loss_gap: s.loss_gap, dist: s.dist }).collect(),
        stopped: None,
        first: PROBLEM.into(),
    };
    let paper = bounds::bound_for(&p, &t)
        .filter(|b| b.claim == "theorem2")
        .ok_or_else(|| Error::Numeric("the counterexample's trajectory is not at Theorem 2's step".into()))?;
    let mut c = bounds::step_bound_check(&p, &t, Some(&paper), config.tol)
        .ok_or_else(|| Error::Numeric("the counterexample has no Theorem 2 check".into()))?;
    let ratio = |i: usize| t.points[i + 1].loss_gap / t.points[i].loss_gap;
    let rates = bounds::corrected_rates(&p);
    c.claim = COUNTEREXAMPLE.into();
    c.statement = format!(
        "Theorem 2 as stated fails when the blocks' c1_l differ: two 1x1 blocks H = diag(1, 1), w0 = (1, 2) give \
         g0 = (1, 2), c1_l = c2_l = (1, 2), kappa_l = 1 and r = 1, so the theorem promises E_1 = 0 (rate \
         max_l (1-1/(r kappa_l)) = {})",
        paper.rate
    );
    c.detail = format!(
        "Adam with beta1 = 0, beta2 = 1 at eta = min_l c1_l = {}: w_t = (0, 2^(1-t)), so E_1/E_0 = {} and \
         E_(t+1)/E_t = {} at every later step (observed = the worst of {} steps). No step rescues the statement: \
         E_1 = 0 needs eta = 1 and eta = 2 at once. The proof's step (19) -> (20) replaces min_k c1_k by the \
         block's own c1_l; with R = (max_l c2_l / min_l c1_l)^2 = {} in place of r the bound ({}) holds, and the \
         tight factor max_l (1 - eta/(c2_l kappa_l))^2 = {} is attained. See docs/theorem2.md.",
        p.eta_adam,
        ratio(0),
        ratio(1),
        t.points.len() - 1,
        rates.big_r,
        rates.rho_r,
        rates.rho2
    );
    let mut out = vec![c];
    for b in &bounds::theorem2_corrected(&p) {
        out.extend(bounds::step_bound_check(&p, &t, Some(b), config.tol));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::tests::config;
    use super::*;
    use crate::theory;

    #[test]
    fn the_counterexample_contracts_by_one_fifth_then_one_quarter() {
        let (q, w0) = problem().unwrap();
        let frozen = Optimizer::AdamFrozen;
        let spec = OptSpec { name: frozen.name().into(), method: frozen.method(0.0, 1.0), lr: 1.0 };
        let (steps, _) = optimizer::trajectory(&q, &w0, &spec, &RunOptions { iters: STEPS, stop_rel: 0.0 });
        assert_eq!(steps.len() as u64, STEPS + 1);
        // E_t = (1 + 4) / 2, then 4^(1-t) / 2: exact in f64.
        assert_eq!(steps[1].loss_gap / steps[0].loss_gap, 1.0 / 5.0);
        for w in steps[1..].windows(2) {
            assert_eq!(w[1].loss_gap / w[0].loss_gap, 1.0 / 4.0, "t = {}", w[0].t);
        }
    }

    #[test]
    fn the_counterexample_breaks_theorem2_and_meets_the_corrected_bounds() {
        let checks = counterexample(&config()).unwrap();
        let claims: Vec<&str> = checks.iter().map(|c| c.claim.as_str()).collect();
        assert_eq!(claims, [COUNTEREXAMPLE, "theorem2-corrected", "theorem2-tight"]);
        let c = &checks[0];
        assert_eq!((c.predicted, c.observed, c.holds), (Some(0.0), Some(0.25), Some(false)));
        assert_eq!((c.steps_checked, c.violations), (Some(STEPS), Some(STEPS)));
        assert!(c.detail.contains("E_1/E_0 = 0.2 ") && c.detail.contains("docs/theorem2.md"), "{}", c.detail);
        // R = (2/1)^2 = 4: rho_R = 3/4; the tight factor (1 - 1/2)^2 = 1/4 is attained.
        assert_eq!((checks[1].predicted, checks[1].observed, checks[1].holds), (Some(0.75), Some(0.25), Some(true)));
        assert_eq!((checks[2].predicted, checks[2].observed, checks[2].holds), (Some(0.25), Some(0.25), Some(true)));
    }

    #[test]
    fn the_corrected_bounds_are_ordered_on_random_problems() {
        let mut rng = rng::SplitMix::new(7);
        for _ in 0..2000 {
            let blocks = 1 + (rng.uniform() * 4.0) as usize;
            let (mut c1, mut c2, mut kappas) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..blocks {
                let lo = 10f64.powf(rng.uniform() * 6.0 - 3.0);
                c1.push(lo);
                c2.push(lo * 10f64.powf(rng.uniform() * 2.0));
                kappas.push(10f64.powf(rng.uniform() * 4.0));
            }
            let r = c1.iter().zip(&c2).map(|(a, b)| (b / a).powi(2)).fold(0.0, f64::max);
            let c = theory::theorem2_corrected(&c1, &c2, &kappas);
            assert!(c.big_r >= r * (1.0 - 1e-15), "R = {} < r = {r}", c.big_r);
            assert!(c.rho_r >= c.rho1 && c.rho1 >= c.rho2 && c.rho2 >= 0.0, "{c:?} for {c1:?} {c2:?} {kappas:?}");
            assert!(c.rho_r <= 1.0);
        }
    }
}
