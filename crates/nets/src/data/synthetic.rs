//! Synthetic data with the shapes of the real sets and no content: Gaussian
//! features or images with uniform labels over 10 classes, uniform tokens.
//! Every draw comes from the caller's generator, in a fixed order.

use rng::SplitMix;
use tch::{Kind, Tensor};

use super::batch::{Batch, Loaded, Shape};
use super::spec::BatchSpec;
use crate::error::{Error, Result, Setting};

/// Classes of synthetic labels (as MNIST's).
const CLASSES: i64 = 10;

fn check_vocab(v: i64) -> Result<()> {
    if v < 2 {
        return Err(Error::out_of_range(Setting::Vocab, "must be at least 2"));
    }
    Ok(())
}

/// `n` examples of `features` standard normal values each, then their labels.
fn gaussian(n: i64, features: i64, rng: &mut SplitMix) -> (Vec<f64>, Tensor) {
    let x: Vec<f64> = (0..n * features).map(|_| rng.normal()).collect();
    let y: Vec<i64> = (0..n).map(|_| rng.below(CLASSES as u64) as i64).collect();
    (x, Tensor::from_slice(&y))
}

/// Flat 784-feature vectors (MNIST's size), in `kind`.
pub fn features(spec: &BatchSpec, kind: Kind, rng: &mut SplitMix) -> Loaded {
    let n = spec.batch_size;
    let (x, y) = gaussian(n, 784, rng);
    let x = Tensor::from_slice(&x).view([n, 784]).to_kind(kind);
    Loaded { batch: Batch { x, y }, shape: Shape::Classes { features: 784, classes: CLASSES } }
}

/// Three-channel `size` x `size` images, in `kind`.
pub fn images(spec: &BatchSpec, size: i64, kind: Kind, rng: &mut SplitMix) -> Loaded {
    let n = spec.batch_size;
    let (x, y) = gaussian(n, 3 * size * size, rng);
    let x = Tensor::from_slice(&x).view([n, 3, size, size]).to_kind(kind);
    Loaded { batch: Batch { x, y }, shape: Shape::Classes { features: 3 * size * size, classes: CLASSES } }
}

/// Windows of uniform tokens with next-token targets, each drawn on its own.
pub fn token_windows(spec: &BatchSpec, rng: &mut SplitMix) -> Result<Loaded> {
    let v = spec.synthetic_vocab;
    check_vocab(v)?;
    let (b, t) = (spec.batch_size as usize, spec.seq_len as usize);
    let mut x = Vec::with_capacity(b * t);
    let mut y = Vec::with_capacity(b * t);
    for _ in 0..b {
        let s: Vec<i64> = (0..=t).map(|_| rng.below(v as u64) as i64).collect();
        x.extend_from_slice(&s[..t]);
        y.extend_from_slice(&s[1..]);
    }
    let shape = [spec.batch_size, spec.seq_len];
    Ok(Loaded {
        batch: Batch { x: Tensor::from_slice(&x).view(shape), y: Tensor::from_slice(&y).view(shape) },
        shape: Shape::Tokens { vocab: v },
    })
}

/// A stream of uniform tokens long enough for the batch (BERT draws its
/// sentences from it), with its vocabulary.
pub fn token_stream(spec: &BatchSpec, rng: &mut SplitMix) -> Result<(Vec<i64>, i64)> {
    let v = spec.synthetic_vocab;
    check_vocab(v)?;
    let len = ((spec.batch_size * (spec.seq_len + 1)) as usize).max(64) * 4;
    Ok(((0..len).map(|_| rng.below(v as u64) as i64).collect(), v))
}
