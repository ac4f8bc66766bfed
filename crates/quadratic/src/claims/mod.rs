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

/// Most trials, steps per draw and Proposition 2 steps a [`Config`] takes
/// (a trajectory of this many steps is a few hundred MB).
pub const MAX_COUNT: u64 = 10_000_000;

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
        // Each trajectory is held whole, and the draws' values too: sizes
        // are bounded before any work rather than by an allocation failure.
        for (setting, v) in
            [("trials", self.trials as u64), ("mc_iters", self.mc_iters), ("prop2_steps", self.prop2_steps)]
        {
            if v > MAX_COUNT {
                return Err(Error::setting(setting, format!("{v} is more than {MAX_COUNT}")));
            }
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
    /// In the order they came; ids are unique.
    pub problems: Vec<Problem>,
    /// In the order their first iterates came.
    pub trajectories: Vec<Trajectory>,
    index: BTreeMap<Key, usize>,
    /// Where each problem was read, by id.
    problem_at: BTreeMap<String, String>,
}

/// Relative slack on a constant of a `problem` record that another field
/// determines (JSON keeps f64 exactly; this only absorbs other writers' rounding).
const CONSISTENT: f64 = 1e-9;

fn consistent(got: f64, want: f64) -> bool {
    (got - want).abs() <= CONSISTENT * got.abs().max(want.abs())
}

/// The checks of a `problem` record on its own: every constant the claims
/// use is positive and finite, and each one that others determine agrees
/// with them (dims, extreme eigenvalues, condition numbers, r, eta).
fn check_problem(p: &Problem) -> std::result::Result<(), (String, String)> {
    let bad = |field: &str, why: String| Err((field.to_string(), why));
    for (name, v) in [
        ("kappa", p.kappa),
        ("lambda_min", p.lambda_min),
        ("lambda_max", p.lambda_max),
        ("loss0", p.loss0),
        ("grad0_norm", p.grad0_norm),
        ("r", p.r),
        ("eta_adam", p.eta_adam),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return bad(name, format!("must be positive and finite, got {v}"));
        }
    }
    if p.blocks.is_empty() {
        return bad("blocks", "is empty".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, b) in p.blocks.iter().enumerate() {
        let at = |f: &str| format!("blocks[{i}].{f}");
        if !names.insert(b.name.as_str()) {
            return bad(&at("name"), format!("`{}` names an earlier block of this problem too", b.name));
        }
        if b.dim == 0 {
            return bad(&at("dim"), "must be at least 1".into());
        }
        for (name, v) in [("lambda_min", b.lambda_min), ("lambda_max", b.lambda_max), ("c1", b.c1), ("c2", b.c2)] {
            if !(v.is_finite() && v > 0.0) {
                return bad(&at(name), format!("must be positive and finite, got {v}"));
            }
        }
        if b.lambda_min > b.lambda_max {
            return bad(&at("lambda_min"), format!("{} exceeds the block's lambda_max {}", b.lambda_min, b.lambda_max));
        }
        if !(b.kappa.is_finite() && b.kappa >= 1.0) {
            return bad(&at("kappa"), format!("must be >= 1, got {}", b.kappa));
        }
        if !consistent(b.kappa, b.lambda_max / b.lambda_min) {
            return bad(
                &at("kappa"),
                format!("is {} but lambda_max / lambda_min = {}", b.kappa, b.lambda_max / b.lambda_min),
            );
        }
        if b.c1 > b.c2 {
            return bad(&at("c1"), format!("{} exceeds c2 {} (c1 bounds the gradient from below)", b.c1, b.c2));
        }
        if !(b.kappa_precond.is_finite() && b.kappa_precond >= 1.0) {
            return bad(&at("kappa_precond"), format!("must be >= 1, got {}", b.kappa_precond));
        }
    }
    let total: u128 = p.blocks.iter().map(|b| b.dim as u128).sum();
    if p.dim as u128 != total {
        return bad("dim", format!("is {} but the blocks' dims sum to {total}", p.dim));
    }
    let lo = p.blocks.iter().map(|b| b.lambda_min).fold(f64::INFINITY, f64::min);
    let hi = p.blocks.iter().map(|b| b.lambda_max).fold(0.0, f64::max);
    let r = p.blocks.iter().map(|b| (b.c2 / b.c1).powi(2)).fold(0.0, f64::max);
    let eta = p.blocks.iter().map(|b| b.c1).fold(f64::INFINITY, f64::min);
    for (name, got, want, rule) in [
        ("lambda_min", p.lambda_min, lo, "the smallest block lambda_min"),
        ("lambda_max", p.lambda_max, hi, "the largest block lambda_max"),
        ("kappa", p.kappa, hi / lo, "lambda_max / lambda_min over the blocks"),
        ("r", p.r, r, "max_l (c2_l / c1_l)^2"),
        ("eta_adam", p.eta_adam, eta, "min_l c1_l"),
    ] {
        if !consistent(got, want) {
            return bad(name, format!("is {got} but {rule} is {want}"));
        }
    }
    Ok(())
}

