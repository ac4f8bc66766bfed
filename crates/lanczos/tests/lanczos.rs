//! Lanczos against matrices whose spectra are known by construction.
//! (Eigenvalue-level checks, which need an eigensolver, live in the
//! `spectra` crate's tests; here only matvecs are used as the reference.)

use lanczos::{lanczos, DenseSymmetric, Diagonal, LanczosError, Options, Probe, Reorth, SymmetricOperator};
use rng::SplitMix;

/// A random orthogonal matrix (row-major, columns orthonormal) by modified
/// Gram-Schmidt on a Gaussian matrix.
fn random_orthogonal(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix::new(seed);
    let mut cols: Vec<Vec<f64>> = Vec::new();
    while cols.len() < n {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        for _ in 0..2 {
            for c in &cols {
                let d: f64 = c.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(c).for_each(|(x, y)| *x -= d * y);
            }
        }
        let nrm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        cols.push(v.iter().map(|x| x / nrm).collect());
    }
    let mut q = vec![0.0; n * n];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..n {
            q[i * n + j] = c[i];
        }
    }
    q
}

fn known_matrix(eigs: &[f64], seed: u64) -> DenseSymmetric {
    DenseSymmetric::with_spectrum(eigs, &random_orthogonal(eigs.len(), seed))
}

/// e1^T T^k e1 for the tridiagonal T.
fn tridiag_moment(alpha: &[f64], beta: &[f64], k: usize) -> f64 {
    let m = alpha.len();
    let mut x = vec![0.0; m];
    x[0] = 1.0;
    for _ in 0..k {
        let mut y = vec![0.0; m];
        for i in 0..m {
            y[i] = alpha[i] * x[i];
            if i > 0 {
                y[i] += beta[i - 1] * x[i - 1];
            }
            if i + 1 < m {
                y[i] += beta[i] * x[i + 1];
            }
        }
        x = y;
    }
    x[0]
}

/// v^T A^k v / (v^T v) by repeated matvecs.
fn operator_moment(a: &mut DenseSymmetric, v: &[f64], k: usize) -> f64 {
    let mut x = v.to_vec();
    let mut y = vec![0.0; v.len()];
    for _ in 0..k {
        a.apply(&x, &mut y).unwrap();
        std::mem::swap(&mut x, &mut y);
    }
    let vv: f64 = v.iter().map(|t| t * t).sum();
    v.iter().zip(&x).map(|(p, q)| p * q).sum::<f64>() / vv
}

#[test]
fn moments_of_t_equal_moments_of_a_up_to_degree_2m_minus_1() {
    // Gauss quadrature with m nodes is exact for degree < 2m; the moments of T
    // seen from e1 are the quadrature's moments.
    let eigs: Vec<f64> = (0..60).map(|i| -1.0 + 0.05 * i as f64 + if i % 7 == 0 { 0.3 } else { 0.0 }).collect();
    let mut a = known_matrix(&eigs, 11);
    let v = Probe::Gaussian.vector(60, &mut SplitMix::new(5));
    for reorth in [Reorth::Full, Reorth::None] {
        let m = 8;
        let t = lanczos(&mut a, &v, &Options { steps: m, reorth, ..Options::default() }).unwrap();
        assert_eq!(t.alpha.len(), m);
        assert!(!t.breakdown);
        for k in 0..2 * m {
            let exact = operator_moment(&mut a, &v, k);
            let got = tridiag_moment(&t.alpha, &t.beta, k);
            let scale = 2f64.powi(k as i32); // spectral radius < 2
            assert!((got - exact).abs() <= 1e-11 * scale, "{reorth:?} k={k}: {got} vs {exact}");
        }
    }
}

#[test]
fn full_run_preserves_trace_and_frobenius_norm() {
    // With m = n, T = Q^T A Q is similar to A.
    let eigs: Vec<f64> = (0..40).map(|i| (i as f64 - 12.0) * 0.37).collect();
    let mut a = known_matrix(&eigs, 3);
    let v = Probe::Rademacher.vector(40, &mut SplitMix::new(9));
    let t = lanczos(&mut a, &v, &Options { steps: 1000, ..Options::default() }).unwrap();
    assert_eq!(t.alpha.len(), 40, "steps are capped at the dimension");
    let trace: f64 = t.alpha.iter().sum();
    let fro2: f64 = t.alpha.iter().map(|x| x * x).sum::<f64>() + 2.0 * t.beta.iter().map(|x| x * x).sum::<f64>();
    assert!((trace - eigs.iter().sum::<f64>()).abs() < 1e-10);
    assert!((fro2 - eigs.iter().map(|x| x * x).sum::<f64>()).abs() < 1e-9);
}

