//! Drawing a Hessian batch from a seeded generator: distinct images, or
//! token windows. Tensors are assembled later, per range of examples
//! ([`Stream`]).

use rng::SplitMix;
use tch::Kind;

use super::batch::{choose_distinct, TRAIN_FRACTION};
use super::sources::ImageSet;
use super::spec::BatchSpec;
use super::stream::Stream;
use crate::error::{Error, Result};

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

/// The Hessian batch's images: `batch_size` distinct examples of `set`.
pub(crate) fn image_batch(set: ImageSet, spec: &BatchSpec, kind: Kind, rng: &mut SplitMix) -> Result<Stream> {
    let idx = choose_distinct(set.n, spec.batch_size as usize, rng);
    if idx.len() < spec.batch_size as usize {
        return Err(Error::BatchExceedsData { batch_size: spec.batch_size, available: set.n, data: spec.kind.name() });
    }
    Stream::images(set, idx, spec.input, kind)
}