impl Inputs {
    /// Add a `problem` record read at `location`; Err names the offending
    /// field and why. An id given twice is refused unless the records are
    /// identical (the second is then ignored): iterates could not tell
    /// which problem they ran on.
    pub fn add_problem(
        &mut self,
        p: Problem,
        location: impl FnOnce() -> String,
    ) -> std::result::Result<(), (String, String)> {
        check_problem(&p)?;
        if let Some(first) = self.problem_at.get(&p.problem) {
            if self.problems.contains(&p) {
                return Ok(());
            }
            return Err((
                "problem".into(),
                format!("id `{}` was given to a different problem at {first}: ids must be unique", p.problem),
            ));
        }
        self.problem_at.insert(p.problem.clone(), location());
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
        if !(it.lr.is_finite() && it.lr > 0.0) {
            return Err(("lr", format!("must be positive and finite, got {}", it.lr)));
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
    use crate::optimizer::{self, RunOptions};
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
        let spec = optimizer::OptSpec { name: optimizer.name().into(), method: optimizer.method(0.9, 0.999), lr };
        let (steps, _) = optimizer::trajectory(q, w0, &spec, &RunOptions { iters, stop_rel: 0.0 });
        let mut inputs = Inputs::default();
        for s in &steps {
            inputs.add_iterate(iterate_record(&p.problem, &spec, s), || "test".into()).unwrap();
        }
        inputs.trajectories.remove(0)
    }

    #[test]
    fn iterates_group_into_trajectories_in_order() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let spec = optimizer::OptSpec { name: "gd".into(), method: optimizer::Method::Gd, lr: 0.1 };
        let (steps, _) = optimizer::trajectory(&q, &w0, &spec, &RunOptions { iters: 3, stop_rel: 0.0 });
        let mut inputs = Inputs::default();
        let other = optimizer::OptSpec { lr: 0.2, ..spec.clone() };
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
        let mut bad = iterate_record("p", &spec, &steps[0]);
        bad.lr = -0.1;
        assert_eq!(inputs.add_iterate(bad, || "e".into()).unwrap_err().0, "lr");
        let _ = p;
    }

    #[test]
    fn problems_are_checked_and_ids_kept_unique() {
        let (p, _, _) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let mut inputs = Inputs::default();
        let mut bad = p.clone();
        bad.blocks[1].kappa = 0.5;
        assert_eq!(inputs.add_problem(bad, || "a".into()).unwrap_err().0, "blocks[1].kappa");
        let mut bad = p.clone();
        bad.r = f64::INFINITY;
        assert_eq!(inputs.add_problem(bad, || "a".into()).unwrap_err().0, "r");
        inputs.add_problem(p.clone(), || "b".into()).unwrap();
        inputs.add_problem(p.clone(), || "c".into()).unwrap();
        assert_eq!(inputs.problems.len(), 1, "an identical repeat is ignored");
        let mut other = p.clone();
        other.seed = 7;
        let (field, why) = inputs.add_problem(other, || "d".into()).unwrap_err();
        assert_eq!(field, "problem");
        assert!(why.contains("different problem at b"), "{why}");
    }

    #[test]
    fn a_problem_whose_constants_disagree_is_refused_by_field() {
        let (p, _, _) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        check_problem(&p).unwrap();
        type Spoil = fn(&mut Problem);
        let cases: [(&str, Spoil); 10] = [
            ("dim", |p| p.dim += 1),
            ("blocks[0].dim", |p| {
                p.blocks[0].dim = 0;
                p.dim -= 2;
            }),
            ("blocks[1].name", |p| p.blocks[1].name = "b1".into()),
            ("blocks[0].lambda_min", |p| p.blocks[0].lambda_min = 5.0),
            ("blocks[0].kappa", |p| p.blocks[0].kappa = 3.0),
            ("blocks[1].c1", |p| p.blocks[1].c1 = 2.0 * p.blocks[1].c2),
            ("lambda_max", |p| p.lambda_max = 10.0),
            ("kappa", |p| p.kappa = 2.0),
            ("r", |p| p.r *= 1.5),
            ("eta_adam", |p| p.eta_adam *= 0.5),
        ];
        for (field, spoil) in cases {
            let mut bad = p.clone();
            spoil(&mut bad);
            assert_eq!(check_problem(&bad).unwrap_err().0, field);
        }
    }

    #[test]
    fn input_checks_cover_each_trajectory_and_flag_missing_problems() {
        let (p, q, w0) = problem_record_of(&[1.0, 4.0], &[2.0, 9.0]);
        let mut inputs = Inputs::default();
        inputs.add_problem(p.clone(), || "test".into()).unwrap();
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
        inputs.add_problem(p.clone(), || "test".into()).unwrap();
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
            (Config { trials: 10_000_001, ..config() }, "trials"),
            (Config { mc_iters: u64::MAX, ..config() }, "mc_iters"),
            (Config { prop2_steps: 10_000_001, ..config() }, "prop2_steps"),
        ] {
            assert!(matches!(c.validate(), Err(Error::Setting { setting: s, .. }) if s == setting), "{setting}");
        }
        assert_eq!(config().validate(), Ok(()));
    }
}
