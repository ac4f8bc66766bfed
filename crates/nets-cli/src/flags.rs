//! Flags hvp-dump and nn-train read the same way, declared once and
//! flattened into each tool's arguments (`#[command(flatten)]`).

use std::path::PathBuf;

use nets::data::{BatchSpec, DataKind, Input};
use nets::zoo::ModelOptions;

/// The data a zoo model or a TorchScript module reads.
#[derive(clap::Args, Debug, Clone)]
pub struct DataFlags {
    /// Data: mnist, fashion-mnist, shakespeare-char, shakespeare-bpe,
    /// synthetic, or a user's `idx` (--data-path IMAGES --data-path LABELS),
    /// `npy` (--data-path DIR with images.npy and labels.npy) or `text`
    /// (--data-path FILE, one token per character). Default: the model's.
    /// Image models get 1-channel images replicated to 3 channels and
    /// resized (bilinear) to their input size.
    #[arg(long)]
    pub data: Option<DataKind>,

    /// The user's data files for --data idx, npy or text; repeatable.
    #[arg(long = "data-path", value_name = "PATH")]
    pub data_paths: Vec<PathBuf>,

    /// Where the data sets are (default: $HESSIAN_BLOCKS_DATA, else data/ of this checkout).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Sequence length (transformers; default: the model's context).
    #[arg(long)]
    pub seq_len: Option<i64>,

    /// Vocabulary of --data synthetic for transformers.
    #[arg(long, default_value_t = 16)]
    pub vocab: i64,

    /// Imbalanced classes (image sets: mnist, fashion-mnist, idx, npy): the
    /// training images subsampled, by --data-seed, so that class k (by
    /// label) keeps a share proportional to (k+1)^-S, as many as exact
    /// proportions allow (the class with the least n_k (k+1)^S keeps all its
    /// examples); the held-out set stays as it is. 0: no subsampling.
    #[arg(long, value_name = "S", default_value_t = 0.0)]
    pub class_zipf: f64,
}

impl DataFlags {
    /// Where the data sets are.
    pub fn dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(nets::data::default_data_dir)
    }

    /// The batch of `batch_size` examples of `kind` read as `input`
    /// (sequences of `seq_len`), chosen by `seed`.
    pub fn spec(&self, kind: DataKind, batch_size: i64, seq_len: i64, seed: u64, input: Input) -> BatchSpec {
        BatchSpec {
            kind,
            dir: self.dir(),
            batch_size,
            seq_len,
            seed,
            synthetic_vocab: self.vocab,
            input,
            paths: self.data_paths.clone(),
            class_zipf: self.class_zipf,
        }
    }
}

/// A zoo model's shape and initialization.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelFlags {
    /// mlp: hidden widths, comma-separated (default 300,128,64).
    #[arg(long, value_delimiter = ',')]
    pub widths: Option<Vec<i64>>,

    /// mlp: multiply each layer's output by this.
    #[arg(long, default_value_t = 1.0)]
    pub layer_scale: f64,

    /// Transformer layers (tiny-transformer: 1-4, default 1; also GPT, ViT, BERT).
    #[arg(long)]
    pub layers: Option<i64>,

    /// Seed of the weight initialization.
    #[arg(long, default_value_t = 0)]
    pub init_seed: u64,
}

impl ModelFlags {
    /// The zoo's options, with the ResNet BatchNorm mode each tool reads its own way.
    pub fn options(&self, bn: Option<nets::layers::BnMode>) -> ModelOptions {
        ModelOptions { widths: self.widths.clone(), layer_scale: self.layer_scale, layers: self.layers, bn }
    }
}
