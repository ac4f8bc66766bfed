//! The optimizers of the paper's Section 3 on a [`Quadratic`]: their names
//! and parsing ([`Optimizer`], [`OptimizerRequest`]), the step the theory
//! prescribes for each, their update rules ([`Method`]) and the loop that runs
//! them one step at a time ([`run`]).
//!
//! "Adam" here is the paper's rule on a quadratic, not `nets::train`'s `adam`
//! / `adamw` (PyTorch's: moments from 0, bias-corrected, epsilon 1e-8 by
//! default). Here all moment estimates start from the first gradient
//! (m_0 = g_0, v_0 = g_0^2) and use no bias correction, so that beta2 = 1 is
//! exactly "Adam with frozen D0 = diag|g0|" of Theorem 2 and beta2 < 1 is the
//! paper's eq. (3) with that start. epsilon is 0; a coordinate with v = 0 (its
//! gradient has been exactly 0 so far) does not move.

use crate::error::{Error, Result};
use crate::problem::{norm, Quadratic};

/// An optimizer of the paper's Section 3 experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimizer {
    /// Gradient descent, eta = 2/(mu+L) by default.
    Gd,
    /// Blockwise GD, eta_l = lr / lambda_max(H_l) (lr = 1 by default).
    Bgd,
    /// Adam with beta1 = 0, beta2 from the configuration (the paper's rule, not `nets::train`'s `adam`).
    Adam,
    /// Adam with beta1 = 0, beta2 = 1: D0 = diag|g0| frozen (Theorem 2).
    AdamFrozen,
    /// Heavy ball in EMA form with beta1 from the configuration.
    SgdMomentum,
    /// Adam with beta1 and beta2 from the configuration.
    AdamMomentum,
}

impl Optimizer {
    /// Every optimizer, in the order error messages list them.
    pub const ALL: [Optimizer; 6] = [
        Optimizer::Gd,
        Optimizer::Bgd,
        Optimizer::Adam,
        Optimizer::AdamFrozen,
        Optimizer::SgdMomentum,
        Optimizer::AdamMomentum,
    ];

    /// The optimizers an experiment runs when none are asked for.
    pub const DEFAULT: [Optimizer; 4] = [Optimizer::Gd, Optimizer::Bgd, Optimizer::AdamFrozen, Optimizer::Adam];

    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Gd => "gd",
            Optimizer::Bgd => "bgd",
            Optimizer::Adam => "adam",
            Optimizer::AdamFrozen => "adam-frozen",
            Optimizer::SgdMomentum => "sgd-momentum",
            Optimizer::AdamMomentum => "adam-momentum",
        }
    }

    /// The optimizer called `name`, if any.
    pub fn from_name(name: &str) -> Option<Optimizer> {
        Optimizer::ALL.into_iter().find(|o| o.name() == name)
    }

    pub fn parse(name: &str) -> Result<Optimizer> {
        Optimizer::from_name(name).ok_or_else(|| Error::UnknownOptimizer(name.to_string()))
    }

    /// An Adam variant (a diagonal preconditioner from the squared gradients).
    pub fn is_adam(self) -> bool {
        matches!(self, Optimizer::Adam | Optimizer::AdamFrozen | Optimizer::AdamMomentum)
    }

    /// Its update rule with the configured betas (used only where it has them).
    pub fn method(self, beta1: f64, beta2: f64) -> Method {
        match self {
            Optimizer::Gd => Method::Gd,
            Optimizer::Bgd => Method::Bgd,
            Optimizer::Adam => Method::Adam { beta1: 0.0, beta2 },
            Optimizer::AdamFrozen => Method::Adam { beta1: 0.0, beta2: 1.0 },
            Optimizer::AdamMomentum => Method::Adam { beta1, beta2 },
            Optimizer::SgdMomentum => Method::SgdMomentum { beta1 },
        }
    }

    /// The step its theorem uses on `p`: GD's 2/(mu+L), blockwise GD's
    /// multiplier 1 (eta_l = 1/lambda_max(H_l)), frozen Adam's Theorem 2
    /// step `eta_adam`; None for the optimizers the theory does not cover.
    pub fn theory_step(self, p: &Quadratic, eta_adam: f64) -> Option<f64> {
        match self {
            Optimizer::Gd => Some(gd_step(p.lambda_min(), p.lambda_max())),
            Optimizer::Bgd => Some(1.0),
            Optimizer::AdamFrozen => Some(eta_adam),
            Optimizer::Adam | Optimizer::SgdMomentum | Optimizer::AdamMomentum => None,
        }
    }
}

/// GD's optimal constant step on a quadratic with eigenvalues in [mu, L]: 2/(mu+L).
pub fn gd_step(mu: f64, l: f64) -> f64 {
    2.0 / (mu + l)
}

/// How an experiment picks an optimizer's step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepRequest {
    /// The theory's step, else the configured default step, else tuned.
    Default,
    /// This step.
    Fixed(f64),
    /// Tuned over the learning-rate grid.
    Grid,
}

