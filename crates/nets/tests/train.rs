//! The trainer against updates computed by hand: a linear least-squares
//! model in f64 (gradient (2/n) X^T (Xw - y) in closed form), two updates of
//! SGD with momentum and of AdamW through `train::train`, compared with
//! PyTorch's documented formulas written out here.

use nets::data::{Batch, Examples, Shape, TrainData};
use nets::net::Net;
use nets::train::{self, Event, HeldOut, OptimizerKind, OptimizerSpec, Schedule, ScheduleKind, TrainConfig};
use tch::{Kind, Tensor};

const X: [[f64; 3]; 4] = [[1.0, 0.5, -0.2], [0.3, -1.0, 0.8], [-0.7, 0.2, 0.4], [0.9, 0.9, -1.1]];
const Y: [f64; 4] = [0.5, -1.0, 0.25, 2.0];
const W0: [f64; 3] = [0.1, -0.3, 0.2];

struct LeastSquares {
    w: Tensor,
}

impl Net for LeastSquares {
    fn loss(&self, batch: &Batch) -> Tensor {
        (batch.x.matmul(&self.w) - &batch.y).square().mean(Kind::Double)
    }
}

fn data() -> TrainData {
    let x = Tensor::from_slice(&X.concat()).view([4, 3]);
    let y = Tensor::from_slice(&Y);
    let held = || Examples::Held(Batch { x: x.shallow_clone(), y: y.shallow_clone() });
    TrainData { train: held(), heldout: held(), shape: Shape::Classes { features: 3, classes: 1 }, heldout_rule: "" }
}

fn grad(w: &[f64; 3]) -> [f64; 3] {
    let mut g = [0.0; 3];
    for (row, y) in X.iter().zip(Y) {
        let r = row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() - y;
        for j in 0..3 {
            g[j] += 2.0 / 4.0 * r * row[j];
        }
    }
    g
}

/// Two updates of `spec` at `lr` on the whole set (batch = 4), the weights after.
fn trained(spec: OptimizerSpec, lr: f64) -> Vec<f64> {
    let net = LeastSquares { w: Tensor::from_slice(&W0).set_requires_grad(true) };
    let params = vec![("w".to_string(), net.w.shallow_clone())];
    let data = data();
    let held = HeldOut::new(&data.heldout, 0, 4, 0, tch::Device::Cpu).unwrap();
    let cfg = TrainConfig {
        optimizer: spec,
        lr,
        schedule: Schedule { kind: ScheduleKind::Constant, warmup: 0 },
        batch_size: 4,
        steps: 2,
        clip: None,
        eval_every: 1,
        log_every: 1,
        save_at: vec![],
        seed: 0,
        lr_scale: vec![],
    };
    let mut losses = Vec::new();
    let out = train::train::<nets::Error>(&net, &params, &data, &held, &cfg, tch::Device::Cpu, |e| {
        if let Event::Step(s) = e {
            losses.push(s.train_loss);
        }
        Ok(())
    })
    .unwrap();
    assert_eq!((out.steps, out.diverged_at), (2, None));
    assert_eq!(losses.len(), 2);
    nets::to_vec_f64(&net.w)
}

fn close(a: &[f64], b: &[f64]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
    }
}

#[test]
fn sgd_with_momentum_and_weight_decay_follows_pytorchs_rule() {
    let (lr, mu, wd) = (0.1, 0.9, 0.05);
    let spec = OptimizerSpec { momentum: mu, weight_decay: wd, ..OptimizerSpec::defaults(OptimizerKind::Sgd) };
    // PyTorch: g <- g + wd p; b <- g at the first step, else mu b + g; p <- p - lr b.
    let mut w = W0;
    let mut b = [0.0; 3];
    for t in 0..2 {
        let g = grad(&w);
        for j in 0..3 {
            let gj = g[j] + wd * w[j];
            b[j] = if t == 0 { gj } else { mu * b[j] + gj };
            w[j] -= lr * b[j];
        }
    }
    close(&trained(spec, lr), &w);
}

#[test]
fn adamw_follows_pytorchs_rule_with_decoupled_decay() {
    let lr = 0.05;
    let spec = OptimizerSpec::defaults(OptimizerKind::AdamW);
    let (b1, b2, eps, wd) = (0.9, 0.999, 1e-8, 0.01);
    assert_eq!((spec.beta1, spec.beta2, spec.eps, spec.weight_decay), (b1, b2, eps, wd));
    let (mut w, mut m, mut v) = (W0, [0.0; 3], [0.0; 3]);
    for t in 1..=2 {
        let g = grad(&w);
        for j in 0..3 {
            w[j] *= 1.0 - lr * wd;
            m[j] = b1 * m[j] + (1.0 - b1) * g[j];
            v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
            let mhat = m[j] / (1.0 - b1.powi(t));
            let vhat = v[j] / (1.0 - b2.powi(t));
            w[j] -= lr * mhat / (vhat.sqrt() + eps);
        }
    }
    close(&trained(spec, lr), &w);
}

#[test]
fn adam_couples_weight_decay_to_the_gradient() {
    let (lr, wd) = (0.05, 0.1);
    let spec = OptimizerSpec { weight_decay: wd, ..OptimizerSpec::defaults(OptimizerKind::Adam) };
    let (b1, b2, eps) = (0.9, 0.999, 1e-8);
    let (mut w, mut m, mut v) = (W0, [0.0; 3], [0.0; 3]);
    for t in 1..=2 {
        let g = grad(&w);
        for j in 0..3 {
            let gj = g[j] + wd * w[j];
            m[j] = b1 * m[j] + (1.0 - b1) * gj;
            v[j] = b2 * v[j] + (1.0 - b2) * gj * gj;
            w[j] -= lr * (m[j] / (1.0 - b1.powi(t))) / ((v[j] / (1.0 - b2.powi(t))).sqrt() + eps);
        }
    }
    close(&trained(spec, lr), &w);
}

