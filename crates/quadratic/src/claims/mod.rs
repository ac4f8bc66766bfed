//! The quantitative claims of the paper's Section 3 as `check` (and
//! `distribution`) records: per-step bounds ([`bounds`]), long-run rates and
//! Proposition 1 ([`rates`]), Table 2 and the Adam-vs-GD comparison
//! ([`table2`]) on trajectories read from records, and the claims this crate
//! checks on problems it builds itself ([`monte_carlo`], [`proposition2`],
//! and Theorem 2's counterexample, [`theorem2`]).

pub mod bounds;
pub mod monte_carlo;
pub mod proposition2;
pub mod rates;
pub mod table2;
pub mod theorem2;

use std::collections::BTreeMap;

use records::{Check, Iterate, Problem};

use crate::error::{positive, Error, Result};

/// The settings of every claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Relative loss gap of Table 2's iteration counts.
    pub eps: f64,
    /// Relative slack allowed on per-step bounds (rounding).
    pub tol: f64,
    /// Random draws of Case 3 for the Monte-Carlo statements.
    pub trials: usize,
    /// Condition number of the Monte-Carlo Case 3 problems.
    pub mc_kappa: f64,
    /// Steps of frozen Adam run on each draw to check Theorem 2 per step.
    pub mc_iters: u64,
    /// Base seed of the Monte-Carlo draws.
    pub seed: u64,
    /// Step, beta2 and length of the Proposition 2 demo on w^2/2.
    pub prop2_lr: f64,
    pub prop2_beta2: f64,
    pub prop2_steps: u64,
    /// Keep every `prop2_every`-th iterate of the demo.
    pub prop2_every: u64,
}

impl Config {
    pub fn validate(&self) -> Result<()> {
        positive("eps", self.eps)?;
        if self.eps >= 1.0 {
            return Err(Error::setting("eps", "must be below 1"));
        }
        positive("prop2_lr", self.prop2_lr)?;
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(Error::setting("tol", "must be >= 0"));
        }
        if !(self.prop2_beta2 > 0.0 && self.prop2_beta2 < 1.0) {
            return Err(Error::setting("prop2_beta2", format!("must be in (0, 1), got {}", self.prop2_beta2)));
        }
        if !(self.mc_kappa.is_finite() && self.mc_kappa > 103.0) {
            return Err(Error::setting("mc_kappa", "must exceed 103 (Case 3's clusters must stay disjoint)"));
        }
        if self.prop2_every == 0 {
            return Err(Error::setting("prop2_every", "must be at least 1"));
        }
        Ok(())
    }
}

/// One reported point of a trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: u64,
    pub loss_gap: f64,
    pub dist: f64,
}

/// One optimizer's trajectory on one problem, as read from `iterate` records.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    pub problem: String,
    pub optimizer: String,
    pub lr: f64,
    pub beta1: Option<f64>,
    pub beta2: Option<f64>,
    pub points: Vec<Point>,
    pub stopped: Option<String>,
    /// Where its first iterate was read.
    pub first: String,
}

type Key = (String, String, u64, Option<u64>, Option<u64>);

fn key(it: &Iterate) -> Key {
    (it.problem.clone(), it.optimizer.clone(), it.lr.to_bits(), it.beta1.map(f64::to_bits), it.beta2.map(f64::to_bits))
}

/// The `problem` and `iterate` records read so far.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// A later record with the same id replaces an earlier one (and moves last).
    pub problems: Vec<Problem>,
    /// In the order their first iterates came.
    pub trajectories: Vec<Trajectory>,
    index: BTreeMap<Key, usize>,
}

impl Inputs {
    /// Add a `problem` record; Err names the offending field and why.
    pub fn add_problem(&mut self, p: Problem) -> std::result::Result<(), (String, String)> {
        for (name, v) in [
            ("kappa", p.kappa),
            ("lambda_min", p.lambda_min),
            ("lambda_max", p.lambda_max),
            ("r", p.r),
            ("eta_adam", p.eta_adam),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err((name.to_string(), format!("must be positive and finite, got {v}")));
            }
        }
        if p.blocks.is_empty() {
            return Err(("blocks".into(), "is empty".into()));
        }
        for (i, b) in p.blocks.iter().enumerate() {
            if !(b.kappa.is_finite() && b.kappa >= 1.0) {
                return Err((format!("blocks[{i}].kappa"), format!("must be >= 1, got {}", b.kappa)));
            }
        }
        self.problems.retain(|q| q.problem != p.problem);
        self.problems.push(p);
        Ok(())
    }

    /// Add an `iterate` record read at `location`; Err names the offending field and why.
    pub fn add_iterate(
        &mut self,
        it: Iterate,
        location: impl FnOnce() -> String,
    ) -> std::result::Result<(), (&'static str, String)> {
        for (name, v) in [("loss_gap", it.loss_gap), ("dist", it.dist), ("grad_norm", it.grad_norm)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err((name, format!("must be finite and >= 0, got {v}")));
            }
        }
        let k = key(&it);
        let i = match self.index.get(&k) {
            Some(&i) => i,
            None => {
                self.trajectories.push(Trajectory {
                    problem: it.problem.clone(),
                    optimizer: it.optimizer.clone(),
                    lr: it.lr,
                    beta1: it.beta1,
                    beta2: it.beta2,
                    points: Vec::new(),
                    stopped: None,
                    first: location(),
                });
                self.index.insert(k, self.trajectories.len() - 1);
                self.trajectories.len() - 1
            }
        };
        let t = &mut self.trajectories[i];
        if let Some(last) = t.points.last() {
            if it.t <= last.t {
                return Err((
                    "t",
                    format!(
                        "{} does not follow {} in trajectory {} / {} (lr {})",
                        it.t, last.t, it.problem, it.optimizer, it.lr
                    ),
                ));
            }
        }
        t.points.push(Point { t: it.t, loss_gap: it.loss_gap, dist: it.dist });
        if it.stopped.is_some() {
            t.stopped = it.stopped;
        }
        Ok(())
    }
}

