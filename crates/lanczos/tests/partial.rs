//! Partial reorthogonalization against full, on diagonal operators whose
//! spectra are known: the Ritz values at m = n are the eigenvalues, the
//! Ritz values at m < n carry no ghost copies (the same multiset as full
//! reorthogonalization's), the Gauss rule's moments are full's, fewer steps
//! are reorthogonalized, and the result does not depend on the thread count.
//! Eigenvalues of T come from Sturm-sequence bisection written here,
//! independent of Lanczos and of the `spectra` crate.

use lanczos::{lanczos, Diagonal, LanczosError, Options, Probe, Reorth, SymmetricOperator, Tridiagonal};
use rng::SplitMix;

/// Clusters (ten values 1e-6 apart relative to their centre, at 1, 2 and 3),
/// a spread part on [-1, 4] and outliers at 50, 20 and -10.
fn clustered_and_spread(n: usize) -> Vec<f64> {
    let mut d = vec![50.0, 20.0, -10.0];
    for centre in [1.0, 2.0, 3.0] {
        d.extend((0..10).map(|i| centre * (1.0 + 1e-6 * i as f64)));
    }
    let rest = n - d.len();
    d.extend((0..rest).map(|i| -1.0 + 5.0 * ((i as f64 + 0.5) / rest as f64).powi(2)));
    d
}

fn run(op: &mut impl SymmetricOperator, v: &[f64], opts: &Options) -> Tridiagonal {
    let t = lanczos(op, v, opts).unwrap();
    assert_eq!(t.alpha.len(), opts.steps.min(op.dim()), "{:?}", t.reorth);
    assert!(!t.breakdown);
    t
}

fn options(reorth: Reorth, steps: usize) -> Options {
    Options { steps, reorth, ..Options::default() }
}

/// Eigenvalues of tridiag(beta, alpha, beta), ascending, by bisection on
/// Sturm counts.
fn ritz_values(alpha: &[f64], beta: &[f64]) -> Vec<f64> {
    let m = alpha.len();
    let count_below = |x: f64| {
        let (mut count, mut d) = (0, 1.0);
        for i in 0..m {
            let off = if i > 0 { beta[i - 1] * beta[i - 1] / d } else { 0.0 };
            d = alpha[i] - x - off;
            if d == 0.0 {
                d = -1e-300;
            }
            count += (d < 0.0) as usize;
        }
        count
    };
    let r = (0..m)
        .map(|i| alpha[i].abs() + if i > 0 { beta[i - 1].abs() } else { 0.0 } + beta.get(i).map_or(0.0, |b| b.abs()))
        .fold(0.0, f64::max)
        + 1.0;
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
                if hi - lo <= 1e-15 * r {
                    break;
                }
            }
            0.5 * (lo + hi)
        })
        .collect()
}

/// e1^T T^p e1: the p-th moment of the Gauss rule (sum of weights times
/// nodes^p).
fn gauss_moment(t: &Tridiagonal, p: usize) -> f64 {
    let (alpha, beta) = (&t.alpha, &t.beta);
    let m = alpha.len();
    let mut x = vec![0.0; m];
    x[0] = 1.0;
    for _ in 0..p {
        x = (0..m)
            .map(|i| {
                let mut y = alpha[i] * x[i];
                if i > 0 {
                    y += beta[i - 1] * x[i - 1];
                }
                if i + 1 < m {
                    y += beta[i] * x[i + 1];
                }
                y
            })
            .collect();
    }
    x[0]
}

/// Ritz values within `tol` of `value`.
fn copies(ritz: &[f64], value: f64, tol: f64) -> usize {
    ritz.iter().filter(|r| (*r - value).abs() <= tol).count()
}

