//! The one error type of `nets`. Variants say what is wrong in the library's
//! own terms; a binary that knows which flag set a [`Setting`] or a data
//! path words the message for its users.

use std::fmt;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A setting of a model or of the Hessian batch, named so that a binary can
/// point at the option that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// MLP hidden widths.
    Widths,
    /// MLP per-layer output scale.
    LayerScale,
    /// Transformer layer count.
    Layers,
    /// BatchNorm statistics mode.
    BatchNorm,
    /// Examples (or sequences) in the Hessian batch.
    BatchSize,
    /// Sequence length of language-model batches.
    SeqLen,
    /// Vocabulary of synthetic token data.
    Vocab,
    /// Exponent of the training classes' imbalance.
    ClassZipf,
}

impl Setting {
    pub fn describe(self) -> &'static str {
        match self {
            Setting::Widths => "hidden widths",
            Setting::LayerScale => "layer scale",
            Setting::Layers => "layer count",
            Setting::BatchNorm => "BatchNorm mode",
            Setting::BatchSize => "batch size",
            Setting::SeqLen => "sequence length",
            Setting::Vocab => "synthetic vocabulary",
            Setting::ClassZipf => "class imbalance exponent",
        }
    }
}

/// The user's files a data kind reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserFiles {
    /// One plain text file.
    File,
    /// One directory (with `images.npy` and `labels.npy`).
    Dir,
    /// Two IDX files: images, then labels.
    ImagesAndLabels,
}

impl UserFiles {
    pub fn count(self) -> usize {
        match self {
            UserFiles::File | UserFiles::Dir => 1,
            UserFiles::ImagesAndLabels => 2,
        }
    }
}

#[derive(Debug)]
pub enum Error {
    /// No zoo model of that name.
    UnknownModel { name: String, known: Vec<&'static str> },
    /// A device string that is not auto, cpu, cuda or cuda:N.
    UnknownDevice(String),
    /// A dtype string that is not f32 or f64.
    UnknownDtype(String),
    /// CUDA device `index` asked for, but libtorch sees `count` devices.
    NoSuchCuda { index: usize, count: usize },
    /// A setting given to a model it does not shape.
    NotForModel { setting: Setting, model: String },
    /// A setting outside its range; `requirement` reads after the setting's
    /// name ("must be at least 1").
    OutOfRange { setting: Setting, requirement: String },
    /// BERT's [CLS] A [SEP] B [SEP] layout needs at least 5 tokens.
    BertSequenceTooShort { seq_len: usize },
    /// More examples asked for than the data set has.
    BatchExceedsData { batch_size: i64, available: usize, data: &'static str },
    /// A user's data kind given the wrong number of paths.
    DataPaths { data: &'static str, expected: UserFiles, got: usize },
    /// Paths given for a data kind that reads none.
    DataPathsUnused { data: &'static str },
    /// An installed data set not found where it should be.
    DataSetMissing { what: String, path: PathBuf },
    /// Fashion-MNIST found in none of the places searched.
    FashionMnistMissing { searched: Vec<PathBuf> },
    /// A `.npy` file of a user's directory is missing.
    NpyMissing { path: PathBuf },
    /// A choice that does not fit the others: a block pattern for this
    /// model, data for this network, a layer count for this family.
    Mismatch(String),
    /// Input that cannot be used: unreadable or malformed files, weights or
    /// batches of the wrong shape.
    Invalid(String),
    /// A numerical failure (non-finite loss, gradient or product).
    Numeric(String),
    /// libtorch failed inside an operation of `what` (see [`crate::contain`]):
    /// out of memory, or another refusal.
    Libtorch { what: String, message: String, out_of_memory: bool },
}

impl Error {
    pub(crate) fn mismatch(msg: impl Into<String>) -> Self {
        Error::Mismatch(msg.into())
    }
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub(crate) fn numeric(msg: impl Into<String>) -> Self {
        Error::Numeric(msg.into())
    }
    pub(crate) fn out_of_range(setting: Setting, requirement: impl Into<String>) -> Self {
        Error::OutOfRange { setting, requirement: requirement.into() }
    }
}

/// libtorch's message without its C++ backtrace and its "Internal torch
/// error" prefix: the lines before the stack listing, at most six.
pub(crate) fn libtorch_message(e: &tch::TchError) -> String {
    let joined = message_lines(&e.to_string(), 6);
    joined.strip_prefix("Internal torch error: ").map(str::to_string).unwrap_or(joined)
}

/// The first `most` non-empty lines of a libtorch message before its C++
/// stack listing, joined by " | ".
pub(crate) fn message_lines(text: &str, most: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .take_while(|l| !l.starts_with("Exception raised from") && !l.starts_with("frame #"))
        .take(most)
        .collect();
    lines.join(" | ")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownModel { name, known } => write!(f, "unknown model `{name}` (known: {})", known.join(", ")),
            Error::UnknownDevice(s) => write!(f, "unknown device `{s}` (expected auto, cpu, cuda or cuda:N)"),
            Error::UnknownDtype(s) => write!(f, "unknown dtype `{s}` (expected f32 or f64)"),
            Error::NoSuchCuda { index, count } => {
                write!(f, "device cuda:{index} requested but libtorch sees {count} CUDA device(s)")
            }
            Error::NotForModel { setting, model } => write!(f, "the {} does not apply to {model}", setting.describe()),
            Error::OutOfRange { setting, requirement } => write!(f, "the {} {requirement}", setting.describe()),
            Error::BertSequenceTooShort { seq_len } => {
                write!(f, "BERT needs sequences of at least 5 tokens, got {seq_len}")
            }
            Error::BatchExceedsData { batch_size, available, data } => {
                write!(f, "a batch of {batch_size} exceeds the {available} training images of `{data}`")
            }
            Error::DataPaths { data, expected, got } => {
                let what = match expected {
                    UserFiles::File => "one file",
                    UserFiles::Dir => "one directory",
                    UserFiles::ImagesAndLabels => "two files (images, labels)",
                };
                write!(f, "data `{}` needs {what}, got {got} path(s)", data)
            }
            Error::DataPathsUnused { data } => {
                write!(f, "data `{}` reads no user files (only idx, npy and text do)", data)
            }
            Error::DataSetMissing { what, path } => write!(
                f,
                "{what} not found at {}: run `scripts/setup` (or `scripts/setup-data`) to install the data sets, \
                 or set HESSIAN_BLOCKS_DATA to where they are",
                path.display()
            ),
            Error::FashionMnistMissing { searched } => {
                let places: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "Fashion-MNIST (Debian package dataset-fashion-mnist) not found in {}: \
                     run `scripts/setup` to install it",
                    places.join(" or ")
                )
            }
            Error::NpyMissing { path } => {
                write!(f, "{} not found (npy data reads images.npy and labels.npy from one directory)", path.display())
            }
            Error::Mismatch(m) | Error::Invalid(m) => write!(f, "{m}"),
            Error::Numeric(m) => write!(f, "numerical failure: {m}"),
            Error::Libtorch { what, message, out_of_memory: true } => {
                write!(f, "{what}: libtorch ran out of memory: {message}")
            }
            Error::Libtorch { what, message, out_of_memory: false } => write!(f, "{what}: libtorch failed: {message}"),
        }
    }
}

impl std::error::Error for Error {}