/// Every check on the records read: per problem, each of its trajectories
/// against its bound (Theorem 2's followed by the bounds that hold in its
/// place), Proposition 1 and Table 2, then Adam against GD and Proposition
/// 1's worst case; then a `missing-problem` check for each
/// trajectory whose problem was not read.
pub fn input_checks(inputs: &Inputs, config: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    for p in &inputs.problems {
        let mine: Vec<&Trajectory> = inputs.trajectories.iter().filter(|t| t.problem == p.problem).collect();
        for t in &mine {
            let bound = bounds::bound_for(p, t);
            out.extend(bounds::step_bound_check(p, t, bound.as_ref(), config.tol));
            if bound.as_ref().is_some_and(|b| b.claim == "theorem2") {
                for b in bounds::theorem2_corrected(p) {
                    out.extend(bounds::step_bound_check(p, t, Some(&b), config.tol));
                }
            }
            if bound.is_some() && t.optimizer == crate::Optimizer::Gd.name() {
                out.extend(rates::proposition1(p, t));
            }
            out.push(table2::row(p, t, bound.as_ref(), config.eps));
        }
        out.extend(table2::adam_vs_gd(p, &mine, config.eps));
        out.push(rates::proposition1_any_eta(p));
    }
    for t in &inputs.trajectories {
        if !inputs.problems.iter().any(|p| p.problem == t.problem) {
            out.push(check(
                "missing-problem",
                "every trajectory needs its `problem` record to be checked",
                Some(&t.problem),
                Some(&t.optimizer),
                None,
                None,
                None,
                format!("no `problem` record with id `{}` (first iterate at {})", t.problem, t.first),
            ));
        }
    }
    out
}

/// A `check` record; non-finite predicted / observed values are left out.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check(
    claim: &str,
    statement: &str,
    problem: Option<&str>,
    optimizer: Option<&str>,
    predicted: Option<f64>,
    observed: Option<f64>,
    holds: Option<bool>,
    detail: String,
) -> Check {
    Check {
        claim: claim.into(),
        statement: statement.into(),
        problem: problem.map(str::to_string),
        optimizer: optimizer.map(str::to_string),
        predicted: predicted.filter(|x| x.is_finite()),
        observed: observed.filter(|x| x.is_finite()),
        holds,
        steps_checked: None,
        violations: None,
        detail,
    }
}

