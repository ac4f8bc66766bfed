//! The HVP engine against answers computed another way: central finite
//! differences of the gradient (error shrinking like eps^2, Richardson
//! extrapolation to 1e-10), principal sub-matrices of the full Hessian, and
//! full-batch versus micro-batch means. All in f64.

mod common;

use common::*;
use lanczos::SymmetricOperator;
use nets::blocks::Block;
use nets::data::Batch;
use nets::hvp::{perturb, BlockHessian, HessianBatch};
use nets::models::{build, Arch, Built, GptConfig, MlpConfig};
use rng::SplitMix;
use tch::{Kind, Tensor};

fn tiny_mlp() -> Built {
    let arch = Arch::Mlp(MlpConfig { input: 5, widths: vec![4, 3], classes: 3, layer_scale: 1.0 });
    build(&arch, Kind::Double, tch::Device::Cpu, 1)
}

fn mlp_batch(n: usize, seed: u64) -> Batch {
    let mut r = SplitMix::new(seed);
    let x: Vec<f64> = (0..n * 5).map(|_| r.normal()).collect();
    let y: Vec<i64> = (0..n).map(|_| r.below(3) as i64).collect();
    Batch { x: Tensor::from_slice(&x).view([n as i64, 5]), y: Tensor::from_slice(&y) }
}

fn tiny_transformer(layers: i64) -> Built {
    let arch = Arch::Gpt(GptConfig {
        n_layer: layers,
        n_head: 2,
        n_embd: 4,
        n_hidden: 4,
        block_size: 2,
        vocab_size: 5,
        layer_norm: false,
    });
    build(&arch, Kind::Double, tch::Device::Cpu, 3)
}

fn small_gpt() -> Built {
    let arch = Arch::Gpt(GptConfig {
        n_layer: 1,
        n_head: 2,
        n_embd: 4,
        n_hidden: 8,
        block_size: 3,
        vocab_size: 5,
        layer_norm: true,
    });
    build(&arch, Kind::Double, tch::Device::Cpu, 4)
}

fn token_batch(n: usize, t: usize, vocab: u64, seed: u64) -> Batch {
    let mut r = SplitMix::new(seed);
    let x: Vec<i64> = (0..n * t).map(|_| r.below(vocab) as i64).collect();
    let y: Vec<i64> = (0..n * t).map(|_| r.below(vocab) as i64).collect();
    Batch { x: Tensor::from_slice(&x).view([n as i64, t as i64]), y: Tensor::from_slice(&y).view([n as i64, t as i64]) }
}

#[test]
fn mlp_hvp_equals_finite_difference_hessian() {
    let m = tiny_mlp();
    let batch = mlp_batch(7, 11);
    let b = block(&m, "all", false);
    assert_eq!(b.dim(), 5 * 4 + 4 + 4 * 3 + 3 + 3 * 3 + 3);
    // ReLU: steps small enough not to cross a kink.
    check_against_finite_differences(&m, &b, &batch, 1e-3, 1e-4);
}

#[test]
fn tiny_transformer_hvp_equals_finite_difference_hessian() {
    let m = tiny_transformer(1);
    let batch = token_batch(6, 2, 5, 12);
    let b = block(&m, "all", false);
    check_against_finite_differences(&m, &b, &batch, 1e-2, 1e-3);
    randomize(&m, 0.5, 1);
    check_against_finite_differences(&m, &b, &batch, 1e-2, 1e-3);
}

#[test]
fn gpt_with_layernorm_hvp_equals_finite_difference_hessian() {
    let m = small_gpt();
    let batch = token_batch(3, 3, 5, 13);
    randomize(&m, 0.5, 2);
    let b = block(&m, "h.0.*", false);
    // LayerNorm has large higher derivatives: a smaller Richardson step.
    check_against_finite_differences(&m, &b, &batch, 1e-2, 1e-4);
}

/// Offsets of each parameter tensor within the `all` block.
fn offsets(all: &Block) -> Vec<(String, usize, usize)> {
    let mut off = 0;
    all.parts
        .iter()
        .map(|p| {
            let r = (p.param.clone(), off, p.numel());
            off += p.numel();
            r
        })
        .collect()
}

fn principal(h: &[f64], n: usize, idx: &[usize]) -> Vec<f64> {
    idx.iter().flat_map(|&i| idx.iter().map(move |&j| h[i * n + j])).collect()
}

