use std::fmt;

/// What can go wrong in a tool, and what its exit status is.
///
/// Usage errors exit with 2, every other failure with 1; a pipe closed by the
/// reader (`| head`) ends the tool quietly with status 0.
#[derive(Debug)]
pub enum Error {
    /// Bad command-line arguments or flag combinations.
    Usage(String),
    /// A record that cannot be used: `source` is the file (or `stdin`),
    /// `line` the 1-based line number, `field` the JSON path when known.
    Input { source: String, line: usize, field: Option<String>, message: String },
    /// An I/O failure other than a closed output pipe.
    Io { context: String, error: std::io::Error },
    /// Input that parsed but cannot be processed as a whole (e.g. one block only).
    Invalid(String),
    /// A numerical failure (non-finite result, failed eigensolver).
    Numeric(String),
    /// The downstream reader went away; not reported.
    BrokenPipe,
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub fn numeric(msg: impl Into<String>) -> Self {
        Error::Numeric(msg.into())
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::BrokenPipe => 0,
            _ => 1,
        }
    }

    /// Print the error (if it should be) and return the exit status: the
    /// one place where binaries turn an error into a process outcome.
    pub fn report(&self, tool: &str) -> i32 {
        if !matches!(self, Error::BrokenPipe) {
            eprintln!("{tool}: error: {self}");
        }
        self.exit_code()
    }

    /// End the process with the outcome of a tool's `run`: status 0, or the
    /// error reported on stderr and its exit status. Every binary's `main`
    /// ends here.
    pub fn exit(tool: &str, result: std::result::Result<(), Error>) -> ! {
        let code = match result {
            Ok(()) => 0,
            Err(e) => e.report(tool),
        };
        std::process::exit(code)
    }

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
            Error::Usage(m) => write!(f, "{m}"),
            Error::Input { source, line, field: Some(field), message } => {
                write!(f, "{source}:{line}: field `{field}`: {message}")
            }
            Error::Input { source, line, field: None, message } => {
                write!(f, "{source}:{line}: {message}")
            }
            Error::Io { context, error } => write!(f, "{context}: {error}"),
            Error::Invalid(m) => write!(f, "{m}"),
            Error::Numeric(m) => write!(f, "numerical failure: {m}"),
            Error::BrokenPipe => write!(f, "broken pipe"),
        }
    }
}

impl std::error::Error for Error {}
