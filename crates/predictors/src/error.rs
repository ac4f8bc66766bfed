use std::fmt;

/// Why a predictor cannot be computed from what it was given.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The input does not have what the statistic needs (too few blocks,
    /// too few Ritz values, a non-positive scale...): the message says which.
    Undefined(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn undefined(msg: impl Into<String>) -> Self {
        Error::Undefined(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Undefined(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}