/// Eigenvalues of the symmetric tridiagonal T, ascending, by bisection on
/// Sturm sequence counts (an eigensolver independent of Lanczos).
fn tridiag_eigenvalues(alpha: &[f64], beta: &[f64]) -> Vec<f64> {
    let m = alpha.len();
    // Number of eigenvalues below x: negative pivots of the LDL^T of T - x I.
    let count_below = |x: f64| {
        let mut count = 0;
        let mut d = 1.0;
        for i in 0..m {
            let off = if i > 0 { beta[i - 1] * beta[i - 1] / d } else { 0.0 };
            d = alpha[i] - x - off;
            if d == 0.0 {
                d = -1e-300;
            }
            if d < 0.0 {
                count += 1;
            }
        }
        count
    };
    let radius = (0..m)
        .map(|i| alpha[i].abs() + if i > 0 { beta[i - 1].abs() } else { 0.0 } + beta.get(i).map_or(0.0, |b| b.abs()));
    let r = radius.fold(0.0, f64::max) + 1.0;
    (0..m)
        .map(|k| {
            let (mut lo, mut hi) = (-r, r);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if count_below(mid) > k {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            0.5 * (lo + hi)
        })
        .collect()
}

#[test]
fn ritz_values_of_a_full_run_are_the_eigenvalues() {
    // m = n: T is similar to A, so its eigenvalues are A's, known by construction
    // (clustered pairs and a wide range, where lost orthogonality would show).
    let n = 50;
    let mut eigs: Vec<f64> =
        (0..n).map(|i| ((i / 2) as f64 - 6.0) * 0.8 + if i % 2 == 1 { 1e-3 } else { 0.0 }).collect();
    eigs[n - 1] = 40.0;
    let mut a = known_matrix(&eigs, 17);
    let v = Probe::Gaussian.vector(n, &mut SplitMix::new(23));
    let t = lanczos(&mut a, &v, &Options { steps: n, ..Options::default() }).unwrap();
    assert!(!t.breakdown);
    let ritz = tridiag_eigenvalues(&t.alpha, &t.beta);
    let mut sorted = eigs.clone();
    sorted.sort_by(f64::total_cmp);
    for (r, e) in ritz.iter().zip(&sorted) {
        assert!((r - e).abs() < 1e-11 * 40.0, "Ritz value {r} vs eigenvalue {e}");
    }
}

#[test]
fn results_are_bit_identical_for_any_thread_count() {
    // Large enough to be split into chunks and run on several threads.
    let n = 9_001;
    let mut op = Diagonal((0..n).map(|i| ((i * 7919) % n) as f64 / n as f64 + if i < 3 { 5.0 } else { 0.0 }).collect());
    let v = Probe::Gaussian.vector(n, &mut SplitMix::new(31));
    let opts = |threads| Options { steps: 40, threads, ..Options::default() };
    let reference = lanczos(&mut op, &v, &opts(1)).unwrap();
    assert_eq!(reference.alpha.len(), 40);
    for threads in [2, 3] {
        assert_eq!(lanczos(&mut op, &v, &opts(threads)).unwrap(), reference, "Options::threads = {threads}");
        // The same through a pool the caller installs.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        assert_eq!(pool.install(|| lanczos(&mut op, &v, &opts(0))).unwrap(), reference, "installed pool of {threads}");
    }
}

#[test]
fn breakdown_at_an_invariant_subspace_is_reported() {
    // Three distinct eigenvalues: the Krylov space has dimension 3.
    let eigs: Vec<f64> = (0..30).map(|i| [1.0, 5.0, 9.0][i % 3]).collect();
    let mut a = DenseSymmetric::diagonal(&eigs);
    let v = Probe::Gaussian.vector(30, &mut SplitMix::new(1));
    let t = lanczos(&mut a, &v, &Options { steps: 20, ..Options::default() }).unwrap();
    assert!(t.breakdown);
    assert_eq!(t.alpha.len(), 3);
    assert_eq!(t.beta.len(), 2);
    // The 3-node rule is then exact for every moment.
    for k in 0..10 {
        let exact = operator_moment(&mut a, &v, k);
        assert!((tridiag_moment(&t.alpha, &t.beta, k) - exact).abs() < 1e-9 * 9f64.powi(k as i32));
    }
}

#[test]
fn bad_start_vectors_and_non_finite_matvecs_are_errors() {
    let mut a = DenseSymmetric::diagonal(&[1.0, 2.0]);
    assert!(matches!(lanczos(&mut a, &[0.0, 0.0], &Options::default()), Err(LanczosError::BadStart(_))));
    assert!(matches!(lanczos(&mut a, &[1.0], &Options::default()), Err(LanczosError::BadStart(_))));
    assert!(matches!(lanczos(&mut a, &[f64::NAN, 1.0], &Options::default()), Err(LanczosError::BadStart(_))));
    let mut bad = DenseSymmetric::diagonal(&[1.0, f64::INFINITY]);
    let r = lanczos(&mut bad, &[1.0, 1.0], &Options::default());
    assert!(matches!(r, Err(LanczosError::NonFinite { step: 0 })), "{r:?}");
}

#[test]
fn probes_are_reproducible_from_their_seed() {
    let a = Probe::Gaussian.vector(5, &mut SplitMix::new(42));
    let b = Probe::Gaussian.vector(5, &mut SplitMix::new(42));
    assert_eq!(a, b);
    assert_ne!(a, Probe::Gaussian.vector(5, &mut SplitMix::new(43)));
}

#[test]
fn gaussian_probes_have_unit_variance() {
    let v = Probe::Gaussian.vector(200_000, &mut SplitMix::new(7));
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.01, "mean {mean} var {var}");
    let r = Probe::Rademacher.vector(1000, &mut SplitMix::new(7));
    assert!(r.iter().all(|x| *x == 1.0 || *x == -1.0));
}