/// Equal up to rounding: how a step read back from a record is compared with the theory's.
pub(crate) fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::experiment::{iterate_record, problem_record};
    use crate::optim::{self, RunOptions};
    use crate::{Block, Optimizer, Quadratic, Rotation};

    /// The command-line defaults.
    pub fn config() -> Config {
        Config {
            eps: 1e-6,
            tol: 1e-9,
            trials: 1000,
            mc_kappa: 2000.0,
            mc_iters: 300,
            seed: 0,
            prop2_lr: 0.01,
            prop2_beta2: 0.99,
            prop2_steps: 20000,
            prop2_every: 100,
        }
    }

    /// Two diagonal blocks (Q = I) from w0 = (1, ..., 1), so g0 = the
    /// eigenvalues and every constant has a closed form.
    pub fn problem_record_of(b1: &[f64], b2: &[f64]) -> (Problem, Quadratic, Vec<f64>) {
        let q = Quadratic::new(vec![Block::diagonal("b1", b1).unwrap(), Block::diagonal("b2", b2).unwrap()]).unwrap();
        let w0 = vec![1.0; q.dim()];
        let p = problem_record("test", "custom", "diagonal", 0, Rotation::AxisAligned, &q, &w0).unwrap();
        (p, q, w0)
    }

    /// Every point of `optimizer` at `lr` (betas 0.9, 0.999) as read back from its records.
    pub fn trajectory_of(
        p: &Problem,
        q: &Quadratic,
        w0: &[f64],
        optimizer: Optimizer,
        lr: f64,
        iters: u64,
    ) -> Trajectory {
        let spec = optim::OptSpec { name: optimizer.name().into(), method: optimizer.method(0.9, 0.999), lr };
        let (steps, _) = optim::trajectory(q, w0, &spec, &RunOptions { iters, stop_rel: 0.0 });
        let mut inputs = Inputs::default();
        for s in &steps {
            inputs.add_iterate(iterate_record(&p.problem, &spec, s), || "test".into()).unwrap();
        }
        inputs.trajectories.remove(0)
    }

    #[test]
    fn iterates_group_into_trajectories_in_order() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let spec = optim::OptSpec { name: "gd".into(), method: optim::Method::Gd, lr: 0.1 };
        let (steps, _) = optim::trajectory(&q, &w0, &spec, &RunOptions { iters: 3, stop_rel: 0.0 });
        let mut inputs = Inputs::default();
        let other = optim::OptSpec { lr: 0.2, ..spec.clone() };
        for s in &steps {
            inputs.add_iterate(iterate_record("p", &spec, s), || "a".into()).unwrap();
            inputs.add_iterate(iterate_record("p", &other, s), || "b".into()).unwrap();
        }
        assert_eq!(inputs.trajectories.len(), 2);
        assert_eq!((inputs.trajectories[0].lr, inputs.trajectories[0].first.as_str()), (0.1, "a"));
        assert_eq!(inputs.trajectories[1].points.len(), 4);
        let (field, _) = inputs.add_iterate(iterate_record("p", &spec, &steps[1]), || "c".into()).unwrap_err();
        assert_eq!(field, "t", "time must move forward");
        let mut bad = iterate_record("p", &spec, &steps[0]);
        bad.loss_gap = f64::NAN;
        assert_eq!(inputs.add_iterate(bad, || "d".into()).unwrap_err().0, "loss_gap");
        let _ = p;
    }

    #[test]
    fn problems_are_checked_and_replaced_by_id() {
        let (p, _, _) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let mut inputs = Inputs::default();
        let mut bad = p.clone();
        bad.blocks[1].kappa = 0.5;
        assert_eq!(inputs.add_problem(bad).unwrap_err().0, "blocks[1].kappa");
        let mut bad = p.clone();
        bad.r = f64::INFINITY;
        assert_eq!(inputs.add_problem(bad).unwrap_err().0, "r");
        inputs.add_problem(p.clone()).unwrap();
        inputs.add_problem(p).unwrap();
        assert_eq!(inputs.problems.len(), 1);
    }

    #[test]
    fn input_checks_cover_each_trajectory_and_flag_missing_problems() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let mut inputs = Inputs::default();
        inputs.add_problem(p.clone()).unwrap();
        inputs.trajectories.push(trajectory_of(&p, &q, &w0, Optimizer::Gd, crate::optimizer::gd_step(1.0, 9.0), 100));
        let mut orphan = trajectory_of(&p, &q, &w0, Optimizer::Bgd, 1.0, 10);
        orphan.problem = "elsewhere".into();
        inputs.trajectories.push(orphan);
        let claims: Vec<String> = input_checks(&inputs, &config()).into_iter().map(|c| c.claim).collect();
        assert_eq!(
            claims,
            [
                "gd-step-bound",
                "proposition1",
                "proposition1-distance",
                "table2",
                "proposition1-any-eta",
                "missing-problem"
            ]
        );
    }

    #[test]
    fn theorem2_is_followed_by_the_bounds_that_hold_on_the_same_steps() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let mut inputs = Inputs::default();
        inputs.add_problem(p.clone()).unwrap();
        inputs.trajectories.push(trajectory_of(&p, &q, &w0, Optimizer::AdamFrozen, p.eta_adam, 60));
        let checks = input_checks(&inputs, &config());
        let claims: Vec<&str> = checks.iter().map(|c| c.claim.as_str()).collect();
        assert_eq!(claims[..3], ["theorem2", "theorem2-corrected", "theorem2-tight"]);
        for c in &checks[..3] {
            assert_eq!((c.holds, c.steps_checked, c.observed), (Some(true), Some(60), checks[0].observed), "{c:?}");
        }
        // Diagonal blocks from w0 = 1: c1 = (1/4, 2/9), c2 = (1, 1), so R = 81/4 >= r = 16.
        let kappas = [4.0, 4.5];
        assert_eq!(checks[1].predicted, Some(crate::theory::theorem2_rate(&kappas, 81.0 / 4.0)));
        assert!(checks[2].predicted.unwrap() <= checks[1].predicted.unwrap());
    }

    #[test]
    fn settings_are_validated_by_name() {
        for (c, setting) in [
            (Config { eps: 2.0, ..config() }, "eps"),
            (Config { tol: -1.0, ..config() }, "tol"),
            (Config { prop2_beta2: 1.0, ..config() }, "prop2_beta2"),
            (Config { prop2_every: 0, ..config() }, "prop2_every"),
        ] {
            assert!(matches!(c.validate(), Err(Error::Setting { setting: s, .. }) if s == setting), "{setting}");
        }
        assert_eq!(config().validate(), Ok(()));
    }
}
