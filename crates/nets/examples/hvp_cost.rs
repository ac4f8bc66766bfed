//! Cost of one Hessian-vector product against one gradient, as hvp-dump
//! computes them, on saved weights and a saved batch (`hvp-dump
//! --save-weights W --save-batch B`): `make bench` quotes HVP time /
//! gradient time per model from this. One JSON line on stdout.
//!
//!     cargo run --release -p nets --example hvp_cost -- MODEL WEIGHTS BATCH [PRODUCTS] [THREADS]
//!
//! Gradient: forward and backward of the mean loss over every parameter (a
//! training step's gradient). HVP: one product of a block's Hessian with the
//! first-order graph kept, f64 vector in and out (what Lanczos calls), per
//! block, averaged over PRODUCTS products (default 20); the blocks are every
//! parameter tensor. Medians over repetitions.

use std::path::Path;
use std::time::Instant;

use lanczos::SymmetricOperator;
use nets::blocks::{select, units, Grouping};
use nets::data::Batch;
use nets::hvp::{BlockHessian, HessianBatch};
use nets::zoo::{self, ModelOptions};
use tch::{Device, Kind, Tensor};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn tensor(file: &[(String, Tensor)], name: &str) -> Result<Tensor, String> {
    file.iter().find(|(n, _)| n == name).map(|(_, t)| t.shallow_clone()).ok_or(format!("no tensor `{name}`"))
}

fn main() -> Result<(), String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 3 {
        return Err("usage: hvp_cost MODEL WEIGHTS BATCH [PRODUCTS] [THREADS]".into());
    }
    let products: usize = a.get(3).map_or(Ok(20), |s| s.parse()).map_err(|e| format!("PRODUCTS: {e}"))?;
    let threads: i32 = a.get(4).map_or(Ok(2), |s| s.parse()).map_err(|e| format!("THREADS: {e}"))?;
    tch::set_num_threads(threads);
    let saved = Tensor::read_safetensors(Path::new(&a[2])).map_err(|e| e.to_string())?;
    let batch = Batch { x: tensor(&saved, "input")?, y: tensor(&saved, "target")? };
    let weights = Tensor::read_safetensors(Path::new(&a[1])).map_err(|e| e.to_string())?;
    // The output size is in the weights: the last layer's rows (mlp) or the vocabulary (GPT).
    let (input, classes) = match tensor(&weights, "transformer.wte.weight") {
        Ok(wte) => (0, wte.size()[0]),
        Err(_) => (batch.x.size()[1], tensor(&weights, "fc4.weight")?.size()[0]),
    };
    let arch = zoo::arch(&a[0], &ModelOptions::default(), input, classes).map_err(|e| e.to_string())?;
    let kind = weights.first().map_or(Kind::Float, |(_, t)| t.kind());
    let model = nets::models::build(&arch, kind, Device::Cpu, 0);
    nets::checkpoint::load(&model.vs, Path::new(&a[1])).map_err(|e| e.to_string())?;
    let net = model.net.as_ref();

    let params: Vec<Tensor> = model.vs.trainable_variables();
    let gradient = || {
        let loss = net.loss(&batch);
        let g = Tensor::run_backward(&[&loss], &params, false, false);
        std::hint::black_box(g);
    };
    gradient(); // warm-up
    let grad_s = median(
        (0..products.max(3))
            .map(|_| {
                let t = Instant::now();
                gradient();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );

    let blocks =
        select(&units(&model.vs, false), &["*".to_string()], Grouping::EachTensor).map_err(|e| e.to_string())?;
    let mut hvp_s = Vec::new();
    let mut rows = Vec::new();
    for b in &blocks {
        let mut h = BlockHessian::new(net, b, HessianBatch::whole(&batch)).map_err(|e| e.to_string())?;
        let v: Vec<f64> = (0..b.dim()).map(|i| ((i * 7919) % 1000) as f64 / 1000.0 - 0.5).collect();
        let mut out = vec![0.0; b.dim()];
        h.apply(&v, &mut out).map_err(|e| e.to_string())?; // warm-up
        let times: Vec<f64> = (0..products)
            .map(|_| {
                let t = Instant::now();
                h.apply(&v, &mut out).map(|_| t.elapsed().as_secs_f64())
            })
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let s = median(times);
        rows.push(format!("{{\"block\":\"{}\",\"dim\":{},\"hvp_s\":{s:.6e}}}", b.name, b.dim()));
        hvp_s.push(s);
    }
    let mean_hvp = hvp_s.iter().sum::<f64>() / hvp_s.len() as f64;
    println!(
        "{{\"type\":\"hvp_cost\",\"tool\":\"hvp-dump\",\"model\":\"{}\",\"threads\":{threads},\"grad_s\":{grad_s:.6e},\"hvp_s\":{mean_hvp:.6e},\"hvp_over_grad\":{:.4},\"blocks\":[{}]}}",
        a[0],
        mean_hvp / grad_s,
        rows.join(",")
    );
    Ok(())
}
