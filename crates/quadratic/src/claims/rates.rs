//! Observed rates of trajectories, and Proposition 1: GD cannot beat
//! (1-2/(kappa+1)) per step, neither in the long run at 2/(mu+L) nor at
//! any step size in the worst case.

use records::{Check, Problem};

use super::{check, Point, Trajectory};
use crate::optimizer::{self, gd_step, Method, OptSpec, Optimizer, RunOptions, Stop};
use crate::problem::{Block, Quadratic};
use crate::theory;

/// Per-step rates between consecutive points, (E2/E1)^(1/(t2-t1)) of the
/// loss gap (or of the distance with `dist`); intervals starting at 0 are skipped.
pub fn step_rates(points: &[Point], dist: bool) -> Vec<f64> {
    points
        .windows(2)
        .filter_map(|w| {
            let (a, b) = if dist { (w[0].dist, w[1].dist) } else { (w[0].loss_gap, w[1].loss_gap) };
            (a > 0.0).then(|| (b / a).powf(1.0 / (w[1].t - w[0].t) as f64))
        })
        .collect()
}

/// Geometric-mean rate over the last tenth of the trajectory.
pub fn tail_rate(points: &[Point], dist: bool) -> Option<f64> {
    let last = points.last()?;
    let span = (last.t / 10).max(1);
    let start = points.iter().find(|p| p.t + span >= last.t && p.t < last.t)?;
    let (a, b) = if dist { (start.dist, last.dist) } else { (start.loss_gap, last.loss_gap) };
    (a > 0.0 && b > 0.0).then(|| (b / a).powf(1.0 / (last.t - start.t) as f64))
}

/// The first reported t with a loss gap at most eps times the first one.
pub fn first_below(points: &[Point], eps: f64) -> Option<u64> {
    let e0 = points.first()?.loss_gap;
    points.iter().find(|p| p.loss_gap <= eps * e0).map(|p| p.t)
}

/// Proposition 1 on a GD trajectory at 2/(mu+L): the long-run loss-gap and
/// distance rates are no faster than (1-2/(kappa+1))^2 and 1-2/(kappa+1).
pub fn proposition1(p: &Problem, t: &Trajectory) -> [Check; 2] {
    let (pid, opt) = (Some(p.problem.as_str()), Some(t.optimizer.as_str()));
    let rho = theory::gd_distance_rate(p.kappa);
    let note = if t.stopped.is_some() { " (trajectory stopped early: the tail may be short)" } else { "" };
    let tl = tail_rate(&t.points, false);
    let td = tail_rate(&t.points, true);
    [
        check(
            "proposition1",
            "Proposition 1: GD's loss gap contracts no faster than (1-2/(kappa+1))^2 per step in the long run \
             (the paper writes 1-2/(kappa+1): that is the contraction of ||w-w*||, checked as proposition1-distance)",
            pid,
            opt,
            Some(rho * rho),
            tl,
            tl.map(|x| x >= rho * rho * (1.0 - 1e-3)),
            format!("observed = geometric-mean loss-gap ratio over the last tenth of the steps; holds if within 0.1% of or above the bound{note}"),
        ),
        check(
            "proposition1-distance",
            "Proposition 1 (distance form): ||w_t - w*|| contracts no faster than 1-2/(kappa+1) per step in the long run",
            pid,
            opt,
            Some(rho),
            td,
            td.map(|x| x >= rho * (1.0 - 1e-3)),
            format!("observed = geometric-mean ratio of ||w-w*|| over the last tenth of the steps{note}"),
        ),
    ]
}

/// Steps of Proposition 1's worst-case search.
const WORST_CASE_STEPS: u64 = 1000;

/// The best per-step rate (E_T/E_0)^(1/T) of GD on diag(mu, L) from equal
/// loss on both eigenvectors over 400 step sizes in (0, 4/(mu+L)], and the
/// step that achieved it.
pub fn best_gd_rate(mu: f64, l: f64, steps: u64) -> crate::Result<(f64, f64)> {
    let q = Quadratic::new(vec![Block::diagonal("worst", &[mu, l])?])?;
    let w0 = [1.0 / mu.sqrt(), 1.0 / l.sqrt()];
    let opts = RunOptions { iters: steps, stop_rel: 0.0 };
    let mut best = (f64::INFINITY, 0.0);
    let eta_star = gd_step(mu, l);
    for k in 1..=400 {
        let eta = eta_star * k as f64 / 200.0; // (0, 2 eta*]
        let spec = OptSpec { name: Optimizer::Gd.name().into(), method: Method::Gd, lr: eta };
        let (traj, s) = optimizer::trajectory(&q, &w0, &spec, &opts);
        let last = traj.last().map_or(0, |x| x.t).max(1);
        let rate =
            if s.stopped == Some(Stop::Diverged) { f64::INFINITY } else { s.final_rel_gap().powf(1.0 / last as f64) };
        if rate < best.0 {
            best = (rate, eta);
        }
    }
    Ok(best)
}

