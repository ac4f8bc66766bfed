//! The tensor engine against exact answers and against the Rust engine, on
//! dense symmetric matrices with known spectra, on the CPU (the same code
//! runs on CUDA: scripts/gpu/check).

use lanczos::{
    lanczos as rust_lanczos, BasisKept, BasisPrecision, DenseSymmetric, LanczosError, Options, Probe, Reorth,
    Tridiagonal,
};
use lanczos_tensor::{lanczos as tensor_lanczos, DenseTensorOperator, Engine, EngineChoice};
use rng::SplitMix;
use tch::{Device, Kind, Tensor};

/// An n x n orthogonal matrix (row-major), from the QR factorization of
/// Gaussian entries drawn from `seed`.
fn orthogonal(n: usize, seed: u64) -> Vec<f64> {
    let mut r = SplitMix::new(seed);
    let g: Vec<f64> = (0..n * n).map(|_| r.normal()).collect();
    let (q, _) = Tensor::linalg_qr(&Tensor::from_slice(&g).view([n as i64, n as i64]), "reduced");
    tensor_to_vec(&q.contiguous().view(-1))
}

fn tensor_to_vec(t: &Tensor) -> Vec<f64> {
    let t = t.to_kind(Kind::Double).to_device(Device::Cpu).contiguous().view(-1);
    let mut out = vec![0.0; t.numel()];
    t.copy_data(&mut out, t.numel());
    out
}

/// The same matrix as a host operator and as a tensor operator.
fn both(eigenvalues: &[f64], seed: u64) -> (DenseSymmetric, DenseTensorOperator) {
    let n = eigenvalues.len();
    let a = DenseSymmetric::with_spectrum(eigenvalues, &orthogonal(n, seed));
    let data: Vec<f64> = (0..n * n).map(|k| a.get(k / n, k % n)).collect();
    let t = Tensor::from_slice(&data).view([n as i64, n as i64]);
    (a, DenseTensorOperator::new(t).unwrap())
}

/// Eigenvalues of the tridiagonal, ascending (libtorch's LAPACK; test only).
fn ritz(t: &Tridiagonal) -> Vec<f64> {
    let m = t.alpha.len() as i64;
    let d = Tensor::zeros([m, m], (Kind::Double, Device::Cpu));
    for (i, a) in t.alpha.iter().enumerate() {
        let _ = d.get(i as i64).get(i as i64).fill_(*a);
    }
    for (i, b) in t.beta.iter().enumerate() {
        let _ = d.get(i as i64).get(i as i64 + 1).fill_(*b);
        let _ = d.get(i as i64 + 1).get(i as i64).fill_(*b);
    }
    tensor_to_vec(&d.linalg_eigvalsh("L"))
}

/// Largest |x - y| over both tridiagonals' entries, relative to the largest entry.
fn relative_gap(x: &Tridiagonal, y: &Tridiagonal) -> f64 {
    assert_eq!((x.alpha.len(), x.beta.len()), (y.alpha.len(), y.beta.len()));
    let scale = x.alpha.iter().chain(&x.beta).fold(0.0f64, |s, v| s.max(v.abs()));
    let gap =
        x.alpha.iter().zip(&y.alpha).chain(x.beta.iter().zip(&y.beta)).fold(0.0f64, |s, (a, b)| s.max((a - b).abs()));
    gap / scale
}

/// A spectrum with outliers of both signs over a bulk (the shape of a Hessian block's).
fn spectrum(n: usize) -> Vec<f64> {
    let mut e: Vec<f64> = (0..n).map(|i| -0.5 + 2.0 * ((i as f64 + 0.5) / n as f64).powi(3)).collect();
    e[0] = -7.0;
    e[n - 1] = 40.0;
    e[n - 2] = 25.0;
    e
}

