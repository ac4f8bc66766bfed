//! Partial reorthogonalization: Simon's estimate of the loss of
//! orthogonality, and the rule that decides when and against which Lanczos
//! vectors the new one is orthogonalized.
//!
//! With omega_{j,k} = q_j^T q_k, the computed recurrence
//! beta_j q_{j+1} = A q_j - alpha_j q_j - beta_{j-1} q_{j-1} + f_j
//! (f_j: the step's rounding error, and the operator's own error) gives,
//! from q_j^T A q_k = q_k^T A q_j, for k < j:
//!
//! beta_j omega_{j+1,k} = beta_k omega_{j,k+1} + (alpha_k - alpha_j) omega_{j,k}
//!                        + beta_{k-1} omega_{j,k-1} - beta_{j-1} omega_{j-1,k}
//!                        + (q_j^T f_k - q_k^T f_j),
//!
//! with omega_{k,k} = 1. The last term is not known; it is bounded by about
//! eps ||A|| (eps: the precision of the operator's products), so it is added
//! with the sign of the rest, which keeps the estimate from cancelling to
//! below what rounding alone would leave. omega_{j+1,j} is not given by the
//! recurrence: it is set to the level the three-term step leaves,
//! eps ||A|| / beta_j.
//!
//! While every |omega_{j+1,k}| stays below sqrt(eps) (semi-orthogonality),
//! the tridiagonal is, to the operator's precision, that of an exactly
//! orthogonal basis (Simon 1984), so the Ritz values carry no spurious
//! copies. When the estimate passes the threshold, q_{j+1} is orthogonalized
//! against every stored vector, and so is q_{j+2} at the next step: q_j,
//! which was not orthogonalized, would otherwise pass its components on
//! through the beta_j omega_{j,k} term at once. The estimate is then reset
//! to the rounding level.
//!
//! Why against every vector rather than only those whose estimate passed
//! eps^(3/4) (Simon's selective variant)? Tried first, on a diagonal
//! operator with clusters: the estimate bounds the largest |q_j^T q_k|
//! well but not how it is spread over k, so vectors left out kept
//! components 10x above their estimate, which grew on unseen until the
//! basis lost orthogonality altogether (|q_j^T q_k| = 0.99 by step 184).
//! Against every vector the actual loss stayed below the estimate at every
//! step. The saving is in the steps skipped, and the sweep is the full
//! one's (`reorth.rs`), so threads change nothing.
//!
//! eps must be the operator's precision, not the arithmetic's: with f32
//! products, the same estimate scaled by f64's epsilon (and the threshold
//! sqrt(eps_f32)) let the basis lose orthogonality altogether (0.97, n =
//! 20,000, 150 steps), and scaled by f64's epsilon throughout it passed
//! 1.5e-3; scaled by f32's it stayed at 6e-6, under its threshold 3.5e-4.

/// The estimate omega_{j,k} and the decisions it drives.
#[derive(Debug)]
pub(crate) struct Omega {
    /// Precision of the operator's products (and of the reorthogonalized
    /// vectors' orthogonality): the scale of the rounding terms.
    eps: f64,
    /// Orthogonalize when some |omega_{j+1,k}| passes this.
    threshold: f64,
    /// Where the estimate restarts after a reorthogonalization.
    reset: f64,
    /// omega_{j-1,k} (k <= j - 1), omega_{j,k} (k <= j), and the new row.
    previous: Vec<f64>,
    current: Vec<f64>,
    next: Vec<f64>,
    /// The step after a reorthogonalization must reorthogonalize too.
    forced: bool,
}

impl Omega {
    /// The estimate for a run of at most `steps` steps; `threshold` the
    /// semi-orthogonality level (sqrt of `eps` by default), `reset` the
    /// orthogonality a reorthogonalization leaves (at least `eps`).
    pub(crate) fn new(eps: f64, threshold: f64, reset: f64, steps: usize) -> Self {
        Omega {
            eps,
            threshold,
            reset,
            previous: Vec::with_capacity(steps + 1),
            current: Vec::with_capacity(steps + 1),
            next: Vec::with_capacity(steps + 1),
            forced: false,
        }
    }

    /// After step j's three-term recurrence (`alpha` holds alpha_0..alpha_j,
    /// `beta` beta_0..beta_{j-1}, `b` the new vector's norm before any
    /// reorthogonalization, `anorm` the largest ||A q|| so far): estimates
    /// omega_{j+1,k} and says whether to orthogonalize the new vector.
    pub(crate) fn step(&mut self, alpha: &[f64], beta: &[f64], b: f64, anorm: f64) -> bool {
        let j = alpha.len() - 1;
        debug_assert_eq!(beta.len(), j);
        if j == 0 {
            self.current.clear();
            self.current.push(1.0);
        }
        self.next.clear();
        if b == 0.0 {
            // An exact invariant subspace: the run ends here.
            return false;
        }
        let noise = self.eps * anorm;
        for k in 0..j {
            let mut t = beta[k] * self.current[k + 1] + (alpha[k] - alpha[j]) * self.current[k]
                - beta[j - 1] * self.previous[k];
            if k > 0 {
                t += beta[k - 1] * self.current[k - 1];
            }
            self.next.push((t + noise.copysign(t)) / b);
        }
        self.next.push(noise / b);
        // Not finite counts as past the threshold.
        let triggered = self.next.iter().any(|x| x.is_nan() || x.abs() > self.threshold);
        if !(triggered || self.forced) {
            return false;
        }
        // A triggered reorthogonalization forces one at the next step; the
        // forced one does not force another.
        self.forced = !self.forced;
        true
    }

    /// Ends step j: `reorthogonalized` says whether the new vector was
    /// orthogonalized against every stored one.
    pub(crate) fn finish(&mut self, reorthogonalized: bool) {
        if reorthogonalized {
            self.next.iter_mut().for_each(|x| *x = self.reset);
        }
        self.next.push(1.0);
        std::mem::swap(&mut self.previous, &mut self.current);
        std::mem::swap(&mut self.current, &mut self.next);
    }
}