#[test]
fn with_as_many_steps_as_the_dimension_the_ritz_values_are_the_eigenvalues() {
    let n = 300;
    let d = clustered_and_spread(n);
    let mut sorted = d.clone();
    sorted.sort_by(f64::total_cmp);
    let norm = 50.0;
    for seed in [1, 2] {
        let v = Probe::Gaussian.vector(n, &mut SplitMix::new(seed));
        let full = run(&mut Diagonal(d.clone()), &v, &options(Reorth::Full, n));
        let partial = run(&mut Diagonal(d.clone()), &v, &options(Reorth::Partial, n));
        assert_eq!((full.reorth, partial.reorth), (Reorth::Full, Reorth::Partial));
        let mut worst: f64 = 0.0;
        for (r, e) in ritz_values(&partial.alpha, &partial.beta).iter().zip(&sorted) {
            worst = worst.max((r - e).abs() / norm);
        }
        eprintln!(
            "seed {seed}: partial reorthogonalized {} of {} steps (full {}), worst |Ritz - eigenvalue| / ||A|| {worst:.2e}",
            partial.reorth_steps,
            n - 1,
            full.reorth_steps
        );
        assert!(worst <= 1e-10, "seed {seed}: worst relative error {worst:e}");
        assert_eq!(full.reorth_steps, n - 1);
        assert!(partial.reorth_steps < full.reorth_steps, "{} steps", partial.reorth_steps);
    }
}

/// A spectrum where the outliers converge early and the plain recurrence
/// then makes ghost copies of them: the case reorthogonalization is for.
fn outliers_and_bulk(n: usize) -> Vec<f64> {
    let mut d = vec![100.0, 60.0, 30.0, -20.0];
    d.extend((0..n - 4).map(|i| ((i * 7919) % n) as f64 / n as f64));
    d
}

#[test]
fn ritz_values_carry_no_ghost_copies_and_match_full_reorthogonalization() {
    let (n, m) = (2000, 150);
    let d = outliers_and_bulk(n);
    let v = Probe::Gaussian.vector(n, &mut SplitMix::new(7));
    let tol = 1e-8 * 100.0;
    let full = run(&mut Diagonal(d.clone()), &v, &options(Reorth::Full, m));
    let partial = run(&mut Diagonal(d.clone()), &v, &options(Reorth::Partial, m));
    let none = run(&mut Diagonal(d.clone()), &v, &options(Reorth::None, m));
    let (rf, rp, rn) = (
        ritz_values(&full.alpha, &full.beta),
        ritz_values(&partial.alpha, &partial.beta),
        ritz_values(&none.alpha, &none.beta),
    );
    let ghosts = |r: &[f64]| [100.0, 60.0, 30.0, -20.0].iter().map(|x| copies(r, *x, tol)).collect::<Vec<_>>();
    eprintln!(
        "copies of the outliers: full {:?}, partial {:?}, none {:?}; partial reorthogonalized {} of {} steps, none {}",
        ghosts(&rf),
        ghosts(&rp),
        ghosts(&rn),
        partial.reorth_steps,
        m - 1,
        none.reorth_steps
    );
    // The control: without reorthogonalization the outliers come back.
    assert!(ghosts(&rn).iter().any(|c| *c > 1), "{:?}", ghosts(&rn));
    assert_eq!(ghosts(&rf), [1, 1, 1, 1]);
    assert_eq!(ghosts(&rp), [1, 1, 1, 1]);
    // The whole multiset: sorted Ritz values pair up with full's.
    let worst = rf.iter().zip(&rp).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / 100.0;
    eprintln!("worst |Ritz partial - Ritz full| / ||A|| = {worst:.2e}");
    assert!(worst <= 1e-10, "{worst:e}");
    assert!(0 < partial.reorth_steps && partial.reorth_steps < full.reorth_steps);
    assert_eq!((full.reorth_steps, none.reorth_steps), (m - 1, 0));
}

#[test]
fn the_gauss_rule_has_full_reorthogonalizations_moments() {
    let (n, m) = (2000, 150);
    let d = outliers_and_bulk(n);
    for seed in [3, 4] {
        let v = Probe::Rademacher.vector(n, &mut SplitMix::new(seed));
        let full = run(&mut Diagonal(d.clone()), &v, &options(Reorth::Full, m));
        let partial = run(&mut Diagonal(d.clone()), &v, &options(Reorth::Partial, m));
        for p in 1..=4 {
            let (a, b) = (gauss_moment(&full, p), gauss_moment(&partial, p));
            // Moments scale as ||A||^p.
            let scale = 100f64.powi(p as i32);
            assert!((a - b).abs() <= 1e-10 * scale, "seed {seed}, p = {p}: full {a}, partial {b}");
        }
    }
}

