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
    /// Classes below this are the frequent half (see [`HeldOut::by_halves`]).
    frequent_below: Option<i64>,
}

/// Loss (mean over examples: each batch's mean loss weighted by its
/// examples) and accuracy (None when the network has no class output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: Option<f64>,
    /// Accuracy over the examples of the frequent classes (k < K/2) and of
    /// the rare ones (k >= K/2), when asked for ([`HeldOut::by_halves`])
    /// and the held-out set has examples of them.
    pub frequent_accuracy: Option<f64>,
    pub rare_accuracy: Option<f64>,
    /// Mean cross-entropy of the logits over the same examples, as above.
    pub frequent_loss: Option<f64>,
    pub rare_loss: Option<f64>,
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
        Ok(HeldOut { batches, frequent_below: None })
    }

    /// Also report accuracy per half of `classes` classes ranked by label:
    /// the frequent half k < K/2 and the rare half (training classes made
    /// imbalanced in label order).
    pub fn by_halves(mut self, classes: i64) -> Self {
        self.frequent_below = Some((classes + 1) / 2);
        self
    }

    pub fn evaluate(&self, net: &dyn Net) -> Evaluation {
        let _guard = tch::no_grad_guard();
        let (mut loss, mut n, mut correct, mut counted) = (0.0, 0.0, 0.0, 0.0);
        // (hits, examples, summed cross-entropy) of the frequent and of the rare half.
        let mut halves = [(0.0, 0.0, 0.0); 2];
        let mut classifier = true;
        for b in &self.batches {
            let k = b.len() as f64;
            loss += net.loss(b).double_value(&[]) * k;
            n += k;
            match net.output(b).filter(|o| o.dim() == 2 && b.y.dim() == 1) {
                Some(logits) if classifier => {
                    let hit = logits.argmax(-1, false).eq_tensor(&b.y).to_kind(Kind::Double);
                    correct += hit.sum(Kind::Double).double_value(&[]);
                    counted += k;
                    if let Some(split) = self.frequent_below {
                        let frequent = b.y.lt(split).to_kind(Kind::Double);
                        let f_hits = (&hit * &frequent).sum(Kind::Double).double_value(&[]);
                        let f_count = frequent.sum(Kind::Double).double_value(&[]);
                        let h = hit.sum(Kind::Double).double_value(&[]);
                        // Each example's cross-entropy of the logits (the
                        // classifiers' loss), in f64.
                        let nll = -logits
                            .to_kind(Kind::Double)
                            .log_softmax(-1, Kind::Double)
                            .gather(1, &b.y.unsqueeze(1), false)
                            .squeeze_dim(1);
                        let f_nll = (&nll * &frequent).sum(Kind::Double).double_value(&[]);
                        let all_nll = nll.sum(Kind::Double).double_value(&[]);
                        halves[0].0 += f_hits;
                        halves[0].1 += f_count;
                        halves[0].2 += f_nll;
                        halves[1].0 += h - f_hits;
                        halves[1].1 += k - f_count;
                        halves[1].2 += all_nll - f_nll;
                    }
                }
                _ => classifier = false,
            }
        }
        let half = |(hits, count, _): (f64, f64, f64)| (classifier && count > 0.0).then(|| hits / count);
        let half_loss = |(_, count, nll): (f64, f64, f64)| (classifier && count > 0.0).then(|| nll / count);
        Evaluation {
            loss: loss / n,
            accuracy: (classifier && counted > 0.0).then(|| correct / counted),
            frequent_accuracy: half(halves[0]),
            rare_accuracy: half(halves[1]),
            frequent_loss: half_loss(halves[0]),
            rare_loss: half_loss(halves[1]),
        }
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
