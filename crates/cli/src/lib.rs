//! What every hessian-blocks binary shares, and nothing a library needs:
//!
//! - [`Error`]: what a tool reports, and [`exit`], the one place where an
//!   outcome becomes a process exit status (0 done or reader gone, 1 failure,
//!   2 usage);
//! - [`read_records`]: the loop that reads JSON-lines inputs, hands the
//!   record types a tool consumes to it and passes every other record
//!   through unchanged, so provenance survives a pipeline;
//! - [`Groups`]: records grouped by a key in the order keys first appear;
//! - [`csv_text`]: rows as CSV text, written as one chunk.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::io::Stdout;
use std::path::PathBuf;

use records::{InputLine, RecordWriter};

/// What can end a tool early.
#[derive(Debug)]
pub enum Error {
    /// Bad command-line arguments or flag combinations: exit status 2.
    Usage(String),
    /// Reading or writing records failed; a closed output pipe is not a
    /// failure (`| head`) and ends the tool quietly with status 0.
    Records(records::Error),
    /// Input that parsed but cannot be processed as a whole (one block only, ...).
    Invalid(String),
    /// A numerical failure (non-finite result, failed eigensolver).
    Numeric(String),
}

/// Result with a tool's error.
pub type Result<T> = std::result::Result<T, Error>;

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

    /// The process exit status for this outcome.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Records(records::Error::BrokenPipe) => 0,
            _ => 1,
        }
    }

    /// The same error with `hint` appended to its message (what the user can
    /// run or change), for binaries that know the flag a library cannot name.
    pub fn with_hint(self, hint: &str) -> Self {
        match self {
            Error::Usage(m) => Error::Usage(format!("{m} ({hint})")),
            Error::Invalid(m) => Error::Invalid(format!("{m} ({hint})")),
            other => other,
        }
    }

    fn is_quiet(&self) -> bool {
        matches!(self, Error::Records(records::Error::BrokenPipe))
    }
}

