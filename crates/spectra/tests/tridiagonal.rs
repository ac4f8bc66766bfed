//! The O(m^2) Gauss rule against LAPACK's dense eigensolver and against
//! closed forms.

use rng::SplitMix;
use spectra::quadrature::{gauss_rule, gauss_rule_dense};

/// Largest node difference relative to the largest |node|, and largest weight difference.
fn differences(alpha: &[f64], beta: &[f64]) -> (f64, f64) {
    let (x, w) = gauss_rule(alpha, beta).unwrap();
    let (xd, wd) = gauss_rule_dense(alpha, beta).unwrap();
    let norm = xd.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(f64::MIN_POSITIVE);
    let dx = x.iter().zip(&xd).map(|(a, b)| (a - b).abs() / norm).fold(0.0, f64::max);
    let dw = w.iter().zip(&wd).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    (dx, dw)
}

#[test]
fn random_tridiagonals_match_lapack() {
    let mut rng = SplitMix::new(11);
    for m in [1, 2, 3, 5, 17, 64, 200, 300] {
        for scale in [1e-6, 1.0, 1e8] {
            let alpha: Vec<f64> = (0..m).map(|_| scale * rng.normal()).collect();
            let beta: Vec<f64> = (1..m).map(|_| scale * rng.uniform()).collect();
            let (dx, dw) = differences(&alpha, &beta);
            assert!(dx < 1e-12 && dw < 1e-12, "m={m} scale={scale}: nodes {dx:e}, weights {dw:e}");
        }
    }
}

#[test]
fn lanczos_like_tridiagonals_with_clustered_ritz_values_match_lapack() {
    // Long runs on a spectrum with a bulk and outliers: many Ritz values converge
    // to the same eigenvalue (the case that stresses deflation).
    let mut rng = SplitMix::new(5);
    let m = 250;
    let alpha: Vec<f64> = (0..m).map(|i| if i % 50 == 0 { 100.0 } else { 0.05 * rng.normal() }).collect();
    let beta: Vec<f64> = (1..m).map(|i| if i % 37 == 0 { 1e-14 } else { 0.5 + 0.1 * rng.uniform() }).collect();
    let (dx, dw) = differences(&alpha, &beta);
    assert!(dx < 1e-12 && dw < 1e-12, "nodes {dx:e}, weights {dw:e}");
}

#[test]
fn split_tridiagonal_keeps_mass_in_the_first_block() {
    // beta[1] = 0: e1 never sees rows 2.. and their eigenvalues get zero weight.
    let (x, w) = gauss_rule(&[1.0, 2.0, 10.0, 20.0], &[1.0, 0.0, 3.0]).unwrap();
    let (xd, wd) = gauss_rule_dense(&[1.0, 2.0, 10.0, 20.0], &[1.0, 0.0, 3.0]).unwrap();
    for (a, b) in x.iter().zip(&xd) {
        assert!((a - b).abs() < 1e-13 * 25.0, "{x:?} vs {xd:?}");
    }
    for (a, b) in w.iter().zip(&wd) {
        assert!((a - b).abs() < 1e-14, "{w:?} vs {wd:?}");
    }
    assert_eq!(w[2], 0.0);
    assert_eq!(w[3], 0.0);
}

#[test]
fn chebyshev_tridiagonal_has_its_closed_form_rule() {
    // tridiag(1/2, 0, 1/2): eigenvalues cos(k pi/(m+1)), eigenvectors
    // sqrt(2/(m+1)) sin(j k pi/(m+1)), so weights 2/(m+1) sin^2(k pi/(m+1)).
    for m in [1usize, 2, 7, 100, 1000, 3000] {
        let alpha = vec![0.0; m];
        let beta = vec![0.5; m - 1];
        let (x, w) = gauss_rule(&alpha, &beta).unwrap();
        let h = std::f64::consts::PI / (m as f64 + 1.0);
        for j in 0..m {
            // ascending nodes: k = m - j
            let k = (m - j) as f64;
            let exact_x = (k * h).cos();
            let exact_w = 2.0 / (m as f64 + 1.0) * (k * h).sin().powi(2);
            assert!((x[j] - exact_x).abs() < 1e-12, "m={m} j={j}: {} vs {exact_x}", x[j]);
            assert!((w[j] - exact_w).abs() < 1e-12, "m={m} j={j}: {} vs {exact_w}", w[j]);
        }
    }
}

#[test]
fn same_input_gives_the_same_bits() {
    let mut rng = SplitMix::new(3);
    let alpha: Vec<f64> = (0..500).map(|_| rng.normal()).collect();
    let beta: Vec<f64> = (1..500).map(|_| rng.uniform()).collect();
    assert_eq!(gauss_rule(&alpha, &beta).unwrap(), gauss_rule(&alpha, &beta).unwrap());
}

#[test]
fn bad_shapes_and_non_finite_entries_are_errors() {
    assert!(gauss_rule(&[], &[]).is_err());
    assert!(gauss_rule(&[1.0, 2.0], &[]).is_err());
    assert!(gauss_rule(&[1.0, f64::NAN], &[1.0]).is_err());
}

#[test]
fn too_many_steps_are_refused_before_any_work() {
    let m = spectra::quadrature::MAX_STEPS + 1;
    let err = gauss_rule(&vec![0.0; m], &vec![0.5; m - 1]).unwrap_err();
    assert!(err.to_string().contains("limit is 200000 steps"), "{err}");
}

/// A block's (model, block) key and its probes' rules under the two Gauss solvers.
type BlockRules = ((String, String), Vec<spectra::density::ProbeRule>, Vec<spectra::density::ProbeRule>);

#[test]
fn demo_densities_move_only_at_rounding_level_with_the_ql_rule() {
    use spectra::density::{pool_density, DensityOptions, ProbeRule};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/demo-tridiag.jsonl");
    let mut blocks: Vec<BlockRules> = Vec::new();
    for line in records::open_inputs(&[path.into()]).unwrap() {
        let line = line.unwrap();
        if line.kind != "tridiag" {
            continue;
        }
        let t: records::Tridiag = line.parse().unwrap();
        let (x, w) = gauss_rule(&t.alpha, &t.beta).unwrap();
        let (xd, wd) = gauss_rule_dense(&t.alpha, &t.beta).unwrap();
        let key = (t.model.clone(), t.block.clone());
        if blocks.last().is_none_or(|b| b.0 != key) {
            blocks.push((key, Vec::new(), Vec::new()));
        }
        let b = blocks.last_mut().unwrap();
        b.1.push(ProbeRule { probe: t.probe, nodes: x, weights: w });
        b.2.push(ProbeRule { probe: t.probe, nodes: xd, weights: wd });
    }
    let opts = DensityOptions::default();
    let mut worst: f64 = 0.0;
    for ((model, block), ql, dense) in &blocks {
        let a = pool_density(model, block, 1000, ql, &opts).unwrap();
        let b = pool_density(model, block, 1000, dense, &opts).unwrap();
        let peak = b.density.iter().fold(0.0f64, |m, v| m.max(*v));
        let diff = a.density.iter().zip(&b.density).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        worst = worst.max(diff / peak);
    }
    eprintln!("largest density difference relative to the peak: {worst:e}");
    assert!(!blocks.is_empty() && worst < 1e-9, "{worst:e}");
}
