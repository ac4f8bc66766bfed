//! The one error type of this crate.

use std::fmt;

/// What can go wrong building or running a Section 3 experiment or claim.
///
/// Messages describe the problem in terms of the configuration; a binary
/// that took a setting from a flag says which flag (see [`Error::Setting`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// One configuration value is out of range. `setting` is the name of the
    /// configuration field (snake_case), `message` what is wrong with it,
    /// written to follow the name: "must be at least 1".
    Setting { setting: &'static str, message: String },
    /// An optimizer name that is not one of [`crate::Optimizer::ALL`].
    UnknownOptimizer(String),
    /// A combination of settings that cannot be honoured together.
    Config(String),
    /// Input data (spectra, eigenvalues, records) that cannot be used.
    Invalid(String),
    /// A numerical failure (failed eigensolver, a degenerate start point).
    Numeric(String),
}

impl Error {
    pub(crate) fn setting(setting: &'static str, message: impl Into<String>) -> Self {
        Error::Setting { setting, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setting { setting, message } => write!(f, "{setting} {message}"),
            Error::UnknownOptimizer(name) => {
                let all: Vec<&str> = crate::Optimizer::ALL.iter().map(|o| o.name()).collect();
                write!(f, "unknown optimizer `{name}` (expected {})", all.join(", "))
            }
            Error::Config(m) | Error::Invalid(m) | Error::Numeric(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result with this crate's error.
pub type Result<T> = std::result::Result<T, Error>;

/// A value that must be positive and finite.
pub(crate) fn positive(setting: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::setting(setting, format!("must be positive and finite, got {v}")))
    }
}
