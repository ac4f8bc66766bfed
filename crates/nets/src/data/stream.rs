//! A Hessian batch whose examples are chosen up front (by the data seed)
//! and assembled into tensors only when a range of them is asked for, so
//! that a batch of many micro-batches never has to sit in memory whole.
//! [`load`](super::load) is the whole range of the same [`Stream`]: a
//! streamed batch and a loaded one hold the same examples, bit for bit.

use std::rc::Rc;

use tch::{Kind, Tensor};

use super::batch::{Batch, Shape};
use super::sources::ImageSet;
use super::spec::Input;
use super::split::Examples;
use crate::error::{Error, Result};

/// The examples of a Hessian batch, in order, and what the model needs to
/// know about them.
pub struct Stream {
    source: Source,
    len: usize,
    pub shape: Shape,
}

enum Source {
    /// Example i of the batch is example `chosen[i]` of `set`.
    Chosen { set: Examples, chosen: Vec<usize> },
    /// Sequence i is `ids[offsets[i]..][..seq_len]`, targets shifted by one.
    Windows { ids: Vec<i64>, offsets: Vec<usize>, seq_len: usize },
}

impl Stream {
    /// The `chosen` images of `set`, shaped for `input` in `kind`.
    pub(crate) fn images(set: ImageSet, chosen: Vec<usize>, input: Input, kind: Kind) -> Result<Stream> {
        let features = match input {
            Input::Features => set.channels * set.height * set.width,
            Input::Image { size } => 3 * size * size,
            Input::Tokens | Input::MaskedLm => return Err(Error::mismatch("token inputs are not images")),
        };
        let shape = Shape::Classes { features, classes: set.classes };
        let len = chosen.len();
        let set = Examples::Images { len: set.n, set: Rc::new(set), start: 0, input, kind };
        Ok(Stream { source: Source::Chosen { set, chosen }, len, shape })
    }

    /// A batch drawn whole (synthetic data, BERT's pairs): small by nature.
    pub(crate) fn held(batch: Batch, shape: Shape) -> Stream {
        let len = batch.len() as usize;
        Stream { source: Source::Chosen { set: Examples::Held(batch), chosen: (0..len).collect() }, len, shape }
    }

    /// Next-token windows of `seq_len` tokens of `ids` at `offsets`.
    pub(crate) fn windows(ids: Vec<i64>, offsets: Vec<usize>, seq_len: usize, vocab: i64) -> Stream {
        let len = offsets.len();
        Stream { source: Source::Windows { ids, offsets, seq_len }, len, shape: Shape::Tokens { vocab } }
    }

    /// Number of examples (sequences for language models).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Examples `[start, start + len)` of the batch, on the CPU.
    pub fn examples(&self, start: usize, len: usize) -> Result<Batch> {
        let end = start.checked_add(len).filter(|e| *e <= self.len).ok_or_else(|| {
            Error::invalid(format!("examples {start}..{} of a batch of {}", start.saturating_add(len), self.len))
        })?;
        match &self.source {
            Source::Chosen { set, chosen } => set.batch(&chosen[start..end], 0),
            Source::Windows { ids, offsets, seq_len } => {
                let t = *seq_len;
                let (mut x, mut y) = (Vec::with_capacity(len * t), Vec::with_capacity(len * t));
                for &o in &offsets[start..end] {
                    x.extend_from_slice(&ids[o..o + t]);
                    y.extend_from_slice(&ids[o + 1..o + t + 1]);
                }
                let shape = [len as i64, t as i64];
                Ok(Batch { x: Tensor::from_slice(&x).view(shape), y: Tensor::from_slice(&y).view(shape) })
            }
        }
    }

    /// The whole batch, on the CPU.
    pub fn whole(&self) -> Result<Batch> {
        self.examples(0, self.len)
    }
}