#[test]
fn full_steps_recover_the_exact_eigenvalues_and_match_the_rust_engine() {
    let n = 80;
    let eigenvalues = spectrum(n);
    let (mut host, mut device) = both(&eigenvalues, 11);
    let start = Probe::Gaussian.vector(n, &mut SplitMix::new(5));
    let opts = Options { steps: n, ..Options::default() };
    let a = rust_lanczos(&mut host, &start, &opts).unwrap();
    let b = tensor_lanczos(&mut device, &start, &opts).unwrap();
    let mut exact = eigenvalues.clone();
    exact.sort_by(f64::total_cmp);
    for t in [&a, &b] {
        assert_eq!((t.alpha.len(), t.basis, t.reorth), (n, BasisKept::Full(BasisPrecision::F64), Reorth::Full));
        let worst = ritz(t).iter().zip(&exact).fold(0.0f64, |s, (r, e)| s.max((r - e).abs()));
        assert!(worst < 1e-12 * 40.0, "Ritz values off the exact eigenvalues by {worst:e}");
    }
    // Few steps (the tridiagonal's entries are well conditioned there): entry by entry.
    let few = Options { steps: 25, ..Options::default() };
    let a = rust_lanczos(&mut host, &start, &few).unwrap();
    let b = tensor_lanczos(&mut device, &start, &few).unwrap();
    assert!(relative_gap(&a, &b) < 1e-12, "engines differ by {:e}", relative_gap(&a, &b));
    assert_eq!((a.reorth_steps, b.reorth_steps), (24, 24));
}

#[test]
fn every_rung_of_the_budget_ladder_runs_as_in_the_rust_engine() {
    let n = 120;
    let (mut host, mut device) = both(&spectrum(n), 3);
    let start = Probe::Rademacher.vector(n, &mut SplitMix::new(9));
    let m = 40;
    let f64_bytes = (m * n * 8) as f64 / lanczos::GIB;
    for (budget, kept, tol) in [
        (1.0, BasisKept::Full(BasisPrecision::F64), 1e-12),
        // Rows rounded to f32 from vectors equal to rounding: the same to f32's precision.
        (0.6, BasisKept::Full(BasisPrecision::F32), 1e-6),
        (0.1, BasisKept::First(BasisPrecision::F32, 8), 1e-6),
    ] {
        let opts = Options { steps: m, basis_budget_gib: Some(budget * f64_bytes), ..Options::default() };
        let a = rust_lanczos(&mut host, &start, &opts).unwrap();
        let b = tensor_lanczos(&mut device, &start, &opts).unwrap();
        assert_eq!((a.basis, b.basis), (kept, kept), "budget {budget} x the f64 basis");
        assert_eq!((a.reorth, a.reorth_steps), (b.reorth, b.reorth_steps), "budget {budget}");
        let gap = relative_gap(&a, &b);
        assert!(gap < tol, "budget {budget}: engines differ by {gap:e}");
    }
    // No basis: past the first converged Ritz value the plain recurrence
    // amplifies rounding (entries then differ at 0.1 between any two
    // summation orders), but its extreme Ritz values are the converged
    // outliers, in both engines.
    let none = Options { steps: m, basis_budget_gib: Some(0.0), ..Options::default() };
    let a = rust_lanczos(&mut host, &start, &none).unwrap();
    let b = tensor_lanczos(&mut device, &start, &none).unwrap();
    assert_eq!((a.basis, b.basis, b.reorth, b.reorth_steps), (BasisKept::None, BasisKept::None, Reorth::None, 0));
    let (ra, rb) = (ritz(&a), ritz(&b));
    assert!((ra[m - 1] - 40.0).abs() < 1e-10 * 40.0 && (rb[m - 1] - 40.0).abs() < 1e-10 * 40.0);
    assert!((ra[0] + 7.0).abs() < 1e-10 * 40.0 && (rb[0] + 7.0).abs() < 1e-10 * 40.0);
    // Partial reorthogonalization: the same estimate, so the same steps chosen.
    let partial = Options { steps: n, reorth: Reorth::Partial, ..Options::default() };
    let a = rust_lanczos(&mut host, &start, &partial).unwrap();
    let b = tensor_lanczos(&mut device, &start, &partial).unwrap();
    assert_eq!((b.reorth, b.reorth_steps), (Reorth::Partial, a.reorth_steps));
    assert!(a.reorth_steps > 0 && a.reorth_steps < n - 1, "{} steps reorthogonalized", a.reorth_steps);
    let (ra, rb) = (ritz(&a), ritz(&b));
    assert!((ra[n - 1] - rb[n - 1]).abs() < 1e-10 * 40.0 && (ra[0] - rb[0]).abs() < 1e-10 * 40.0);
}

