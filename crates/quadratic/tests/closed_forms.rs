//! The library against closed forms.

use ndarray::Array2;
use ndarray_linalg::{EigValsh, UPLO};
use quadratic::experiment::Source;
use quadratic::{
    cases, optimizer, theory, Block, Experiment, ExperimentConfig, Method, OptSpec, Quadratic, Rotation, RunOptions,
    TuneBy,
};
use rng::SplitMix;

fn opts(iters: u64) -> RunOptions {
    RunOptions { iters, stop_rel: 0.0 }
}

/// GD on a diagonal quadratic with step eta: w_t,i = (1 - eta lambda_i)^t w_0,i,
/// so the loss gap is sum_i lambda_i w_0,i^2 (1 - eta lambda_i)^(2t) / 2.
#[test]
fn gd_on_diagonal_follows_the_closed_form() {
    let lam = [1.0, 3.0, 10.0, 40.0];
    let q = Quadratic::new(vec![Block::diagonal("d", &lam).unwrap()]).unwrap();
    let w0 = [0.7, -1.3, 2.0, 0.1];
    let eta = 0.04;
    let (traj, _) =
        optimizer::trajectory(&q, &w0, &OptSpec { name: "gd".into(), method: Method::Gd, lr: eta }, &opts(200));
    assert_eq!(traj.len(), 201);
    for s in &traj {
        let exact: f64 = lam.iter().zip(&w0).map(|(l, w)| 0.5 * l * w * w * (1.0 - eta * l).powi(2 * s.t as i32)).sum();
        assert!((s.loss_gap - exact).abs() <= 1e-12 * exact, "t {}: {} vs {exact}", s.t, s.loss_gap);
        let dist: f64 =
            lam.iter().zip(&w0).map(|(l, w)| (w * (1.0 - eta * l).powi(s.t as i32)).powi(2)).sum::<f64>().sqrt();
        assert!((s.dist - dist).abs() <= 1e-12 * dist);
    }
}

/// Q diag(lambda) Q^T has the requested eigenvalues (to 1e-12 relative to
/// the largest), and Q is orthogonal.
#[test]
fn rotated_blocks_have_the_requested_eigenvalues() {
    let mut rng = SplitMix::new(42);
    for d in [1usize, 3, 17, 60] {
        let lam: Vec<f64> = (0..d).map(|i| 1.0 + (i * i) as f64 * 7.5).collect();
        let b = Block::new("x", &lam, &mut rng).unwrap();
        let a = Array2::from_shape_fn((d, d), |(i, j)| b.h[i * d + j]);
        let mut ev = a.eigvalsh(UPLO::Lower).unwrap().to_vec();
        ev.sort_by(f64::total_cmp);
        let top = lam[d - 1];
        for (x, y) in ev.iter().zip(&lam) {
            assert!((x - y).abs() <= 1e-12 * top, "d {d}: {x} vs {y}");
        }
        for i in 0..d {
            for j in 0..d {
                let dot: f64 = (0..d).map(|k| b.q[k * d + i] * b.q[k * d + j]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12);
            }
        }
    }
}

/// Cases 3 and 4 are the paper's sets and have condition number exactly kappa.
#[test]
fn cases_3_and_4_are_the_papers_sets() {
    let c = cases::clustered_set(3, 3, 2000.0).unwrap();
    assert_eq!(
        cases::heterogeneous(&c),
        vec![vec![1.0, 2.0, 3.0], vec![99.0, 100.0, 101.0], vec![1998.0, 1999.0, 2000.0]]
    );
    assert_eq!(
        cases::homogeneous(&c),
        vec![vec![1.0, 99.0, 1998.0], vec![2.0, 100.0, 1999.0], vec![3.0, 101.0, 2000.0]]
    );
    for kappa in [2000.0, 5000.0, 777.0] {
        for (blocks, dim) in [(3, 3), (5, 20), (2, 7)] {
            let c = cases::clustered_set(blocks, dim, kappa).unwrap();
            for e in [cases::heterogeneous(&c), cases::homogeneous(&c)] {
                let all: Vec<f64> = e.iter().flatten().copied().collect();
                let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = all.iter().copied().fold(0.0, f64::max);
                assert_eq!(hi / lo, kappa, "{blocks} x {dim}");
                assert_eq!(all.len(), blocks * dim);
            }
        }
    }
    assert!(cases::clustered_set(10, 50, 100.0).is_err(), "overlapping clusters are refused");
}

