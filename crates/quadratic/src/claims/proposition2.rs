//! Proposition 2: Adam with beta2 < 1 and a constant step does not converge
//! on L(w) = w^2/2; it ends on the 2-cycle w = +-lr/2.

use records::Record;

use super::{check, Config};
use crate::error::Result;
use crate::experiment::{iterate_record, problem_record};
use crate::optimizer::{self, OptSpec, RunOptions, Stop};
use crate::problem::{Block, Quadratic, Rotation};
use crate::Optimizer;

/// The problem id of the demo's records.
pub const PROBLEM_ID: &str = "prop2-w2";

/// The demo's records: its `problem`, every `prop2_every`-th iterate of Adam
/// (beta1 = 0, beta2 = prop2_beta2, step prop2_lr) from w0 = 1, and the check.
pub fn proposition2(config: &Config) -> Result<Vec<Record>> {
    config.validate()?;
    let q = Quadratic::new(vec![Block::diagonal("w", &[1.0])?])?;
    let w0 = [1.0];
    let problem =
        problem_record(PROBLEM_ID, "prop2", "L(w) = w^2/2, w0 = 1 (Proposition 2)", 0, Rotation::AxisAligned, &q, &w0)?;
    let mut out = vec![Record::Problem(problem)];
    let (lr, beta2, steps) = (config.prop2_lr, config.prop2_beta2, config.prop2_steps);
    let adam = Optimizer::Adam;
    let spec = OptSpec { name: adam.name().into(), method: adam.method(0.0, beta2), lr };
    let (traj, s) = optimizer::trajectory(&q, &w0, &spec, &RunOptions { iters: steps, stop_rel: 0.0 });
    for st in traj.iter().filter(|st| st.t % config.prop2_every == 0 || st.last) {
        out.push(Record::Iterate(iterate_record(PROBLEM_ID, &spec, st)));
    }
    let n = traj.len();
    let tail = &traj[n.saturating_sub((n / 10).max(1))..];
    let amp = tail.iter().map(|s| s.dist).fold(0.0, f64::max);
    let tail_min = tail.iter().map(|s| s.dist).fold(f64::INFINITY, f64::min);
    let cycle = lr / 2.0;
    let min_seen = traj.iter().map(|s| s.dist).fold(f64::INFINITY, f64::min);
    // The 2-cycle w = +-lr/2 with v = w^2 is a fixed point of the dynamics.
    let underflow = min_seen < 1e-290 || s.stopped == Some(Stop::Converged);
    let holds = if underflow {
        None
    } else {
        Some((amp - cycle).abs() <= 0.01 * cycle && (tail_min - cycle).abs() <= 0.01 * cycle)
    };
    // The same start with beta2 = 1 for contrast.
    let frozen = Optimizer::AdamFrozen;
    let frozen = OptSpec { name: frozen.name().into(), method: frozen.method(0.0, 1.0), lr };
    let (_, fs) = optimizer::trajectory(&q, &w0, &frozen, &RunOptions { iters: steps, stop_rel: 0.0 });
    out.push(Record::Check(check(
        "proposition2",
        "Proposition 2: Adam with beta2 < 1 and a constant step does not converge on L(w) = w^2/2: it ends on the 2-cycle \
         w = +-lr/2 (v = w^2), so |w_t| stays at lr/2 and the loss gap at lr^2/8",
        Some(PROBLEM_ID),
        Some(adam.name()),
        Some(cycle),
        Some(amp),
        holds,
        format!(
            "observed = max |w_t| over the last tenth of {steps} steps (min there {tail_min:e}; smallest |w_t| on the way {min_seen:e}), lr {lr}, \
             beta2 {beta2}; holds if both are within 1% of lr/2.{} Adam with beta2 = 1 and the same step ends at |w| = {}",
            if underflow {
                " Inconclusive in f64: the transient passed below 1e-290 (w shrinks geometrically while v decays only like \
                 beta2^t) and underflowed before the cycle could form; try a smaller --prop2-beta2 or a larger --prop2-lr."
            } else {
                ""
            },
            (2.0 * fs.final_loss).sqrt()
        ),
    )));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::tests::config;
    use super::*;

    #[test]
    fn adam_ends_on_the_two_cycle_at_half_the_step() {
        let recs = proposition2(&config()).unwrap();
        let Some(Record::Check(c)) = recs.last() else { panic!("the check comes last") };
        assert_eq!(c.holds, Some(true), "{}", c.detail);
        assert_eq!(c.predicted, Some(0.005));
        assert!((c.observed.unwrap() - 0.005).abs() <= 0.005 * 0.01);
        let Record::Problem(p) = &recs[0] else { panic!("the problem comes first") };
        assert_eq!((p.kappa, p.r, p.eta_adam, p.loss0, p.blocks[0].kappa_precond), (1.0, 1.0, 1.0, 0.5, 1.0));
        // t = 0, 100, ..., 20000
        assert_eq!(recs.iter().filter(|r| matches!(r, Record::Iterate(_))).count(), 201);
    }

    #[test]
    fn an_underflowing_transient_is_inconclusive() {
        let c = Config { prop2_beta2: 0.999, ..config() };
        let recs = proposition2(&c).unwrap();
        let Some(Record::Check(c)) = recs.last() else { panic!("the check comes last") };
        assert_eq!(c.holds, None, "{}", c.detail);
    }
}