#[test]
fn an_invariant_subspace_ends_both_engines_at_the_same_step() {
    // Five distinct eigenvalues: the Krylov space is exhausted after 5 steps.
    let n = 50;
    let eigenvalues: Vec<f64> = (0..n).map(|i| [1.0, 2.0, 4.0, 8.0, 16.0][i % 5]).collect();
    let (mut host, mut device) = both(&eigenvalues, 2);
    let start = Probe::Gaussian.vector(n, &mut SplitMix::new(1));
    let opts = Options { steps: 30, ..Options::default() };
    let a = rust_lanczos(&mut host, &start, &opts).unwrap();
    let b = tensor_lanczos(&mut device, &start, &opts).unwrap();
    assert!(a.breakdown && b.breakdown);
    assert_eq!((a.alpha.len(), b.alpha.len()), (5, 5));
    let r = ritz(&b);
    for (x, e) in r.iter().zip([1.0, 2.0, 4.0, 8.0, 16.0]) {
        assert!((x - e).abs() < 1e-12 * 16.0, "Ritz value {x} for {e}");
    }
}

#[test]
fn the_same_run_gives_the_same_bytes() {
    let n = 64;
    let (_, mut device) = both(&spectrum(n), 8);
    let start = Probe::Gaussian.vector(n, &mut SplitMix::new(2));
    let opts = Options { steps: 30, ..Options::default() };
    let a = tensor_lanczos(&mut device, &start, &opts).unwrap();
    let b = tensor_lanczos(&mut device, &start, &opts).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_starts_and_a_basis_on_disk_are_refused_with_the_rust_engines_words() {
    let (mut host, mut device) = both(&spectrum(10), 4);
    let opts = Options { steps: 5, ..Options::default() };
    for start in [vec![0.0; 10], vec![1.0; 9], vec![f64::NAN; 10]] {
        let a = rust_lanczos(&mut host, &start, &opts).unwrap_err().to_string();
        let b = tensor_lanczos(&mut device, &start, &opts).unwrap_err().to_string();
        assert_eq!(a, b);
    }
    let disk = Options { basis_dir: Some(std::env::temp_dir()), basis_on_disk: true, ..opts };
    match tensor_lanczos(&mut device, &[1.0; 10], &disk) {
        Err(LanczosError::BadOptions(m)) => assert!(m.contains("Rust engine only"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(DenseTensorOperator::new(Tensor::zeros([2, 3], (Kind::Double, Device::Cpu))).is_err());
    assert!(DenseTensorOperator::new(Tensor::zeros([2, 2], (Kind::Float, Device::Cpu))).is_err());
}

#[test]
fn auto_is_the_tensor_engine_on_cuda_only_and_never_with_a_basis_on_disk() {
    assert_eq!(EngineChoice::Auto.resolve(Device::Cpu, false), Engine::Rust);
    assert_eq!(EngineChoice::Auto.resolve(Device::Cuda(0), false), Engine::Tensor);
    assert_eq!(EngineChoice::Auto.resolve(Device::Cuda(0), true), Engine::Rust);
    assert_eq!(EngineChoice::Tensor.resolve(Device::Cpu, false), Engine::Tensor);
    assert_eq!("tensor".parse::<EngineChoice>(), Ok(EngineChoice::Tensor));
    assert!("gpu".parse::<EngineChoice>().unwrap_err().contains("`rust`, `tensor` or `auto`"));
    assert_eq!((Engine::Rust.name(), Engine::Tensor.name()), ("rust", "tensor"));
}
