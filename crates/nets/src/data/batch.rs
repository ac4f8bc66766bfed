//! Batches: the [`Batch`] type, its micro-batches, and drawing a Hessian
//! batch (distinct images, or token windows) from a seeded generator.

use rng::SplitMix;
use tch::{Device, Kind, Tensor};

use super::sources::ImageSet;
use super::spec::{BatchSpec, Input};
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
    /// Split into micro-batches of at most `size` examples, each with its
    /// weight (examples / total), so that the weighted sum of the
    /// micro-batches' mean losses is the batch's mean loss exactly.
    pub fn micro_batches(&self, size: i64) -> Vec<(Batch, f64)> {
        let n = self.len();
        let size = size.clamp(1, n.max(1));
        let mut out = Vec::new();
        let mut s = 0;
        while s < n {
            let l = size.min(n - s);
            out.push((self.slice(s, l), l as f64 / n as f64));
            s += l;
        }
        out
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

pub(crate) fn windows(ids: &[i64], spec: &BatchSpec, rng: &mut SplitMix) -> Result<Batch> {
    let t = spec.seq_len as usize;
    let train = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
    if train < t + 2 {
        return Err(Error::invalid(format!("corpus too short ({train} training tokens) for sequences of {t}")));
    }
    let b = spec.batch_size as usize;
    let mut x = Vec::with_capacity(b * t);
    let mut y = Vec::with_capacity(b * t);
    for _ in 0..b {
        let o = rng.below((train - t - 1) as u64) as usize;
        x.extend_from_slice(&ids[o..o + t]);
        y.extend_from_slice(&ids[o + 1..o + t + 1]);
    }
    let shape = [spec.batch_size, spec.seq_len];
    Ok(Batch { x: Tensor::from_slice(&x).view(shape), y: Tensor::from_slice(&y).view(shape) })
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

pub(crate) fn image_batch(set: &ImageSet, spec: &BatchSpec, kind: Kind, rng: &mut SplitMix) -> Result<Loaded> {
    let idx = choose_distinct(set.n, spec.batch_size as usize, rng);
    if idx.len() < spec.batch_size as usize {
        return Err(Error::BatchExceedsData { batch_size: spec.batch_size, available: set.n, data: spec.kind.name() });
    }
    let mut x = Vec::with_capacity(idx.len() * set.len());
    let mut y = Vec::with_capacity(idx.len());
    for &i in &idx {
        set.example(i, &mut x);
        y.push(set.labels[i]);
    }
    let x = Tensor::from_slice(&x).view([idx.len() as i64, set.channels, set.height, set.width]);
    let x = shape_images(x, spec.input)?.to_kind(kind);
    let features = x.size()[1..].iter().product();
    Ok(Loaded {
        batch: Batch { x, y: Tensor::from_slice(&y) },
        shape: Shape::Classes { features, classes: set.classes },
    })
}
