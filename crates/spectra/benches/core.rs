//! Criterion benches of the libtorch-free core, at the sizes of issue 9:
//! slq-density's Gauss rules on 10^4 tridiagonals of size 100, and
//! block-js's JS distances between 100 blocks (4,950 pairs), one thread.
//! `make bench` runs them in quick mode and quotes the medians.
//!
//!     cargo bench -p spectra --bench core [-- --quick]

use criterion::{criterion_group, criterion_main, Criterion};
use rng::SplitMix;
use spectra::divergence::js_divergence;
use spectra::mixture::Mixture;
use spectra::quadrature::gauss_rule;

/// A random Jacobi matrix of size m, its spectrum scaled by `scale`.
fn tridiagonal(rng: &mut SplitMix, m: usize, scale: f64) -> (Vec<f64>, Vec<f64>) {
    let alpha = (0..m).map(|_| scale * rng.uniform()).collect();
    let beta = (0..m - 1).map(|_| scale * (0.01 + 0.5 * rng.uniform())).collect();
    (alpha, beta)
}

fn slq_density(c: &mut Criterion) {
    let mut rng = SplitMix::new(1);
    let t: Vec<_> = (0..10_000).map(|_| tridiagonal(&mut rng, 100, 1.0)).collect();
    let mut g = c.benchmark_group("slq-density");
    g.sample_size(10);
    g.bench_function("gauss rules of 10^4 tridiagonals, m = 100", |b| {
        b.iter(|| t.iter().map(|(a, be)| gauss_rule(a, be).expect("a finite tridiagonal").0[0]).sum::<f64>())
    });
    g.finish();
}

fn block_js(c: &mut Criterion) {
    let mut rng = SplitMix::new(2);
    // 100 blocks, scales 1e-2..1e2, one probe of 100 nodes each, sigma 0.003 (slq-density's default).
    let blocks: Vec<Mixture> = (0..100)
        .map(|_| {
            let scale = 10f64.powf(4.0 * rng.uniform() - 2.0);
            let (a, b) = tridiagonal(&mut rng, 100, scale);
            let (nodes, weights) = gauss_rule(&a, &b).expect("a finite tridiagonal");
            Mixture::new(&nodes, &weights, 0.003)
        })
        .collect();
    let mut g = c.benchmark_group("block-js");
    g.sample_size(10);
    g.bench_function("JS over 100 blocks (4,950 pairs), one thread", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for i in 0..blocks.len() {
                for j in i + 1..blocks.len() {
                    s += js_divergence(&blocks[i], &blocks[j]);
                }
            }
            s
        })
    });
    g.finish();
}

criterion_group!(benches, slq_density, block_js);
criterion_main!(benches);
