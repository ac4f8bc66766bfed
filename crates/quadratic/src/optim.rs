//! The optimizers of the paper's Section 3 on a [`Quadratic`], one step at a time.
//!
//! All moment estimates start from the first gradient (m_0 = g_0,
//! v_0 = g_0^2) and use no bias correction, so that beta2 = 1 is exactly
//! "Adam with frozen D0 = diag|g0|" of Theorem 2 and beta2 < 1 is the
//! paper's eq. (3) with that start. epsilon is 0; a coordinate with
//! v = 0 (its gradient has been exactly 0 so far) does not move.

use crate::problem::{norm, Quadratic};

/// An update rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// w <- w - lr g.
    Gd,
    /// w_l <- w_l - (lr / lambda_max(H_l)) g_l: blockwise GD (lr = 1 is the paper's eta_l = 1/lambda_l,1).
    Bgd,
    /// m <- beta1 m + (1-beta1) g; v <- beta2 v + (1-beta2) g^2; w <- w - lr m / sqrt(v).
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
    mut on_step: impl FnMut(&Step) -> Result<(), E>,
) -> Result<Summary, E> {
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
