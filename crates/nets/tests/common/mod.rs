//! Helpers shared by the HVP tests: dense block Hessians by HVPs and by
//! central finite differences of the gradient, and the comparison of both.
#![allow(dead_code)]

use nets::blocks::{select, units, Block, Grouping};
use nets::data::Batch;
use nets::hvp::{dense, perturb, BlockHessian, HessianBatch};
use nets::models::Built;
use rng::SplitMix;

pub fn block(m: &Built, pattern: &str, split: bool) -> Block {
    select(&units(&m.vs, split), &[pattern.to_string()], Grouping::PerPattern).unwrap().remove(0)
}

pub fn hessian(m: &Built, b: &Block, batch: &Batch) -> Vec<f64> {
    let mut op = BlockHessian::new(m.net.as_ref(), b, HessianBatch::whole(batch)).unwrap();
    dense(&mut op, |_| {}).unwrap()
}

pub fn gradient(m: &Built, b: &Block, batch: &Batch) -> Vec<f64> {
    BlockHessian::new(m.net.as_ref(), b, HessianBatch::whole(batch)).unwrap().gradient().unwrap()
}

/// Central-difference Hessian of the block: column j = (g(x+eps e_j) - g(x-eps e_j)) / 2 eps.
pub fn fd_hessian(m: &Built, b: &Block, batch: &Batch, eps: f64) -> Vec<f64> {
    let n = b.dim();
    let mut h = vec![0.0; n * n];
    let mut e = vec![0.0; n];
    for j in 0..n {
        e[j] = eps;
        perturb(b, &e);
        let gp = gradient(m, b, batch);
        e[j] = -2.0 * eps;
        perturb(b, &e);
        let gm = gradient(m, b, batch);
        e[j] = eps;
        perturb(b, &e);
        e[j] = 0.0;
        for i in 0..n {
            h[i * n + j] = (gp[i] - gm[i]) / (2.0 * eps);
        }
    }
    h
}

pub fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    max_abs(&d) / max_abs(b)
}

/// Move every parameter by N(0, scale^2): a generic point, away from the
/// near-degenerate initialization (tiny attention curvature, LayerNorm of
/// near-constant inputs).
pub fn randomize(m: &Built, scale: f64, seed: u64) {
    let all = block(m, "all", false);
    let d: Vec<f64> =
        lanczos::Probe::Gaussian.vector(all.dim(), &mut SplitMix::new(seed)).iter().map(|x| x * scale).collect();
    perturb(&all, &d);
}

/// `eps`: the larger step; errors are compared at eps and eps/10. The
/// Richardson extrapolation uses steps 2h and h.
pub fn check_against_finite_differences(m: &Built, b: &Block, batch: &Batch, eps: f64, h_rich: f64) {
    // One intra-op thread: libtorch's parallel reductions otherwise change
    // their summation order with the load (tests run in parallel), and the
    // rounding noise of the differences with it. Deterministic margins.
    tch::set_num_threads(1);
    let h = hessian(m, b, batch);
    let n = b.dim();
    assert!(max_abs(&h) > 1e-6, "Hessian is zero: the test would prove nothing");
    // Symmetric to rounding.
    let mut asym: f64 = 0.0;
    for i in 0..n {
        for j in 0..n {
            asym = asym.max((h[i * n + j] - h[j * n + i]).abs());
        }
    }
    assert!(asym <= 1e-13 * max_abs(&h), "asymmetry {asym}");
    // Error of plain central differences shrinks like eps^2.
    let e1 = rel_err(&fd_hessian(m, b, batch, eps), &h);
    let e2 = rel_err(&fd_hessian(m, b, batch, eps / 10.0), &h);
    let ratio = e1 / e2;
    eprintln!("{}: fd errors {e1:.2e} (eps {eps:e}), {e2:.2e} (eps {:e}), ratio {ratio:.1}", b.name, eps / 10.0);
    assert!((30.0..300.0).contains(&ratio), "error ratio {ratio} is not ~100 (eps^2)");
    // Richardson extrapolation (error eps^4) agrees to 1e-10 relative.
    let (a, c) = (fd_hessian(m, b, batch, 2.0 * h_rich), fd_hessian(m, b, batch, h_rich));
    let rich: Vec<f64> = a.iter().zip(&c).map(|(a, c)| (4.0 * c - a) / 3.0).collect();
    let er = rel_err(&rich, &h);
    eprintln!("{}: Richardson error {er:.2e}", b.name);
    assert!(er < 1e-10, "HVP Hessian differs from extrapolated finite differences by {er}");
}
