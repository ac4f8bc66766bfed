//! Batches: the [`Batch`] type, its micro-batches, and what drawing any
//! batch needs (distinct indices, the training fraction, images shaped for
//! the network). Drawing a Hessian batch is [`super::draw`]'s.

use rng::SplitMix;
use tch::{Device, Tensor};

use super::spec::Input;
use crate::error::{Error, Result};

/// Inputs and targets of one batch. `x`: [N, features] or images
/// [N, 3, S, S] in the network's kind (classification), [N, T] token ids
/// (GPT), or [N, 2, T] token and segment ids (BERT); `y`: [N], [N, T], or
/// [N, T + 1] for BERT (masked-LM targets, -100 where not masked, then the
/// next-sentence label).
pub struct Batch {
    pub x: Tensor,
    pub y: Tensor,
}

impl Batch {
    /// Number of examples (sequences for language models).
    pub fn len(&self) -> i64 {
        self.x.size()[0]
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Examples [start, start + len).
    pub fn slice(&self, start: i64, len: i64) -> Batch {
        Batch { x: self.x.narrow(0, start, len), y: self.y.narrow(0, start, len) }
    }
    pub fn to(&self, device: Device) -> Batch {
        Batch { x: self.x.to_device(device), y: self.y.to_device(device) }
    }
}

/// What the model needs to know about the data before it is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Classification with `features` inputs and `classes` classes.
    Classes { features: i64, classes: i64 },
    /// Next-token prediction over `vocab` tokens.
    Tokens { vocab: i64 },
}

/// A Hessian batch on the CPU, with the shape information the model needs.
pub struct Loaded {
    pub batch: Batch,
    pub shape: Shape,
}

/// Fraction of each corpus used for training (nanoGPT: first 90%); Hessian
/// batches are drawn from the training part.
pub const TRAIN_FRACTION: f64 = 0.9;

/// `k` distinct indices from 0..n, in the order drawn (partial Fisher-Yates).
pub fn choose_distinct(n: usize, k: usize, rng: &mut SplitMix) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let j = i + rng.below((n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k.min(n));
    idx
}

/// [N, C, H, W] f64 images to what the network reads: flat features, or
/// three channels at `size` x `size`.
pub(crate) fn shape_images(x: Tensor, input: Input) -> Result<Tensor> {
    match input {
        Input::Features => Ok(x.flatten(1, -1)),
        Input::Image { size } => {
            let s = x.size();
            let x = match s[1] {
                1 => x.repeat([1, 3, 1, 1]),
                3 => x,
                c => {
                    return Err(Error::invalid(format!(
                        "images have {c} channels; image models read 1 (replicated) or 3"
                    )))
                }
            };
            if s[2] == size && s[3] == size {
                Ok(x)
            } else {
                Ok(x.upsample_bilinear2d([size, size], false, None, None))
            }
        }
        Input::Tokens | Input::MaskedLm => Err(Error::mismatch("token inputs are not images")),
    }
}