/// Proposition 1's worst case: on diag(mu, L) from a start with equal loss
/// on both eigenvectors, no step size does better over T steps than
/// E_T >= 1/2 (1-2/(kappa+1))^(2T) E_0.
pub fn proposition1_any_eta(p: &Problem) -> Check {
    let steps = WORST_CASE_STEPS;
    let (mu, l) = (p.lambda_min, p.lambda_max);
    let predicted = theory::gd_loss_rate(p.kappa) * 0.5f64.powf(1.0 / steps as f64);
    match best_gd_rate(mu, l, steps) {
        Ok((rate, eta)) => check(
            "proposition1-any-eta",
            "Proposition 1, worst case: for every step size, GD on diag(mu, L) from equal loss on both eigenvectors \
             has E_T >= 1/2 (1-2/(kappa+1))^(2T) E_0, i.e. per-step rate >= (1-2/(kappa+1))^2 2^(-1/T)",
            Some(&p.problem),
            Some(Optimizer::Gd.name()),
            Some(predicted),
            Some(rate),
            Some(rate >= predicted * (1.0 - 1e-9)),
            format!(
                "observed = the best per-step rate (E_T/E_0)^(1/T) over 400 step sizes in (0, 4/(mu+L)], T = {steps}; best eta = {eta} (2/(mu+L) = {})",
                gd_step(mu, l)
            ),
        ),
        Err(e) => check(
            "proposition1-any-eta",
            "Proposition 1 worst case",
            Some(&p.problem),
            Some(Optimizer::Gd.name()),
            None,
            None,
            None,
            e.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{problem_record_of, trajectory_of};
    use super::*;
    use crate::Optimizer;

    fn pts(v: &[(u64, f64, f64)]) -> Vec<Point> {
        v.iter().map(|&(t, loss_gap, dist)| Point { t, loss_gap, dist }).collect()
    }

    #[test]
    fn rates_of_a_geometric_sequence() {
        let p = pts(&[(0, 1.0, 1.0), (2, 0.25, 0.5), (4, 0.0625, 0.25), (5, 0.0, 0.0)]);
        assert_eq!(step_rates(&p, false), vec![0.5, 0.5, 0.0]);
        assert_eq!(step_rates(&p, true), vec![0.5f64.sqrt(), 0.5f64.sqrt(), 0.0]);
        assert_eq!(first_below(&p, 0.1), Some(4));
        assert_eq!(first_below(&p, 1e-9), Some(5));
        // The tail is the last tenth: from t = 18 to 20 here.
        let q: Vec<Point> = (0..=20).map(|t| Point { t, loss_gap: 2f64.powi(-(t as i32)), dist: 1.0 }).collect();
        assert_eq!(tail_rate(&q, false), Some(0.5));
        assert_eq!(tail_rate(&q, true), Some(1.0));
        let sparse = pts(&[(0, 1.0, 1.0), (10, 0.5, 1.0), (20, 0.25, 1.0)]);
        assert_eq!(tail_rate(&sparse, false), None, "no point inside the last tenth");
        assert_eq!(tail_rate(&p, false), None, "a zero loss gap has no rate");
    }

    #[test]
    fn gd_at_its_step_contracts_at_the_closed_form_rate() {
        // diag(1, 9) from w0 = (1, 1): the slow mode contracts by exactly 1 - 2/10.
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let t = trajectory_of(&p, &q, &w0, Optimizer::Gd, gd_step(1.0, 9.0), 200);
        let [loss, dist] = proposition1(&p, &t);
        assert_eq!((loss.holds, dist.holds), (Some(true), Some(true)));
        assert!((loss.observed.unwrap() - 0.64).abs() < 1e-9, "{:?}", loss.observed);
        assert!((dist.observed.unwrap() - 0.8).abs() < 1e-9, "{:?}", dist.observed);
    }

    #[test]
    fn no_step_beats_the_worst_case_and_the_best_is_near_2_over_mu_plus_l() {
        let (p, _, _) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let c = proposition1_any_eta(&p);
        assert_eq!(c.holds, Some(true));
        let (rate, eta) = best_gd_rate(1.0, 9.0, 1000).unwrap();
        assert!((eta - 0.2).abs() <= 0.2 / 200.0 + 1e-15, "best eta {eta}");
        assert!(rate >= 0.64 * 0.5f64.powf(1e-3) * (1.0 - 1e-9));
    }
}
