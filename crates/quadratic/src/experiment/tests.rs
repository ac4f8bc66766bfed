//! Tests of a whole experiment: its sources, records, tuning and settings.

use records::Density;

use super::tune::best_run;
use super::*;
use crate::optimizer::{Stop, Summary};

fn config(source: Source) -> ExperimentConfig {
    ExperimentConfig {
        source,
        kappa: 2000.0,
        blocks: None,
        block_dim: None,
        seed: 0,
        rotation: Rotation::Haar,
        optimizers: Vec::new(),
        lr: None,
        lr_grid: None,
        tune_by: TuneBy::LossGap,
        beta1: 0.9,
        beta2: 0.999,
        iters: 200,
        every: 10,
        stop_rel: 1e-30,
    }
}

fn density(block: &str, nodes: &[f64], weights: &[f64]) -> Density {
    Density {
        model: "m".into(),
        block: block.into(),
        dim: nodes.len() as u64,
        probes: 1,
        nodes: nodes.to_vec(),
        weights: weights.to_vec(),
        node_probe: vec![0; nodes.len()],
        axis: "linear".into(),
        scale: 1.0,
        log_floor: None,
        sigma: 0.1,
        sigma_mode: "absolute".into(),
        grid: vec![0.0, 1.0],
        density: vec![0.5, 0.5],
        lambda_min: nodes[0],
        lambda_max: nodes[nodes.len() - 1],
        trace: 1.0,
    }
}

#[test]
fn case3_problem_has_the_papers_constants() {
    let e = Experiment::new(&config(Source::Heterogeneous)).unwrap();
    let p = &e.problem;
    assert_eq!((p.problem.as_str(), p.case.as_str(), p.dim), ("case3-seed0", "3", 9));
    assert_eq!((p.lambda_min, p.lambda_max, p.kappa), (1.0, 2000.0, 2000.0));
    let kappas: Vec<f64> = p.blocks.iter().map(|b| b.kappa).collect();
    assert_eq!(kappas, [3.0, 101.0 / 99.0, 2000.0 / 1998.0]);
    // Theorem 2's step is min_l c1_l and r = max_l (c2_l / c1_l)^2 by definition.
    let c1 = p.blocks.iter().map(|b| b.c1).fold(f64::INFINITY, f64::min);
    assert_eq!(p.eta_adam, c1);
    let r = p.blocks.iter().map(|b| (b.c2 / b.c1).powi(2)).fold(0.0, f64::max);
    assert_eq!(p.r, r);
    assert_eq!(e.spectra()[2].eigenvalues, [1998.0, 1999.0, 2000.0]);
}

#[test]
fn default_plans_use_the_theory_steps_and_tune_the_rest() {
    let e = Experiment::new(&config(Source::Homogeneous)).unwrap();
    let plans: Vec<(Optimizer, Option<f64>)> = e.plans.iter().map(|p| (p.optimizer, p.lr)).collect();
    assert_eq!(
        plans,
        [
            (Optimizer::Gd, Some(2.0 / 2001.0)),
            (Optimizer::Bgd, Some(1.0)),
            (Optimizer::AdamFrozen, Some(e.problem.eta_adam)),
            (Optimizer::Adam, None),
        ]
    );
    let t = e.tune(&e.plans[3], |_| {}).unwrap();
    assert_eq!(t.records.len(), 9);
    assert_eq!(t.records.iter().filter(|r| r.chosen).count(), 1);
    assert!(t.records.iter().any(|r| r.chosen && r.lr == t.lr));
}

#[test]
fn iterates_are_thinned_but_keep_the_last() {
    let mut c = config(Source::Heterogeneous);
    c.optimizers = vec!["gd=0.0001".parse().unwrap()];
    let e = Experiment::new(&c).unwrap();
    let mut ts = Vec::new();
    e.iterates(&e.plans[0], 0.0001, |it| {
        ts.push(it.t);
        Ok::<(), ()>(())
    })
    .unwrap();
    let expected: Vec<u64> = (0..=200).step_by(10).collect();
    assert_eq!(ts, expected);
}

#[test]
fn a_grid_that_only_diverges_is_an_error() {
    let mut c = config(Source::Heterogeneous);
    // sgd-momentum has no theory step that the grid would gain.
    c.optimizers = vec!["sgd-momentum=grid".parse().unwrap()];
    c.lr_grid = Some(vec![1.0, 10.0]);
    let e = Experiment::new(&c).unwrap();
    assert!(matches!(e.tune(&e.plans[0], |_| {}), Err(Error::Invalid(m)) if m.contains("diverged")));
}

#[test]
fn spectra_are_sampled_and_scaled_into_one_to_kappa() {
    let mut file = SpectraFile::new("test.jsonl");
    file.add(density("a", &[0.1, 1.0, 10.0], &[0.5, 0.25, 0.25])).unwrap();
    file.add(density("b", &[2.0, 3.0], &[0.5, 0.5])).unwrap();
    assert_eq!(file.add(density("b", &[2.0], &[1.0])).unwrap_err().0, "block", "duplicates are refused");
    assert_eq!(file.add(density("c", &[2.0, 3.0], &[0.5, 0.6])).unwrap_err().0, "weights");
    let mut c = config(Source::Spectra { case: None, file: file.clone(), picks: vec!["b".into(), "m/a".into()] });
    c.block_dim = Some(20);
    let e = Experiment::new(&c).unwrap();
    assert_eq!(e.problem.case, "custom");
    assert_eq!((e.problem.lambda_min, e.problem.lambda_max), (1.0, 2000.0));
    let names: Vec<&str> = e.quadratic.blocks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["m/b", "m/a"]);
    c.source = Source::Spectra { case: Some(1), file, picks: vec!["nope".into()] };
    let err = Experiment::new(&c).unwrap_err();
    assert!(
        matches!(&err, Error::Setting { setting: "spectra_block", message } if message.contains("m/a, m/b")),
        "{err:?}"
    );
}

