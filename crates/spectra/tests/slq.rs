//! Lanczos + Gauss quadrature + densities against exact answers: dense
//! eigendecompositions (LAPACK on the full matrix) and closed forms.

use lanczos::{lanczos, DenseSymmetric, Options, Probe, Reorth, SymmetricOperator};
use ndarray::Array2;
use ndarray_linalg::{Eigh, UPLO};
use rng::SplitMix;
use spectra::density::{pool_density, Axis, DensityOptions, Normalize, ProbeRule, SigmaRule};
use spectra::quadrature::gauss_rule;

fn random_symmetric(n: usize, seed: u64) -> Array2<f64> {
    let mut rng = SplitMix::new(seed);
    let g = Array2::from_shape_fn((n, n), |_| rng.normal());
    (&g + &g.t()) * 0.5
}

fn dense_op(a: &Array2<f64>) -> DenseSymmetric {
    let n = a.nrows();
    DenseSymmetric::from_row_major(n, a.iter().copied().collect())
}

#[test]
fn full_lanczos_nodes_are_the_eigenvalues_and_weights_the_squared_projections() {
    for (n, seed) in [(25, 1), (60, 2)] {
        let a = random_symmetric(n, seed);
        let (evals, evecs) = a.eigh(UPLO::Lower).unwrap();
        let mut v = Probe::Gaussian.vector(n, &mut SplitMix::new(seed + 100));
        let nv = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= nv);
        let t = lanczos(&mut dense_op(&a), &v, &Options { steps: n, ..Options::default() }).unwrap();
        let (nodes, weights) = gauss_rule(&t.alpha, &t.beta).unwrap();
        assert_eq!(nodes.len(), n);
        let scale = evals.iter().map(|x| x.abs()).fold(0.0, f64::max);
        for i in 0..n {
            let rel = (nodes[i] - evals[i]).abs() / scale;
            assert!(rel < 1e-10, "n={n} eigenvalue {i}: {} vs {} (rel {rel:e})", nodes[i], evals[i]);
            let proj: f64 = (0..n).map(|k| evecs[[k, i]] * v[k]).sum();
            assert!((weights[i] - proj * proj).abs() < 1e-10, "weight {i}: {} vs {}", weights[i], proj * proj);
        }
    }
}

#[test]
fn quadrature_moments_equal_quadratic_forms_below_degree_2m() {
    let n = 80;
    let a = random_symmetric(n, 7) * 0.1;
    let mut op = dense_op(&a);
    let mut v = Probe::Rademacher.vector(n, &mut SplitMix::new(3));
    let nv = (n as f64).sqrt();
    v.iter_mut().for_each(|x| *x /= nv);
    for reorth in [Reorth::Full, Reorth::None] {
        let m = 10;
        let t = lanczos(&mut op, &v, &Options { steps: m, reorth, ..Options::default() }).unwrap();
        let (x, w) = gauss_rule(&t.alpha, &t.beta).unwrap();
        let mut akv = v.clone();
        let mut tmp = vec![0.0; n];
        for k in 0..2 * m {
            let exact: f64 = v.iter().zip(&akv).map(|(a, b)| a * b).sum();
            let quad: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(k as i32)).sum();
            assert!((quad - exact).abs() < 1e-11 * (1.0 + exact.abs()), "{reorth:?} k={k}: {quad} vs {exact}");
            op.apply(&akv, &mut tmp).unwrap();
            std::mem::swap(&mut akv, &mut tmp);
        }
    }
}

#[test]
fn slq_extreme_ritz_values_approach_the_extreme_eigenvalues() {
    // A spectrum with isolated extremes: 60 steps resolve them to high accuracy.
    let n = 300;
    let mut eigs: Vec<f64> = (0..n - 2).map(|i| (i as f64) / n as f64).collect();
    eigs.push(-3.0);
    eigs.push(7.0);
    let mut op = DenseSymmetric::diagonal(&eigs);
    let v = Probe::Gaussian.vector(n, &mut SplitMix::new(4));
    let t = lanczos(&mut op, &v, &Options { steps: 60, ..Options::default() }).unwrap();
    let (x, _) = gauss_rule(&t.alpha, &t.beta).unwrap();
    assert!((x[0] + 3.0).abs() < 1e-10 && (x[x.len() - 1] - 7.0).abs() < 1e-10, "{} {}", x[0], x[x.len() - 1]);
}

fn rule(nodes: &[f64], weights: &[f64], probe: u32) -> ProbeRule {
    ProbeRule { probe, nodes: nodes.to_vec(), weights: weights.to_vec() }
}

#[test]
fn density_integrates_to_one_on_its_grid() {
    let rules = [rule(&[-1.0, 0.0, 5.0], &[0.2, 0.5, 0.3], 0), rule(&[0.1, 2.0], &[0.6, 0.4], 1)];
    for sigma in
        [SigmaRule::Absolute(1e-5f64.sqrt()), SigmaRule::Absolute(2.0), SigmaRule::Range { variance_factor: 1e-5 }]
    {
        for grid_size in [10, 1000] {
            let opts = DensityOptions { sigma, grid_size, ..DensityOptions::default() };
            let d = pool_density("m", "b", 10, &rules, &opts).unwrap();
            let h = d.grid[1] - d.grid[0];
            let total: f64 = d.density.iter().sum::<f64>() * h;
            assert!((total - 1.0).abs() < 1e-12, "{sigma:?} grid {grid_size}: {total}");
            assert!((d.weights.iter().sum::<f64>() - 1.0).abs() < 1e-15);
            assert_eq!(d.node_probe, vec![0, 0, 0, 1, 1]);
        }
    }
}