#[test]
fn an_operator_accurate_to_f32_keeps_its_extremes_at_its_own_precision() {
    // A diagonal operator whose products are rounded to f32, as an f32
    // network's Hessian-vector products are.
    struct F32Diagonal(Vec<f64>);
    impl SymmetricOperator for F32Diagonal {
        type Error = std::convert::Infallible;
        fn dim(&self) -> usize {
            self.0.len()
        }
        fn apply(&mut self, x: &[f64], out: &mut [f64]) -> Result<(), Self::Error> {
            for ((o, d), x) in out.iter_mut().zip(&self.0).zip(x) {
                *o = ((*d as f32) * (*x as f32)) as f64;
            }
            Ok(())
        }
    }
    let (n, m) = (2000, 150);
    let d = outliers_and_bulk(n);
    let v = Probe::Gaussian.vector(n, &mut SplitMix::new(11));
    let full = run(&mut F32Diagonal(d.clone()), &v, &options(Reorth::Full, m));
    // Its rounding errors are f32's: the estimate grows from there (with
    // f64's epsilon it would trail the true loss; see src/partial.rs).
    let f32_eps = Options { operator_eps: f32::EPSILON as f64, ..options(Reorth::Partial, m) };
    let partial = run(&mut F32Diagonal(d.clone()), &v, &f32_eps);
    eprintln!("f32 operator: partial reorthogonalized {} of {} steps", partial.reorth_steps, m - 1);
    assert!(0 < partial.reorth_steps && partial.reorth_steps < full.reorth_steps);
    let (rf, rp) = (ritz_values(&full.alpha, &full.beta), ritz_values(&partial.alpha, &partial.beta));
    let tol = 1e-5 * 100.0;
    for x in [100.0, 60.0, 30.0, -20.0] {
        assert_eq!((copies(&rf, x, tol), copies(&rp, x, tol)), (1, 1), "copies of {x}");
    }
    // Extremes as accurate as the operator allows (f32: 6e-8 relative).
    let worst = [0, 1, m - 2, m - 1].iter().map(|i| (rf[*i] - rp[*i]).abs()).fold(0.0, f64::max) / 100.0;
    eprintln!("f32 operator: worst extreme |partial - full| / ||A|| = {worst:.2e}");
    assert!(worst <= 1e-6, "{worst:e}");
}

#[test]
fn partial_reorthogonalization_is_bit_identical_for_any_thread_count() {
    // Long enough to be split over threads (8 chunks of 1,024 and more).
    let n = 9_001;
    let d = outliers_and_bulk(n);
    let v = Probe::Gaussian.vector(n, &mut SplitMix::new(31));
    let opts = |threads| Options { threads, ..options(Reorth::Partial, 80) };
    let reference = run(&mut Diagonal(d.clone()), &v, &opts(1));
    assert!(reference.reorth_steps > 0);
    for threads in [2, 3] {
        assert_eq!(run(&mut Diagonal(d.clone()), &v, &opts(threads)), reference, "{threads} threads");
    }
}

#[test]
fn a_threshold_out_of_range_is_an_error() {
    let mut op = Diagonal(vec![1.0, 2.0, 3.0]);
    for threshold in [0.0, -1e-8, 1.0, f64::NAN, f64::INFINITY] {
        let opts = Options { partial_threshold: Some(threshold), ..options(Reorth::Partial, 3) };
        let r = lanczos(&mut op, &[1.0, 1.0, 1.0], &opts);
        assert!(matches!(r, Err(LanczosError::BadOptions(_))), "{threshold}: {r:?}");
    }
    for eps in [0.0, 1.0, f64::NAN] {
        let opts = Options { operator_eps: eps, ..options(Reorth::Partial, 3) };
        assert!(matches!(lanczos(&mut op, &[1.0, 1.0, 1.0], &opts), Err(LanczosError::BadOptions(_))), "{eps}");
    }
}