/// An optimizer with how its step is chosen: `NAME`, `NAME=LR` or `NAME=grid`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerRequest {
    pub optimizer: Optimizer,
    pub step: StepRequest,
}

impl std::str::FromStr for OptimizerRequest {
    type Err = Error;

    fn from_str(spec: &str) -> Result<OptimizerRequest> {
        let (name, value) = match spec.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (spec, None),
        };
        let optimizer = Optimizer::parse(name)?;
        let step =
            match value {
                None => StepRequest::Default,
                Some("grid") => StepRequest::Grid,
                Some(v) => StepRequest::Fixed(v.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0).ok_or_else(
                    || Error::setting("optimizer", format!("{spec}: `{v}` is not a positive step or `grid`")),
                )?),
            };
        Ok(OptimizerRequest { optimizer, step })
    }
}

/// An update rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// w <- w - lr g.
    Gd,
    /// w_l <- w_l - (lr / lambda_max(H_l)) g_l: blockwise GD (lr = 1 is the paper's eta_l = 1/lambda_l,1).
    Bgd,
    /// m <- beta1 m + (1-beta1) g; v <- beta2 v + (1-beta2) g^2; w <- w - lr m / sqrt(v)
    /// (no bias correction, epsilon 0: not `nets::train`'s `adam`).
    Adam { beta1: f64, beta2: f64 },
    /// m <- beta1 m + (1-beta1) g; w <- w - lr m (heavy ball in EMA form).
    SgdMomentum { beta1: f64 },
}

/// A named optimizer with its step size.
#[derive(Debug, Clone, PartialEq)]
pub struct OptSpec {
    pub name: String,
    pub method: Method,
    pub lr: f64,
}

impl OptSpec {
    pub fn betas(&self) -> (Option<f64>, Option<f64>) {
        match self.method {
            Method::Gd | Method::Bgd => (None, None),
            Method::Adam { beta1, beta2 } => (Some(beta1), Some(beta2)),
            Method::SgdMomentum { beta1 } => (Some(beta1), None),
        }
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Steps to take (the last point reported is w_iters).
    pub iters: u64,
    /// Stop once loss_gap <= stop_rel * loss0 (0 = never; a run always stops at w = w* = 0 exactly).
    pub stop_rel: f64,
}

/// Why a run ended before `iters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Converged,
    /// The next iterate's loss was not finite or exceeded 1e200 x loss0:
    /// the last reported point is the last sane one.
    Diverged,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Converged => "converged",
            Stop::Diverged => "diverged",
        }
    }
}

/// One reported point of a trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub t: u64,
    pub loss_gap: f64,
    pub grad_norm: f64,
    pub dist: f64,
    /// True on the last point of the run.
    pub last: bool,
    pub stopped: Option<Stop>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub steps: u64,
    pub loss0: f64,
    pub final_loss: f64,
    /// |grad| at the last point (the last sane one when the run diverged).
    pub final_grad_norm: f64,
    pub stopped: Option<Stop>,
}

impl Summary {
    /// The summary of a run whose last step is `last`, from loss `loss0`.
    fn at(last: &Step, loss0: f64) -> Self {
        Summary {
            steps: last.t,
            loss0,
            final_loss: last.loss_gap,
            final_grad_norm: last.grad_norm,
            stopped: last.stopped,
        }
    }

    pub fn final_rel_gap(&self) -> f64 {
        if self.loss0 > 0.0 {
            self.final_loss / self.loss0
        } else {
            0.0
        }
    }
}

