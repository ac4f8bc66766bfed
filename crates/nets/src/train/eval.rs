//! Held-out evaluation: mean loss and, for classifiers, accuracy, on a
//! fixed list of batches, without gradients.

use tch::{Kind, Tensor};

use crate::data::{Batch, Examples};
use crate::error::{Error, Result};
use crate::net::Net;

/// The held-out examples evaluated, cut into batches once and kept on the
/// device.
pub struct HeldOut {
    batches: Vec<Batch>,
}

/// Loss (mean over examples: each batch's mean loss weighted by its
/// examples) and accuracy (None when the network has no class output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: Option<f64>,
}

impl HeldOut {
    /// The first `examples` held-out examples (all when 0 or more than
    /// there are; `examples` for sets drawn afresh), in batches of `batch`.
    pub fn new(set: &Examples, examples: usize, batch: usize, seed: u64, device: tch::Device) -> Result<Self> {
        let n = match set.len() {
            Some(len) if examples == 0 || examples > len => len,
            Some(_) => examples,
            None => examples.max(1),
        };
        if n == 0 {
            return Err(Error::invalid("the held-out set is empty"));
        }
        let batch = batch.max(1);
        let mut batches = Vec::new();
        let mut s = 0;
        while s < n {
            let idx: Vec<usize> = (s..(s + batch).min(n)).collect();
            let b = set.batch(&idx, rng::derive_seed(seed, &[b"heldout", &(s as u64).to_le_bytes()]))?;
            batches.push(b.to(device));
            s += batch;
        }
        Ok(HeldOut { batches })
    }

    pub fn evaluate(&self, net: &dyn Net) -> Evaluation {
        let _guard = tch::no_grad_guard();
        let (mut loss, mut n, mut correct, mut counted) = (0.0, 0.0, 0.0, 0.0);
        let mut classifier = true;
        for b in &self.batches {
            let k = b.len() as f64;
            loss += net.loss(b).double_value(&[]) * k;
            n += k;
            match net.output(b).filter(|o| o.dim() == 2 && b.y.dim() == 1) {
                Some(logits) if classifier => {
                    let hits = logits.argmax(-1, false).eq_tensor(&b.y).to_kind(Kind::Double).sum(Kind::Double);
                    correct += hits.double_value(&[]);
                    counted += k;
                }
                _ => classifier = false,
            }
        }
        Evaluation { loss: loss / n, accuracy: (classifier && counted > 0.0).then(|| correct / counted) }
    }
}

/// sqrt of the sum of squares of every defined gradient, in f64.
pub fn grad_norm(params: &[Tensor]) -> f64 {
    let mut s = 0.0;
    for p in params {
        let g = p.grad();
        if g.defined() {
            s += g.to_kind(Kind::Double).square().sum(Kind::Double).double_value(&[]);
        }
    }
    s.sqrt()
}
