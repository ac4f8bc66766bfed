//! What a Hessian batch is made of: the data set, what the network reads,
//! and how many examples.

use std::path::PathBuf;

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
    /// A user's IDX pair: images, then labels.
    Idx,
    /// A user's directory with `images.npy` and `labels.npy`.
    Npy,
    /// A user's plain text file, one token per character.
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
            _ => Err(format!("unknown data set `{s}` (expected mnist, fashion-mnist, shakespeare-char, shakespeare-bpe, synthetic, or a user's idx, npy or text)")),
        }
    }
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

impl Input {
    /// What a loaded module's forward reads from a data set, in a tool's
    /// words: `features`, `image:SIZE` or `tokens`.
    pub fn parse_reads(s: &str) -> std::result::Result<Input, String> {
        let bad = || format!("unknown `{s}` (expected features, image:SIZE or tokens)");
        match s {
            "features" => Ok(Input::Features),
            "tokens" => Ok(Input::Tokens),
            _ => {
                let size: i64 = s.strip_prefix("image:").ok_or_else(bad)?.parse().map_err(|_| bad())?;
                if size < 1 {
                    return Err(format!("image size must be positive, got `{s}`"));
                }
                Ok(Input::Image { size })
            }
        }
    }
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
    /// Imbalance of the training classes: the image set (the training part
    /// for training) subsampled so that class k keeps a share proportional
    /// to (k+1)^-class_zipf ([`super::zipf`]); 0 leaves it as it is.
    pub class_zipf: f64,
}
