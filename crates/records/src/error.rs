use std::fmt;

/// What can go wrong reading or writing records.
#[derive(Debug)]
pub enum Error {
    /// A record that cannot be used: `source` is the file (or `stdin`),
    /// `line` the 1-based line number, `field` the JSON path when known.
    Input { source: String, line: usize, field: Option<String>, message: String },
    /// An I/O failure other than a closed output pipe.
    Io { context: String, error: std::io::Error },
    /// A record that cannot be written as JSON.
    Serialize(String),
    /// The downstream reader went away (`| head`): an ordinary end for a
    /// tool, not a failure to report.
    BrokenPipe,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            Error::BrokenPipe
        } else {
            Error::Io { context: context.into(), error }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input { source, line, field: Some(field), message } => {
                write!(f, "{source}:{line}: field `{field}`: {message}")
            }
            Error::Input { source, line, field: None, message } => {
                write!(f, "{source}:{line}: {message}")
            }
            Error::Io { context, error } => write!(f, "{context}: {error}"),
            Error::Serialize(m) => write!(f, "cannot serialize record: {m}"),
            Error::BrokenPipe => write!(f, "broken pipe"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}
