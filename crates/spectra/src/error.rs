//! The one error type of `spectra`: a tridiagonal, a density or an option
//! it cannot use, with a message that says which and why.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What `spectra` refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error(message.into())
    }
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<&str> for Error {
    fn from(m: &str) -> Self {
        Error(m.to_string())
    }
}

/// Binaries word it as their own message.
impl From<Error> for String {
    fn from(e: Error) -> Self {
        e.0
    }
}