impl From<records::Error> for Error {
    fn from(e: records::Error) -> Self {
        Error::Records(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Invalid(m) => write!(f, "{m}"),
            Error::Records(e) => write!(f, "{e}"),
            Error::Numeric(m) => write!(f, "numerical failure: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Records(e) => Some(e),
            _ => None,
        }
    }
}

/// End the process with the outcome of a tool's run: status 0, or the error
/// on stderr as `tool: error: message` and its exit status. Every binary's
/// `main` ends here.
pub fn exit(tool: &str, result: Result<()>) -> ! {
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            if !e.is_quiet() {
                eprintln!("{tool}: error: {e}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code)
}

/// The memory the kernel could give this process now (`MemAvailable` of
/// /proc/meminfo, in bytes); None where that cannot be read. Binaries check
/// the sizes a user asks for against it before any work starts.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

/// The machine's physical memory (`MemTotal` of /proc/meminfo, in bytes);
/// None where that cannot be read. No budget a user gives can exceed it.
pub fn total_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text, "MemTotal:")
}

fn parse_mem_available(meminfo: &str) -> Option<f64> {
    parse_meminfo(meminfo, "MemAvailable:")
}

fn parse_meminfo(meminfo: &str, field: &str) -> Option<f64> {
    let line = meminfo.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// Bytes as GB with one decimal (`12.3 GB`), for messages about sizes.
pub fn gigabytes(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

/// How much [`read_records`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Records read, of any type.
    pub records: usize,
    /// Records handed to the tool.
    pub consumed: usize,
}

impl ReadSummary {
    /// An error unless some input was read and some of it consumed; `what`
    /// names the records the tool expects, as in "`density`".
    pub fn require(&self, what: &str) -> Result<()> {
        if self.records == 0 {
            return Err(Error::invalid(format!(
                "no input records (expected {what} records on stdin or in the files given)"
            )));
        }
        if self.consumed == 0 {
            return Err(Error::invalid(format!("no {what} records in the input")));
        }
        Ok(())
    }
}

/// Read JSON-lines records from `files` (stdin when empty), hand each record
/// whose type is in `consumes` to `take`, and write every other one to
/// `pass_through` unchanged (dropped when it is `None`, as in CSV output).
pub fn read_records(
    files: &[PathBuf],
    consumes: &[&str],
    mut pass_through: Option<&mut RecordWriter<Stdout>>,
    mut take: impl FnMut(&InputLine) -> Result<()>,
) -> Result<ReadSummary> {
    let mut summary = ReadSummary::default();
    for line in records::open_inputs(files)? {
        let line = line?;
        summary.records += 1;
        if consumes.contains(&line.kind.as_str()) {
            summary.consumed += 1;
            take(&line)?;
        } else if let Some(out) = pass_through.as_deref_mut() {
            out.pass_through(&line)?;
        }
    }
    Ok(summary)
}

/// Values grouped by key, keys in the order they first appeared, each with
/// the input location where it was first seen (for messages).
#[derive(Debug, Clone)]
pub struct Groups<K, V> {
    entries: Vec<Group<K, V>>,
    index: HashMap<K, usize>,
}

/// One key's values.
#[derive(Debug, Clone)]
pub struct Group<K, V> {
    pub key: K,
    /// `source:line` of the key's first record.
    pub first: String,
    pub value: V,
}

impl<K: Clone + Eq + Hash, V> Groups<K, V> {
    pub fn new() -> Self {
        Groups { entries: Vec::new(), index: HashMap::new() }
    }

    /// The group of `key`, created with `init()` (and `first` as its first
    /// location) when the key is new.
    pub fn entry(&mut self, key: K, first: impl FnOnce() -> String, init: impl FnOnce() -> V) -> &mut Group<K, V> {
        let next = self.entries.len();
        let i = *self.index.entry(key.clone()).or_insert(next);
        if i == next {
            self.entries.push(Group { key, first: first(), value: init() });
        }
        &mut self.entries[i]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Group<K, V>> {
        self.entries.iter()
    }

    /// The groups, in first-seen order, by value.
    pub fn into_groups(self) -> impl Iterator<Item = Group<K, V>> {
        self.entries.into_iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Clone + Eq + Hash, V> Default for Groups<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Rows as CSV text (RFC 4180 quoting), with an optional header row.
pub fn csv_text<R, F>(header: Option<&[&str]>, rows: R) -> Result<String>
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let err = |e: csv::Error| Error::invalid(format!("writing CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(h) = header {
        w.write_record(h).map_err(err)?;
    }
    for row in rows {
        w.write_record(row).map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::invalid(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::invalid(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_policy() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::invalid("x").exit_code(), 1);
        assert_eq!(Error::numeric("x").exit_code(), 1);
        assert_eq!(Error::from(records::Error::BrokenPipe).exit_code(), 0);
        let io = records::Error::Io { context: "c".into(), error: std::io::Error::other("e") };
        assert_eq!(Error::from(io).exit_code(), 1);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let t = csv_text(Some(&["a", "b"]), [vec!["x,y".to_string(), "1".to_string()]]).unwrap();
        assert_eq!(t, "a,b\n\"x,y\",1\n");
    }

    #[test]
    fn groups_keep_first_seen_order() {
        let mut g: Groups<&str, Vec<u32>> = Groups::new();
        g.entry("b", || "f:1".into(), Vec::new).value.push(1);
        g.entry("a", || "f:2".into(), Vec::new).value.push(2);
        g.entry("b", || "f:3".into(), Vec::new).value.push(3);
        let v: Vec<_> = g.iter().map(|x| (x.key, x.first.as_str(), x.value.clone())).collect();
        assert_eq!(v, vec![("b", "f:1", vec![1, 3]), ("a", "f:2", vec![2])]);
    }

    #[test]
    fn mem_available_is_read_in_bytes() {
        let meminfo = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(parse_mem_available(meminfo), Some(2048.0 * 1024.0));
        assert_eq!(parse_mem_available("MemTotal: 5 kB\n"), None);
        assert_eq!(parse_meminfo(meminfo, "MemTotal:"), Some(24000000.0 * 1024.0));
        assert_eq!(gigabytes(12.34e9), "12.3 GB");
    }

    #[test]
    fn missing_input_is_named() {
        let none = ReadSummary::default();
        assert_eq!(
            none.require("`density`").unwrap_err().to_string(),
            "no input records (expected `density` records on stdin or in the files given)"
        );
        let unused = ReadSummary { records: 3, consumed: 0 };
        assert_eq!(unused.require("`density`").unwrap_err().to_string(), "no `density` records in the input");
    }
}
