//! The Gauss quadrature rule of a Lanczos tridiagonal (Golub-Welsch): the
//! nodes are the eigenvalues of T, the weights the squared first components
//! of its normalized eigenvectors. For a start vector v with ||v|| = 1 the
//! rule integrates polynomials of degree < 2m against the spectral measure
//! of A seen from v: sum_j w_j x_j^k = v^T A^k v.

use ndarray::Array2;
use ndarray_linalg::{Eigh, UPLO};

/// Nodes (ascending) and weights of the Gauss rule of tridiag(beta, alpha, beta).
///
/// Errors when the lengths do not fit or LAPACK's symmetric eigensolver fails.
pub fn gauss_rule(alpha: &[f64], beta: &[f64]) -> Result<(Vec<f64>, Vec<f64>), String> {
    let m = alpha.len();
    if m == 0 {
        return Err("empty tridiagonal".into());
    }
    if beta.len() + 1 != m {
        return Err(format!("beta has {} entries, expected {}", beta.len(), m - 1));
    }
    let mut t = Array2::<f64>::zeros((m, m));
    for i in 0..m {
        t[[i, i]] = alpha[i];
    }
    for i in 0..m - 1 {
        t[[i + 1, i]] = beta[i];
        t[[i, i + 1]] = beta[i];
    }
    let (values, vectors) = t.eigh(UPLO::Lower).map_err(|e| format!("symmetric eigensolver failed: {e}"))?;
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