#[test]
fn block_hvp_is_principal_submatrix_times_v() {
    let m = tiny_transformer(2);
    randomize(&m, 0.5, 3);
    let batch = token_batch(5, 2, 5, 14);
    let all = block(&m, "all", false);
    let n = all.dim();
    let h = hessian(&m, &all, &batch);
    let offs = offsets(&all);
    let idx_of = |param: &str, rows: Option<(i64, i64)>| -> Vec<usize> {
        let (_, off, numel) = offs.iter().find(|(p, _, _)| p == param).unwrap().clone();
        match rows {
            None => (off..off + numel).collect(),
            Some((s, l)) => {
                let cols = numel / (3 * l as usize);
                (off + s as usize * cols..off + (s + l) as usize * cols).collect()
            }
        }
    };
    // Whole tensors, a glob of several tensors, and a split key block.
    for (pat, split) in [
        ("transformer.wte.weight", false),
        ("transformer.h.1.mlp.c_fc.weight", false),
        ("h.0.attn.*", false),
        ("transformer.h.1.attn.wk", true),
    ] {
        let b = block(&m, pat, split);
        let idx: Vec<usize> = b.parts.iter().flat_map(|p| idx_of(&p.param, p.rows)).collect();
        assert_eq!(idx.len(), b.dim());
        let sub = principal(&h, n, &idx);
        let mut op = BlockHessian::new(m.net.as_ref(), &b, HessianBatch::whole(&batch)).unwrap();
        let v = lanczos::Probe::Gaussian.vector(b.dim(), &mut SplitMix::new(5));
        let mut hv = vec![0.0; b.dim()];
        op.apply(&v, &mut hv).unwrap();
        let expect: Vec<f64> =
            (0..idx.len()).map(|i| (0..idx.len()).map(|j| sub[i * idx.len() + j] * v[j]).sum()).collect();
        let e = rel_err(&hv, &expect);
        assert!(max_abs(&expect) > 1e-8, "{pat}: zero block");
        assert!(e < 1e-12, "{pat}: block HVP differs from sub-matrix times v by {e}");
    }
}

#[test]
fn micro_batch_mean_equals_full_batch() {
    for (m, batch, pat) in
        [(tiny_mlp(), mlp_batch(7, 21), "fc2.weight"), (tiny_transformer(1), token_batch(7, 2, 5, 22), "all")]
    {
        let b = block(&m, pat, false);
        let v = lanczos::Probe::Gaussian.vector(b.dim(), &mut SplitMix::new(9));
        let mut full = vec![0.0; b.dim()];
        BlockHessian::new(m.net.as_ref(), &b, HessianBatch::Held { batch: &batch, micro: Some(100) })
            .unwrap()
            .apply(&v, &mut full)
            .unwrap();
        for size in [1, 3, 4] {
            let mb = HessianBatch::Held { batch: &batch, micro: Some(size) };
            assert!(mb.count() > 1);
            let mut op = BlockHessian::new(m.net.as_ref(), &b, mb).unwrap();
            let mut hv = vec![0.0; b.dim()];
            op.apply(&v, &mut hv).unwrap();
            let e = rel_err(&hv, &full);
            assert!(e < 1e-12, "{pat}: micro-batches of {size}: rel. error {e}");
            let (g_full, g_mb) = (
                BlockHessian::new(m.net.as_ref(), &b, HessianBatch::Held { batch: &batch, micro: Some(100) })
                    .unwrap()
                    .gradient()
                    .unwrap(),
                op.gradient().unwrap(),
            );
            assert!(rel_err(&g_mb, &g_full) < 1e-12);
        }
    }
}

#[test]
fn micro_batch_gradients_weigh_up_to_the_whole_batch_gradient() {
    let (m, batch) = (tiny_transformer(1), token_batch(7, 2, 5, 22));
    let b = block(&m, "all", false);
    let whole = gradient(&m, &b, &batch);
    // 7 examples in parts of 3: 3, 3 and 1, weighted 3/7, 3/7, 1/7.
    let parts = HessianBatch::whole(&batch).in_parts(3);
    assert_eq!(parts.count(), 3);
    let op = BlockHessian::new(m.net.as_ref(), &b, parts).unwrap();
    let g = op.micro_batch_gradients().unwrap();
    let mut sum = vec![0.0; b.dim()];
    for (k, gk) in g.iter().enumerate() {
        for (s, x) in sum.iter_mut().zip(gk) {
            *s += parts.weight(k) * x;
        }
    }
    assert!((parts.weight(2) - 1.0 / 7.0).abs() < 1e-15);
    let e = rel_err(&sum, &whole);
    assert!(e < 1e-12, "rel. error {e}");
    // Each part's own gradient is that of its examples alone.
    let last = gradient(&m, &b, &batch.slice(6, 1));
    assert!(rel_err(&g[2], &last) < 1e-12);
}

#[test]
fn non_finite_gradient_is_an_error_naming_the_block() {
    let m = tiny_mlp();
    let b = block(&m, "fc1.weight", false);
    let mut d = vec![0.0; b.dim()];
    d[0] = f64::NAN;
    perturb(&b, &d);
    let batch = mlp_batch(4, 1);
    let e = BlockHessian::new(m.net.as_ref(), &b, HessianBatch::whole(&batch)).err().expect("must fail");
    let msg = e.to_string();
    assert!(msg.contains("fc1.weight") && (msg.contains("NaN") || msg.contains("Inf")), "{msg}");
}