#[test]
fn clipping_scales_the_gradient_to_the_global_norm() {
    // One plain SGD update (no momentum) with clip c: p <- p - lr g c / (|g| + 1e-6).
    let net = LeastSquares { w: Tensor::from_slice(&W0).set_requires_grad(true) };
    let params = vec![("w".to_string(), net.w.shallow_clone())];
    let data = data();
    let held = HeldOut::new(&data.heldout, 0, 4, 0, tch::Device::Cpu).unwrap();
    let spec = OptimizerSpec { momentum: 0.0, ..OptimizerSpec::defaults(OptimizerKind::Sgd) };
    let (lr, c) = (0.1, 0.01);
    let cfg = TrainConfig {
        optimizer: spec,
        lr,
        schedule: Schedule { kind: ScheduleKind::Constant, warmup: 0 },
        batch_size: 4,
        steps: 1,
        clip: Some(c),
        eval_every: 1,
        log_every: 1,
        save_at: vec![],
        seed: 0,
        lr_scale: vec![],
    };
    let mut norms = Vec::new();
    train::train::<nets::Error>(&net, &params, &data, &held, &cfg, tch::Device::Cpu, |e| {
        if let Event::Step(s) = e {
            norms.push(s.grad_norm);
        }
        Ok(())
    })
    .unwrap();
    let g = grad(&W0);
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norms[0] - norm).abs() < 1e-12, "reported norm {} vs {norm}", norms[0]);
    let want: Vec<f64> = (0..3).map(|j| W0[j] - lr * g[j] * c / (norm + 1e-6)).collect();
    close(&nets::to_vec_f64(&net.w), &want);
}

/// The same least squares with the weights in two tensors: `a` (w0, w1) and `b` (w2).
struct TwoTensors {
    a: Tensor,
    b: Tensor,
}

impl Net for TwoTensors {
    fn loss(&self, batch: &Batch) -> Tensor {
        let fit = batch.x.narrow(1, 0, 2).matmul(&self.a) + batch.x.narrow(1, 2, 1).matmul(&self.b);
        (fit - &batch.y).square().mean(Kind::Double)
    }
}

/// Two updates of `spec` at base rate `lr` after a warm-up of 2 updates
/// (rates lr/2, then lr), with the factors `rules` set by pattern.
fn trained_scaled(spec: OptimizerSpec, lr: f64, rules: &[(&str, f64)]) -> Vec<f64> {
    let net = TwoTensors {
        a: Tensor::from_slice(&W0[..2]).set_requires_grad(true),
        b: Tensor::from_slice(&W0[2..]).set_requires_grad(true),
    };
    let params = vec![("a".to_string(), net.a.shallow_clone()), ("b".to_string(), net.b.shallow_clone())];
    let rules: Vec<(String, f64)> = rules.iter().map(|(p, f)| (p.to_string(), *f)).collect();
    let data = data();
    let held = HeldOut::new(&data.heldout, 0, 4, 0, tch::Device::Cpu).unwrap();
    let cfg = TrainConfig {
        optimizer: spec,
        lr,
        schedule: Schedule { kind: ScheduleKind::Constant, warmup: 2 },
        batch_size: 4,
        steps: 2,
        clip: None,
        eval_every: 1,
        log_every: 1,
        save_at: vec![],
        seed: 0,
        lr_scale: train::scale::by_pattern(&params, &rules).unwrap(),
    };
    let mut rates = Vec::new();
    train::train::<nets::Error>(&net, &params, &data, &held, &cfg, tch::Device::Cpu, |e| {
        if let Event::Step(s) = e {
            rates.push(s.lr_now);
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(rates, [lr / 2.0, lr], "the reported rate is the scheduled base rate");
    [nets::to_vec_f64(&net.a), nets::to_vec_f64(&net.b)].concat()
}

#[test]
fn sgd_with_momentum_takes_each_groups_factor_times_the_scheduled_rate() {
    let (lr, mu) = (0.1, 0.9);
    let spec = OptimizerSpec { momentum: mu, ..OptimizerSpec::defaults(OptimizerKind::Sgd) };
    let factor = [3.0, 3.0, 0.25];
    let (mut w, mut b) = (W0, [0.0; 3]);
    for t in 0..2 {
        let g = grad(&w);
        let base = lr * (t + 1) as f64 / 2.0;
        for j in 0..3 {
            b[j] = if t == 0 { g[j] } else { mu * b[j] + g[j] };
            w[j] -= base * factor[j] * b[j];
        }
    }
    close(&trained_scaled(spec, lr, &[("a", 3.0), ("b", 0.25)]), &w);
}

#[test]
fn adamw_scales_the_step_and_the_decoupled_decay_of_one_group() {
    let lr = 0.05;
    let spec = OptimizerSpec::defaults(OptimizerKind::AdamW);
    let (b1, b2, eps, wd) = (spec.beta1, spec.beta2, spec.eps, spec.weight_decay);
    let factor = [1.0, 1.0, 0.1];
    let (mut w, mut m, mut v) = (W0, [0.0; 3], [0.0; 3]);
    for t in 1..=2 {
        let g = grad(&w);
        let base = lr * t as f64 / 2.0;
        for j in 0..3 {
            let rate = base * factor[j];
            w[j] *= 1.0 - rate * wd;
            m[j] = b1 * m[j] + (1.0 - b1) * g[j];
            v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
            w[j] -= rate * (m[j] / (1.0 - b1.powi(t))) / ((v[j] / (1.0 - b2.powi(t))).sqrt() + eps);
        }
    }
    close(&trained_scaled(spec, lr, &[("b", 0.1)]), &w);
}
