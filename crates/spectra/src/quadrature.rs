//! The Gauss quadrature rule of a Lanczos tridiagonal (Golub-Welsch): the
//! nodes are the eigenvalues of T, the weights the squared first components
//! of its normalized eigenvectors. For a start vector v with ||v|| = 1 the
//! rule integrates polynomials of degree < 2m against the spectral measure
//! of A seen from v: sum_j w_j x_j^k = v^T A^k v.
//!
//! [`gauss_rule`] runs implicit QL sweeps on T itself and carries only the
//! first row of the accumulated rotations: O(m^2) time and O(m) memory.
//! [`gauss_rule_dense`] is the LAPACK reference (O(m^3) time, O(m^2) memory).

use ndarray::Array2;
use ndarray_linalg::{Eigh, UPLO};

use crate::error::{Error, Result};

/// QL sweeps allowed per eigenvalue before giving up; two or three are typical.
const MAX_SWEEPS_PER_EIGENVALUE: usize = 60;

/// Bytes [`gauss_rule`] allocates for `steps` steps (five f64 vectors).
pub fn gauss_rule_bytes(steps: usize) -> u128 {
    5 * 8 * steps as u128
}

/// Rough count of inner QL iterations [`gauss_rule`] runs for `steps` steps
/// (about two sweeps over the unreduced part per eigenvalue).
pub fn gauss_rule_work(steps: usize) -> u128 {
    let m = steps as u128;
    m * m
}

/// Most steps [`gauss_rule`] accepts: about 4e10 inner iterations, a minute
/// or so on one core. Longer tridiagonals are refused before any work.
pub const MAX_STEPS: usize = 200_000;

/// Refuses a tridiagonal longer than [`MAX_STEPS`], with the estimated cost.
pub fn check_steps(steps: usize) -> Result<()> {
    if steps > MAX_STEPS {
        return Err(Error::new(format!(
            "{steps} Lanczos steps: the Gauss rule would take about {:.1e} QL iterations ({} MiB); \
             the limit is {MAX_STEPS} steps (rerun Lanczos with fewer steps)",
            gauss_rule_work(steps) as f64,
            gauss_rule_bytes(steps) >> 20
        )));
    }
    Ok(())
}

fn check_lengths(alpha: &[f64], beta: &[f64]) -> Result<usize> {
    let m = alpha.len();
    if m == 0 {
        return Err("empty tridiagonal".into());
    }
    if beta.len() + 1 != m {
        return Err(Error::new(format!("beta has {} entries, expected {}", beta.len(), m - 1)));
    }
    Ok(m)
}

/// Nodes (ascending) and weights of the Gauss rule of tridiag(beta, alpha, beta).
///
/// Implicit QL with Wilkinson shifts on the tridiagonal, updating only the
/// first components of the eigenvectors (Golub and Welsch, 1969).
/// Deterministic: the same input gives the same bits.
///
/// Errors when the lengths do not fit, an entry is not finite, or the
/// iteration does not converge.
pub fn gauss_rule(alpha: &[f64], beta: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let m = check_lengths(alpha, beta)?;
    check_steps(m)?;
    if alpha.iter().chain(beta).any(|x| !x.is_finite()) {
        return Err("tridiagonal has a non-finite entry".into());
    }
    let mut d = alpha.to_vec();
    // e[i] couples rows i and i+1; e[m-1] = 0 closes the last block.
    let mut e: Vec<f64> = beta.to_vec();
    e.push(0.0);
    // First components of the eigenvectors: the first row of the identity to start.
    let mut z = vec![0.0; m];
    z[0] = 1.0;

    for l in 0..m {
        let mut sweeps = 0;
        loop {
            // The first negligible off-diagonal at or after l ends the unreduced block [l, k].
            let mut k = l;
            while k + 1 < m {
                let scale = d[k].abs() + d[k + 1].abs();
                if e[k].abs() <= f64::EPSILON * scale || e[k] == 0.0 {
                    break;
                }
                k += 1;
            }
            if k == l {
                break;
            }
            sweeps += 1;
            if sweeps > MAX_SWEEPS_PER_EIGENVALUE {
                return Err(Error::new(format!("QL iteration did not converge for eigenvalue {l} of {m}")));
            }
            // Wilkinson shift from the leading 2x2 of the block.
            let theta = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let root = theta.hypot(1.0);
            let mut g = d[k] - d[l] + e[l] / (theta + root.copysign(theta));
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut underflow = false;
            // Chase the bulge from the bottom of the block up to l with Givens rotations.
            for i in (l..k).rev() {
                let f = s * e[i];
                let b = c * e[i];
                let r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    // The rotation vanished: the block split; retry from the top.
                    d[i + 1] -= p;
                    e[k] = 0.0;
                    underflow = true;
                    break;
                }
                s = f / r;
                c = g / r;
                let h = d[i + 1] - p;
                let t = (d[i] - h) * s + 2.0 * c * b;
                p = s * t;
                d[i + 1] = h + p;
                g = c * t - b;
                let zi = z[i];
                let zi1 = z[i + 1];
                z[i + 1] = s * zi + c * zi1;
                z[i] = c * zi - s * zi1;
            }
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[k] = 0.0;
        }
    }

    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
    let nodes = order.iter().map(|&j| d[j]).collect();
    let weights = order.iter().map(|&j| z[j] * z[j]).collect();
    Ok((nodes, weights))
}

/// The same rule from LAPACK's dense symmetric eigensolver: the reference
/// [`gauss_rule`] is tested against. Cubic in the number of steps.
pub fn gauss_rule_dense(alpha: &[f64], beta: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let m = check_lengths(alpha, beta)?;
    let mut t = Array2::<f64>::zeros((m, m));
    for i in 0..m {
        t[[i, i]] = alpha[i];
    }
    for i in 0..m - 1 {
        t[[i + 1, i]] = beta[i];
        t[[i, i + 1]] = beta[i];
    }
    let (values, vectors) =
        t.eigh(UPLO::Lower).map_err(|e| Error::new(format!("symmetric eigensolver failed: {e}")))?;
    let nodes = values.to_vec();
    let weights: Vec<f64> = (0..m).map(|j| vectors[[0, j]] * vectors[[0, j]]).collect();
    Ok((nodes, weights))
}

/// The Gershgorin interval of a symmetric tridiagonal: every eigenvalue lies in it.
pub fn gershgorin(alpha: &[f64], beta: &[f64]) -> (f64, f64) {
    let m = alpha.len();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for i in 0..m {
        let r = if i > 0 { beta[i - 1].abs() } else { 0.0 } + if i + 1 < m { beta[i].abs() } else { 0.0 };
        lo = lo.min(alpha[i] - r);
        hi = hi.max(alpha[i] + r);
    }
    (lo, hi)
}