/// Sampling then rescaling (Cases 1-2) gives eigenvalues in [1, kappa] with
/// condition number exactly kappa, drawn only from the nodes.
#[test]
fn sampled_spectra_rescale_to_exact_kappa() {
    let mut rng = SplitMix::new(3);
    let nodes = [-0.5, 0.01, 0.2, 3.0, 40.0];
    let weights = [0.1, 0.5, 0.2, 0.15, 0.05];
    let mut blocks: Vec<Vec<f64>> =
        (0..4).map(|_| cases::sample_discrete(&nodes, &weights, 100, &mut rng).unwrap()).collect();
    assert!(blocks.iter().flatten().all(|x| nodes.contains(x)));
    // Frequencies follow the weights (400 draws: loose).
    let small = blocks.iter().flatten().filter(|x| **x == 0.01).count() as f64 / 400.0;
    assert!((small - 0.5).abs() < 0.1, "{small}");
    cases::rescale_to_kappa(&mut blocks, 2000.0).unwrap();
    let all: Vec<f64> = blocks.iter().flatten().copied().collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max);
    assert_eq!((lo, hi), (1.0, 2000.0));
    assert!(cases::rescale_to_kappa(&mut [vec![2.0, 2.0]], 10.0).is_err(), "a degenerate spectrum is refused");
    assert!(cases::sample_discrete(&[1.0], &[-1.0], 3, &mut rng).is_err());
}

/// Blockwise GD with eta_l = 1/lambda_l,1 meets Theorem 1 at every step, on
/// random rotations of Cases 3 and 4.
#[test]
fn bgd_meets_theorem1_at_every_step() {
    let c = cases::clustered_set(3, 3, 2000.0).unwrap();
    for (k, eig) in [cases::heterogeneous(&c), cases::homogeneous(&c)].iter().enumerate() {
        for seed in 0..5 {
            let (p, w0) = cases::build(&cases::block_names(3), eig, Rotation::Haar, seed * 10 + k as u64).unwrap();
            let kappas: Vec<f64> = p.blocks.iter().map(Block::kappa).collect();
            let bound = theory::theorem1_rate(&kappas);
            let (traj, _) = optimizer::trajectory(
                &p,
                &w0,
                &OptSpec { name: "bgd".into(), method: Method::Bgd, lr: 1.0 },
                &opts(300),
            );
            for w in traj.windows(2) {
                assert!(w[1].loss_gap <= bound * w[0].loss_gap * (1.0 + 1e-9), "seed {seed} t {}", w[0].t);
            }
        }
    }
}

/// GD with eta = 2/(mu+L) contracts the loss gap by at most ((kappa-1)/(kappa+1))^2
/// per step, and its long-run rate approaches that bound.
#[test]
fn gd_rate_is_the_chebyshev_rate() {
    let c = cases::clustered_set(3, 3, 2000.0).unwrap();
    let (p, w0) = cases::build(&cases::block_names(3), &cases::heterogeneous(&c), Rotation::Haar, 1).unwrap();
    let rho2 = theory::gd_loss_rate(p.kappa());
    let eta = 2.0 / (p.lambda_min() + p.lambda_max());
    let (traj, _) =
        optimizer::trajectory(&p, &w0, &OptSpec { name: "gd".into(), method: Method::Gd, lr: eta }, &opts(4000));
    for w in traj.windows(2) {
        assert!(w[1].loss_gap <= rho2 * w[0].loss_gap * (1.0 + 1e-9));
    }
    let n = traj.len();
    let tail = (traj[n - 1].loss_gap / traj[n - 401].loss_gap).powf(1.0 / 400.0);
    assert!((tail - rho2).abs() < 1e-4 * rho2, "{tail} vs {rho2}");
}