/// GD's gradient norm after t steps in closed form: in each block's
/// eigenbasis, g_t = Lambda (1 - eta Lambda)^t Q^T w0.
fn gd_grad_norm(e: &Experiment, lr: f64, t: u64) -> f64 {
    let mut sum = 0.0;
    for (l, b) in e.quadratic.blocks.iter().enumerate() {
        let w = &e.w0[e.quadratic.range(l)];
        let d = b.dim();
        for (k, lambda) in b.eigenvalues.iter().enumerate() {
            let coord: f64 = (0..d).map(|i| b.q[i * d + k] * w[i]).sum();
            sum += (lambda * (1.0 - lr * lambda).powi(t as i32) * coord).powi(2);
        }
    }
    sum.sqrt()
}

#[test]
fn gd_grid_search_by_grad_norm_picks_the_closed_form_minimum() {
    let mut c = config(Source::Homogeneous);
    c.optimizers = vec!["gd=grid".parse().unwrap()];
    c.lr_grid = Some(log_grid(1e-5, 1e-3, 4).unwrap());
    c.tune_by = TuneBy::GradNorm;
    c.stop_rel = 0.0;
    let e = Experiment::new(&c).unwrap();
    let grid = e.grid(&e.plans[0]);
    assert!(grid.contains(&(2.0 / 2001.0)), "GD's theory step is always tried: {grid:?}");
    let t = e.tune(&e.plans[0], |_| {}).unwrap();
    assert_eq!(t.records.len(), grid.len());
    let mut best = (f64::INFINITY, 0.0);
    for r in &t.records {
        if r.stopped.as_deref() == Some("diverged") {
            assert!(r.lr * 2000.0 > 2.0, "only steps above 2/L diverge: {}", r.lr);
            continue;
        }
        let exact = gd_grad_norm(&e, r.lr, r.steps);
        assert!((r.final_grad_norm - exact).abs() <= 1e-9 * exact, "lr {}: {} vs {exact}", r.lr, r.final_grad_norm);
        if exact < best.0 {
            best = (exact, r.lr);
        }
    }
    assert_eq!(t.lr, best.1);
    assert!(t.lr != 2.0 / 2001.0, "the worst-case-optimal step is not the best after 200 steps");
}

#[test]
fn ranking_by_grad_norm_puts_diverged_runs_last() {
    let s = |final_grad_norm: f64, stopped: Option<Stop>| Summary {
        steps: 10,
        loss0: 1.0,
        final_loss: final_grad_norm,
        final_grad_norm,
        stopped,
    };
    let runs = [(1.0, s(1e-3, Some(Stop::Diverged))), (2.0, s(0.5, None)), (3.0, s(0.1, None))];
    assert_eq!(best_run(&runs, TuneBy::GradNorm), Some(2));
    let runs = [(1.0, s(0.1, Some(Stop::Diverged))), (2.0, s(0.2, Some(Stop::Converged))), (3.0, s(0.0, None))];
    assert_eq!(best_run(&runs, TuneBy::LossGap), Some(1), "loss gap: converged runs first");
    assert_eq!(best_run(&runs, TuneBy::GradNorm), Some(2));
    assert_eq!("grad-norm".parse::<TuneBy>().unwrap(), TuneBy::GradNorm);
    assert!(matches!("norm".parse::<TuneBy>(), Err(Error::Setting { setting: "tune_by", .. })));
}

#[test]
fn log_grids_are_exact_decades() {
    let g = log_grid(1e-2, 1.0, 2).unwrap();
    assert_eq!(g.len(), 5);
    for (x, want) in g.iter().zip([1e-2, 10f64.powf(-1.5), 1e-1, 10f64.powf(-0.5), 1.0]) {
        assert!((x - want).abs() <= 1e-15 * want, "{x} vs {want}");
    }
    assert_eq!(log_grid(0.5, 0.5, 3).unwrap(), [0.5]);
    for bad in [log_grid(1.0, 0.1, 2), log_grid(0.0, 1.0, 2), log_grid(0.1, 1.0, 0), log_grid(1e-300, 1e300, 100)] {
        assert!(matches!(bad, Err(Error::Setting { setting: "lr_grid", .. })), "{bad:?}");
    }
}

#[test]
fn bad_settings_name_the_setting() {
    for (c, setting) in [
        (ExperimentConfig { every: 0, ..config(Source::Heterogeneous) }, "every"),
        (ExperimentConfig { kappa: 0.5, ..config(Source::Heterogeneous) }, "kappa"),
        (ExperimentConfig { beta2: 0.0, ..config(Source::Heterogeneous) }, "beta2"),
        (ExperimentConfig { lr_grid: Some(vec![]), ..config(Source::Heterogeneous) }, "lr_grid"),
    ] {
        let e = Experiment::new(&c).unwrap_err();
        assert!(matches!(e, Error::Setting { setting: s, .. } if s == setting), "{setting}: {e:?}");
    }
    let small = ExperimentConfig { kappa: 50.0, ..config(Source::Heterogeneous) };
    assert!(matches!(Experiment::new(&small), Err(Error::Config(m)) if m.contains("too small")));
}