/// Run `spec` on `p` from `w0`, calling `on_step` for t = 0, 1, ... up to the
/// last point (never with a non-finite value).
pub fn run<E>(
    p: &Quadratic,
    w0: &[f64],
    spec: &OptSpec,
    opts: &RunOptions,
    mut on_step: impl FnMut(&Step) -> std::result::Result<(), E>,
) -> std::result::Result<Summary, E> {
    let d = p.dim();
    assert_eq!(w0.len(), d, "start point has the wrong dimension");
    let mut w = w0.to_vec();
    let mut g = vec![0.0; d];
    p.grad(&w, &mut g);
    let mut loss = Quadratic::loss_from_grad(&w, &g);
    let loss0 = loss;
    let blow_up = 1e200 * loss0.max(f64::MIN_POSITIVE);
    let mut m = vec![0.0; d];
    let mut v = vec![0.0; d];
    let block_lr: Vec<f64> = p.blocks.iter().map(|b| spec.lr / b.lambda_max()).collect();
    let mut t: u64 = 0;
    loop {
        let mut step = Step { t, loss_gap: loss, grad_norm: norm(&g), dist: norm(&w), last: false, stopped: None };
        if (opts.stop_rel > 0.0 && loss <= opts.stop_rel * loss0) || w.iter().all(|x| *x == 0.0) {
            step.last = true;
            step.stopped = Some(Stop::Converged);
        } else if t >= opts.iters {
            step.last = true;
        }
        if step.last {
            on_step(&step)?;
            return Ok(Summary::at(&step, loss0));
        }
        // The update w_t -> w_{t+1}.
        let mut w_next = w.clone();
        match spec.method {
            Method::Gd => {
                for (x, gi) in w_next.iter_mut().zip(&g) {
                    *x -= spec.lr * gi;
                }
            }
            Method::Bgd => {
                for (l, lr) in block_lr.iter().enumerate() {
                    for i in p.range(l) {
                        w_next[i] -= lr * g[i];
                    }
                }
            }
            Method::Adam { beta1, beta2 } => {
                for i in 0..d {
                    if t == 0 {
                        m[i] = g[i];
                        v[i] = g[i] * g[i];
                    } else {
                        m[i] = beta1 * m[i] + (1.0 - beta1) * g[i];
                        v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
                    }
                    if v[i] > 0.0 {
                        w_next[i] -= spec.lr * m[i] / v[i].sqrt();
                    }
                }
            }
            Method::SgdMomentum { beta1 } => {
                for i in 0..d {
                    m[i] = if t == 0 { g[i] } else { beta1 * m[i] + (1.0 - beta1) * g[i] };
                    w_next[i] -= spec.lr * m[i];
                }
            }
        }
        let mut g_next = vec![0.0; d];
        p.grad(&w_next, &mut g_next);
        let loss_next = Quadratic::loss_from_grad(&w_next, &g_next);
        let sane = loss_next.is_finite()
            && loss_next <= blow_up
            && g_next.iter().all(|x| x.is_finite())
            && w_next.iter().all(|x| x.is_finite());
        if !sane {
            step.last = true;
            step.stopped = Some(Stop::Diverged);
            on_step(&step)?;
            return Ok(Summary::at(&step, loss0));
        }
        on_step(&step)?;
        w = w_next;
        g = g_next;
        loss = loss_next;
        t += 1;
    }
}

/// Run and keep every reported point (for tests and small problems).
pub fn trajectory(p: &Quadratic, w0: &[f64], spec: &OptSpec, opts: &RunOptions) -> (Vec<Step>, Summary) {
    let mut steps = Vec::new();
    let s = run::<std::convert::Infallible>(p, w0, spec, opts, |s| {
        steps.push(*s);
        Ok(())
    })
    .unwrap_or_else(|e| match e {});
    (steps, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for o in Optimizer::ALL {
            assert_eq!(Optimizer::from_name(o.name()), Some(o));
        }
        assert_eq!(Optimizer::from_name("lbfgs"), None);
    }

    #[test]
    fn requests_parse_steps_and_grids() {
        let r: OptimizerRequest = "adam=0.05".parse().unwrap();
        assert_eq!(r, OptimizerRequest { optimizer: Optimizer::Adam, step: StepRequest::Fixed(0.05) });
        let r: OptimizerRequest = "bgd=grid".parse().unwrap();
        assert_eq!(r.step, StepRequest::Grid);
        let r: OptimizerRequest = "sgd-momentum".parse().unwrap();
        assert_eq!(r, OptimizerRequest { optimizer: Optimizer::SgdMomentum, step: StepRequest::Default });
        assert_eq!("nope".parse::<OptimizerRequest>(), Err(Error::UnknownOptimizer("nope".into())));
        let e = "adam=abc".parse::<OptimizerRequest>().unwrap_err();
        assert!(matches!(e, Error::Setting { setting: "optimizer", .. }), "{e:?}");
        assert!(e.to_string().contains("not a positive step"));
        assert!("adam=-1".parse::<OptimizerRequest>().is_err());
    }

    #[test]
    fn unknown_names_list_every_optimizer() {
        assert_eq!(
            Error::UnknownOptimizer("nope".into()).to_string(),
            "unknown optimizer `nope` (expected gd, bgd, adam, adam-frozen, sgd-momentum, adam-momentum)"
        );
    }

    #[test]
    fn theory_steps() {
        let p = Quadratic::new(vec![crate::Block::diagonal("a", &[1.0, 3.0]).unwrap()]).unwrap();
        assert_eq!(Optimizer::Gd.theory_step(&p, 0.25), Some(0.5));
        assert_eq!(Optimizer::Bgd.theory_step(&p, 0.25), Some(1.0));
        assert_eq!(Optimizer::AdamFrozen.theory_step(&p, 0.25), Some(0.25));
        assert_eq!(Optimizer::Adam.theory_step(&p, 0.25), None);
        assert_eq!(Optimizer::AdamFrozen.method(0.9, 0.999), Method::Adam { beta1: 0.0, beta2: 1.0 });
        assert_eq!(Optimizer::AdamMomentum.method(0.9, 0.999), Method::Adam { beta1: 0.9, beta2: 0.999 });
    }
}