/// Adam with beta2 = 1 is GD preconditioned by D0 = diag|g0|: on a diagonal
/// problem w_t,i = (1 - eta lambda_i / |lambda_i w0_i|)^t w0_i.
#[test]
fn frozen_adam_is_diagonally_preconditioned_gd() {
    let lam = [2.0, 50.0];
    let q = Quadratic::new(vec![Block::diagonal("d", &lam).unwrap()]).unwrap();
    let w0 = [1.5, -0.25];
    let eta = 0.1;
    let spec = OptSpec { name: "adam-frozen".into(), method: Method::Adam { beta1: 0.0, beta2: 1.0 }, lr: eta };
    let (traj, _) = optimizer::trajectory(&q, &w0, &spec, &opts(50));
    for s in &traj {
        let exact: f64 =
            lam.iter().zip(&w0).map(|(l, w)| 0.5 * l * (w * (1.0 - eta / w.abs()).powi(s.t as i32)).powi(2)).sum();
        assert!((s.loss_gap - exact).abs() <= 1e-12 * exact.max(1e-300));
    }
}

/// Assumption 1's constants and r from a known gradient.
#[test]
fn assumption1_constants() {
    let q = Quadratic::new(vec![Block::diagonal("a", &[1.0, 2.0]).unwrap(), Block::diagonal("b", &[10.0]).unwrap()])
        .unwrap();
    let g0 = [0.5, -2.0, 30.0];
    let a = theory::assumption1(&q, &g0).unwrap();
    assert_eq!(a.c1, vec![0.25, 3.0]);
    assert_eq!(a.c2, vec![1.0, 3.0]);
    assert_eq!(a.r, 16.0);
    assert_eq!(a.eta, 0.25);
    assert!(theory::assumption1(&q, &[0.0, 1.0, 1.0]).is_err());
    assert_eq!(theory::iterations_for(1e-6, 0.5), Some(20));
    assert_eq!(theory::iterations_for(1e-6, 1.0), None);
}

/// The experiments' problems for Cases 3 and 4 (the paper's 3 x 3 and a
/// generalised 4 x 25) under `rotation`, with the block spectra the case
/// generates (ascending, as the blocks store them).
fn case_problems(rotation: Rotation) -> Vec<(Experiment, Vec<Vec<f64>>)> {
    let mut out = Vec::new();
    for (blocks, dim) in [(3, 3), (4, 25)] {
        let clusters = cases::clustered_set(blocks, dim, 2000.0).unwrap();
        for (source, spectra) in [
            (Source::Heterogeneous, cases::heterogeneous(&clusters)),
            (Source::Homogeneous, cases::homogeneous(&clusters)),
        ] {
            let config = ExperimentConfig {
                source,
                kappa: 2000.0,
                blocks: Some(blocks),
                block_dim: Some(dim),
                seed: 7,
                rotation,
                optimizers: vec!["gd".parse().unwrap()],
                lr: None,
                lr_grid: None,
                tune_by: TuneBy::LossGap,
                beta1: 0.9,
                beta2: 0.999,
                iters: 0,
                every: 1,
                stop_rel: 0.0,
            };
            let spectra = spectra
                .into_iter()
                .map(|mut s| {
                    s.sort_by(f64::total_cmp);
                    s
                })
                .collect();
            out.push((Experiment::new(&config).unwrap(), spectra));
        }
    }
    out
}