#[test]
fn a_single_node_gives_a_gaussian_of_the_stated_sigma() {
    let opts =
        DensityOptions { sigma: SigmaRule::Absolute(0.5), grid_size: 4001, pad: 0.0, ..DensityOptions::default() };
    let d = pool_density("m", "b", 1, &[rule(&[3.0], &[1.0], 0)], &opts).unwrap();
    assert_eq!(d.sigma, 0.5);
    let h = d.grid[1] - d.grid[0];
    let mean: f64 = d.grid.iter().zip(&d.density).map(|(x, p)| x * p).sum::<f64>() * h;
    let var: f64 = d.grid.iter().zip(&d.density).map(|(x, p)| (x - 3.0).powi(2) * p).sum::<f64>() * h;
    assert!((mean - 3.0).abs() < 1e-12, "mean {mean}");
    // Cell averaging adds h^2/12 to the variance of a midpoint sum.
    assert!((var - (0.25 + h * h / 12.0)).abs() < 1e-9, "var {var}");
    for (x, p) in d.grid.iter().zip(&d.density) {
        let pdf = (-(x - 3.0).powi(2) / 0.5).exp() / (0.5 * (2.0 * std::f64::consts::PI).sqrt());
        // cell average = pdf + h^2/24 pdf'' + O(h^4)
        assert!((p - pdf).abs() < h * h * 0.5, "x={x}: {p} vs {pdf}");
    }
}

#[test]
fn sigma_conventions_follow_their_definitions() {
    let rules = [rule(&[0.0, 100.0], &[0.5, 0.5], 0)];
    let range = pool_density(
        "m",
        "b",
        2,
        &rules,
        &DensityOptions { sigma: SigmaRule::Range { variance_factor: 1e-5 }, ..Default::default() },
    )
    .unwrap();
    assert!((range.sigma - (1e-5f64 * 100.0).sqrt()).abs() < 1e-15);
    let small = pool_density(
        "m",
        "b",
        2,
        &[rule(&[0.0, 0.5], &[0.5, 0.5], 0)],
        &DensityOptions { sigma: SigmaRule::Range { variance_factor: 1e-5 }, ..Default::default() },
    )
    .unwrap();
    assert!((small.sigma - 1e-5f64.sqrt()).abs() < 1e-15, "range < 1 uses max(1, range)");
    // Relative: median over probes of each probe's 2nd largest node.
    let rules = [
        rule(&[1.0, 4.0, 8.0], &[0.2, 0.3, 0.5], 0),
        rule(&[2.0, 6.0, 9.0], &[0.2, 0.3, 0.5], 1),
        rule(&[0.0, 5.0, 7.0], &[0.2, 0.3, 0.5], 2),
    ];
    let rel = pool_density(
        "m",
        "b",
        3,
        &rules,
        &DensityOptions { sigma: SigmaRule::Relative { fraction: 0.1, rank: 2 }, ..Default::default() },
    )
    .unwrap();
    assert!((rel.sigma - 0.5).abs() < 1e-15, "{}", rel.sigma);
    let norm = pool_density(
        "m",
        "b",
        3,
        &rules,
        &DensityOptions { normalize: Normalize::KthLargest(2), ..Default::default() },
    )
    .unwrap();
    assert_eq!(norm.scale, 5.0);
    assert_eq!(norm.nodes, rel.nodes, "nodes stay in Hessian units");
}

#[test]
fn log_axis_maps_absolute_values_by_decades() {
    let rules = [rule(&[-100.0, 0.0, 1e-3, 10.0], &[0.25; 4], 0)];
    let d = pool_density(
        "m",
        "b",
        4,
        &rules,
        &DensityOptions {
            axis: Axis::Log10Abs { floor: Some(1e-6) },
            sigma: SigmaRule::Absolute(0.05),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(d.axis, "log10abs");
    assert_eq!(d.log_floor, Some(1e-6));
    let lo = d.grid[0];
    let hi = d.grid[d.grid.len() - 1];
    assert!(lo < -6.0 && hi > 2.0, "grid covers log10 1e-6 .. log10 100: {lo} {hi}");
    let h = d.grid[1] - d.grid[0];
    assert!((d.density.iter().sum::<f64>() * h - 1.0).abs() < 1e-12);
    assert!((d.trace - 4.0 * (-100.0 + 1e-3 + 10.0) / 4.0).abs() < 1e-12);
}

#[test]
fn trace_estimate_is_exact_for_a_full_run() {
    // With m = n every probe's rule reproduces v^T A v / v^T v; for a
    // diagonal A and a Rademacher probe that is exactly trace(A)/n.
    let eigs: Vec<f64> = (0..30).map(|i| i as f64 - 4.5).collect();
    let mut op = DenseSymmetric::diagonal(&eigs);
    let v = Probe::Rademacher.vector(30, &mut SplitMix::new(2));
    let t = lanczos(&mut op, &v, &Options { steps: 30, ..Options::default() }).unwrap();
    let (nodes, weights) = gauss_rule(&t.alpha, &t.beta).unwrap();
    let d = pool_density("m", "b", 30, &[ProbeRule { probe: 0, nodes, weights }], &DensityOptions::default()).unwrap();
    assert!((d.trace - eigs.iter().sum::<f64>()).abs() < 1e-9, "{}", d.trace);
}
