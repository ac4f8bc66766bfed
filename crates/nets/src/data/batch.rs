//! Batches: the [`Batch`] type, its micro-batches, and drawing a Hessian
//! batch (distinct images, or token windows) from a seeded generator.
//! Tensors are assembled later, per range of examples ([`Stream`]).

use rng::SplitMix;
use tch::{Device, Kind, Tensor};

use super::sources::ImageSet;
use super::spec::{BatchSpec, Input};
use super::stream::Stream;
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

/// The Hessian batch's windows of a token stream: `batch_size` offsets
/// drawn in the training part, each window with its next-token targets.
pub(crate) fn windows(ids: Vec<i64>, vocab: i64, spec: &BatchSpec, rng: &mut SplitMix) -> Result<Stream> {
    let t = spec.seq_len as usize;
    let train = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
    if train < t + 2 {
        return Err(Error::invalid(format!("corpus too short ({train} training tokens) for sequences of {t}")));
    }
    let offsets = (0..spec.batch_size).map(|_| rng.below((train - t - 1) as u64) as usize).collect();
    Ok(Stream::windows(ids, offsets, t, vocab))
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

/// The Hessian batch's images: `batch_size` distinct examples of `set`.
pub(crate) fn image_batch(set: ImageSet, spec: &BatchSpec, kind: Kind, rng: &mut SplitMix) -> Result<Stream> {
    let idx = choose_distinct(set.n, spec.batch_size as usize, rng);
    if idx.len() < spec.batch_size as usize {
        return Err(Error::BatchExceedsData { batch_size: spec.batch_size, available: set.n, data: spec.kind.name() });
    }
    Stream::images(set, idx, spec.input, kind)
}
