//! Record types shared by the hessian-blocks tools, and the JSON-lines
//! plumbing every tool uses: a reader that knows the source and line number
//! of each record, and a writer that emits whole lines and treats a closed
//! pipe as a normal end.
//!
//! The documented field list lives in `docs/records.md`; a test there parses
//! every example in that page against these types.

mod error;
mod io;
mod types;

pub use error::Error;
pub use io::{open_inputs, InputLine, RecordWriter};
pub use types::*;

/// Result with this crate's error.
pub type Result<T> = std::result::Result<T, Error>;
