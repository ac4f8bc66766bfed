//! The Hessian-vector products the tensor Lanczos engine takes (vectors as
//! f64 tensors on the network's device) against the host products the Rust
//! engine takes: the same kernels on the same values, so on the CPU they
//! are equal entry for entry, for whole, split (query/key/value rows) and
//! merged blocks, one graph or micro-batches.

mod common;

use common::*;
use lanczos::SymmetricOperator;
use lanczos_tensor::TensorOperator;
use nets::blocks::{select, units, Grouping};
use nets::data::Batch;
use nets::hvp::{BlockHessian, HessianBatch};
use nets::models::{build, Arch, GptConfig};
use rng::SplitMix;
use tch::{Device, Kind, Tensor};

fn token_batch(n: usize, t: usize, vocab: u64, seed: u64) -> Batch {
    let mut r = SplitMix::new(seed);
    let x: Vec<i64> = (0..n * t).map(|_| r.below(vocab) as i64).collect();
    let y: Vec<i64> = (0..n * t).map(|_| r.below(vocab) as i64).collect();
    Batch { x: Tensor::from_slice(&x).view([n as i64, t as i64]), y: Tensor::from_slice(&y).view([n as i64, t as i64]) }
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    nets::to_vec_f64(t)
}

#[test]
fn device_products_equal_host_products_entry_for_entry() {
    for kind in [Kind::Double, Kind::Float] {
        let arch = Arch::Gpt(GptConfig {
            n_layer: 2,
            n_head: 2,
            n_embd: 8,
            n_hidden: 32,
            block_size: 6,
            vocab_size: 11,
            layer_norm: true,
        });
        let m = build(&arch, kind, Device::Cpu, 5);
        let batch = token_batch(4, 6, 11, 3);
        let whole = block(&m, "transformer.h.0.mlp.c_fc.weight", false);
        let split = select(&units(&m.vs, true), &["h.1.attn.wk".to_string()], Grouping::PerPattern).unwrap().remove(0);
        let merged = block(&m, "transformer.h.0.*", false);
        for b in [&whole, &split, &merged] {
            for micro in [None, Some(3)] {
                let hb = HessianBatch::Held { batch: &batch, micro };
                let mut op = BlockHessian::new(m.net.as_ref(), b, hb).unwrap();
                let n = SymmetricOperator::dim(&op);
                let mut r = SplitMix::new(7);
                let x: Vec<f64> = (0..n).map(|_| r.normal()).collect();
                let mut host = vec![0.0; n];
                op.apply(&x, &mut host).unwrap();
                let device = to_vec(&op.apply_tensor(&Tensor::from_slice(&x)).unwrap());
                assert_eq!(host, device, "block {} ({kind:?}, micro {micro:?})", b.name);
                assert!(host.iter().any(|v| *v != 0.0));
            }
        }
        // A vector of the wrong size or kind is an error, not a crash.
        let mut op = BlockHessian::new(m.net.as_ref(), &whole, HessianBatch::whole(&batch)).unwrap();
        assert!(op.apply_tensor(&Tensor::zeros([3], (Kind::Double, Device::Cpu))).is_err());
        let n = whole.dim() as i64;
        assert!(op.apply_tensor(&Tensor::zeros([n], (Kind::Float, Device::Cpu))).is_err());
        assert_eq!(TensorOperator::device(&op), Device::Cpu);
    }
}