/// Without rotation every block is diagonal with exactly its spectrum, in
/// ascending order, on the diagonal; the record says `none` and the start
/// point is the rotated problem's.
#[test]
fn unrotated_blocks_are_diagonal_with_the_block_spectra() {
    for ((flat, spectra), (haar, _)) in case_problems(Rotation::AxisAligned).iter().zip(case_problems(Rotation::Haar)) {
        assert_eq!(flat.problem.rotation, "none");
        assert!(flat.problem.problem.ends_with("-rotation-none"), "{}", flat.problem.problem);
        assert_eq!(flat.w0, haar.w0, "the start point does not depend on the rotation");
        for (b, spectrum) in flat.quadratic.blocks.iter().zip(spectra) {
            let d = b.dim();
            let diagonal: Vec<f64> = (0..d).map(|i| b.h[i * d + i]).collect();
            assert_eq!(&diagonal, spectrum, "block {}", b.name);
            for i in 0..d {
                for j in (0..d).filter(|&j| j != i) {
                    assert_eq!(b.h[i * d + j], 0.0, "block {} ({i}, {j})", b.name);
                }
            }
        }
    }
}

/// With Haar rotations each block's eigenvalues (dense eigendecomposition)
/// are its spectrum to 1e-12 relative to the block's largest, and the block
/// is not diagonal.
#[test]
fn rotated_problems_keep_the_block_spectra() {
    for (e, spectra) in case_problems(Rotation::Haar) {
        assert_eq!(e.problem.rotation, "haar-qr");
        for (b, spectrum) in e.quadratic.blocks.iter().zip(&spectra) {
            let d = b.dim();
            let a = Array2::from_shape_fn((d, d), |(i, j)| b.h[i * d + j]);
            let mut ev = a.eigvalsh(UPLO::Lower).unwrap().to_vec();
            ev.sort_by(f64::total_cmp);
            let top = spectrum[d - 1];
            for (x, y) in ev.iter().zip(spectrum) {
                assert!((x - y).abs() <= 1e-12 * top, "block {} (d {d}): {x} vs {y}", b.name);
            }
            let off: f64 = (0..d * d).filter(|k| k / d != k % d).map(|k| b.h[k].abs()).fold(0.0, f64::max);
            assert!(off > 1e-3 * (top - spectrum[0]), "block {} looks diagonal", b.name);
        }
    }
}

/// Adam's first step is w1 = w0 - lr sign(g0) (m0 = g0, v0 = g0^2); on
/// axis-aligned blocks sign(g0) = sign(w0), so by hand, with lambda =
/// (1, 2 | 4, 8), w0 = (1.5, -0.75, 2, -1) and lr = 1/4:
/// w1 = (1.25, -0.5, 1.75, -0.75), H w1 = (1.25, -1, 7, -6) and
/// L(w1) = (1.5625 + 0.5 + 12.25 + 4.5)/2 = 9.40625, exact in binary.
#[test]
fn sign_like_first_step_on_axis_aligned_blocks() {
    let names = cases::block_names(2);
    let p = Quadratic::axis_aligned(&names, &[vec![1.0, 2.0], vec![4.0, 8.0]]).unwrap();
    let w0 = [1.5, -0.75, 2.0, -1.0];
    for beta2 in [0.999, 1.0] {
        let spec = OptSpec { name: "adam".into(), method: Method::Adam { beta1: 0.0, beta2 }, lr: 0.25 };
        let (traj, _) = optimizer::trajectory(&p, &w0, &spec, &opts(1));
        assert_eq!(traj[1].t, 1);
        assert_eq!(traj[1].loss_gap, 9.40625, "beta2 {beta2}");
        let grad_norm = 87.5625f64.sqrt();
        assert!((traj[1].grad_norm - grad_norm).abs() <= 1e-15 * grad_norm);
        let dist = (1.5625f64 + 0.25 + 3.0625 + 0.5625).sqrt();
        assert!((traj[1].dist - dist).abs() <= 1e-15 * dist);
    }
}
