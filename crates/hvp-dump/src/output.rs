//! Where the records go (stdout, or `-o FILE`) and, with `--resume`, which
//! items FILE already holds.
//!
//! A resumed FILE keeps its `run` record and the records of every complete
//! item; a torn last line (a kill mid-write) and the rows of an exact Hessian
//! cut short are cut off, and the remaining items are appended in the same
//! order, so the finished FILE equals an uninterrupted run's bytes.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::Path;

use cli::{Error, Result};
use records::{Record, RecordWriter, Run};

use crate::args::TOOL;

/// The records one item writes: one `tridiag` of block `block` for
/// `probe`, or `rows` `hessian` rows; with the fields a kept record must
/// share with this invocation's.
pub struct Expected {
    pub block: String,
    pub probe: u32,
    pub rows: Option<usize>,
    /// The records' `model` (the label).
    pub model: String,
    /// The block's size.
    pub dim: u64,
    /// The probe's start-vector seed (Lanczos items).
    pub seed: Option<u64>,
}

impl Expected {
    /// The first field of a kept record that this invocation would not
    /// have written, and how it differs.
    fn differs(&self, record: &Record) -> Option<(&'static str, String)> {
        let show = |field: &'static str, was: String, now: String| {
            (was != now).then(|| (field, format!("the file has {was}, this invocation writes {now}")))
        };
        match record {
            Record::Tridiag(t) => show("model", format!("{:?}", t.model), format!("{:?}", self.model))
                .or_else(|| show("dim", t.dim.to_string(), self.dim.to_string()))
                .or_else(|| show("seed", format!("{:?}", Some(t.seed)), format!("{:?}", self.seed))),
            Record::Hessian(h) => show("model", format!("{:?}", h.model), format!("{:?}", self.model))
                .or_else(|| show("dim", h.dim.to_string(), self.dim.to_string()))
                .or_else(|| show("values", format!("{} values", h.values.len()), format!("{} values", self.dim))),
            _ => None,
        }
    }
}

/// The records' destination and how many leading items it already holds.
pub struct Destination {
    pub writer: RecordWriter<Box<dyn Write>>,
    pub done: usize,
}

fn io(context: String, error: std::io::Error) -> Error {
    Error::Records(records::Error::Io { context, error })
}

/// The `run` record's arguments without `--resume`, which changes where the
/// work starts but not one byte of the records.
pub fn recorded_args(args: &[String]) -> Vec<String> {
    args.iter().filter(|a| *a != "--resume").cloned().collect()
}

/// The longest line a resumed FILE may hold: far above any record (an
/// exact Hessian row of --exact-max 5000 entries is about 120 KB), so that
/// a file that is not records is refused without being held in memory.
const MAX_LINE: u64 = 256 << 20;

/// Open the destination: stdout; FILE opened for writing and never read
/// (refused when it is a non-empty regular file); or, with `resume`, FILE
/// read as a stream, checked against `run` and `expected` and cut back to
/// its last complete item. A regular FILE is locked (an advisory `flock`,
/// held until the process ends), so a second writer is refused instead of
/// interleaving its records. Writes `run` unless FILE already holds it.
pub fn open(path: Option<&Path>, resume: bool, run: &Run, expected: &[Expected]) -> Result<Destination> {
    let Some(path) = path else {
        let mut writer = RecordWriter::new(Box::new(std::io::stdout()) as Box<dyn Write>);
        writer.write(&Record::Run(run.clone()))?;
        return Ok(Destination { writer, done: 0 });
    };
    let name = path.display().to_string();
    // No truncation here: an existing FILE is checked (under the lock) first.
    // A pipe, FIFO or device (`/dev/stdout`, `>(gzip > f)`) is only written.
    let mut file = OpenOptions::new()
        .read(resume)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io(format!("cannot open {name} for writing"), e))?;
    let meta = file.metadata().map_err(|e| io(format!("cannot inspect {name}"), e))?;
    if !meta.is_file() {
        if resume {
            return Err(Error::usage(format!("--resume needs a regular file, and {name} is not one")));
        }
        let mut writer = RecordWriter::new(Box::new(file) as Box<dyn Write>);
        writer.write(&Record::Run(run.clone()))?;
        return Ok(Destination { writer, done: 0 });
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::invalid(format!(
                "{name} is being written by another process (it holds the file's lock): \
                 wait for it to end, or write to another file"
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(format!("cannot lock {name}"), e)),
    }
    // Its size under the lock: a writer that ended just now has written it all.
    let len = file.metadata().map_err(|e| io(format!("cannot inspect {name}"), e))?.len();
    if len > 0 && !resume {
        return Err(Error::usage(format!(
            "{name} exists and is not empty: pass --resume to continue it, or remove it"
        )));
    }
    let (keep, done) = match len {
        0 => (0, 0),
        _ => complete_prefix(&name, BufReader::new(&file), run, expected)?,
    };
    file.set_len(keep).map_err(|e| io(format!("cannot truncate {name}"), e))?;
    file.seek(SeekFrom::Start(keep)).map_err(|e| io(format!("cannot seek in {name}"), e))?;
    let mut writer = RecordWriter::new(Box::new(file) as Box<dyn Write>);
    if keep == 0 {
        writer.write(&Record::Run(run.clone()))?;
    }
    if len > 0 && std::io::stderr().is_terminal() {
        let cut = len - keep;
        eprintln!(
            "{TOOL}: resuming {name}: {done} of {} items complete, {cut} bytes after them dropped",
            expected.len()
        );
    }
    Ok(Destination { writer, done })
}

/// The lines of a resumed file, read one at a time: each line's bytes and
/// the offset just past it; the bytes after the last newline (torn) are not
/// a line.
struct Lines<R> {
    input: R,
    name: String,
    end: u64,
    number: usize,
}

impl<R: BufRead> Lines<R> {
    fn next_line(&mut self) -> Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let read = (&mut self.input)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| io(format!("cannot read {}", self.name), e))?;
        if line.last() != Some(&b'\n') {
            if read as u64 > MAX_LINE {
                return Err(Error::Records(records::Error::Input {
                    source: self.name.clone(),
                    line: self.number + 1,
                    field: None,
                    message: format!("a line longer than {} MiB: not a record of hvp-dump", MAX_LINE >> 20),
                }));
            }
            return Ok(None);
        }
        self.end += read as u64;
        self.number += 1;
        Ok(Some(line))
    }
}

/// The byte length of the file's run record and complete items, and how
/// many items that is. Errors name the line that does not fit this invocation.
fn complete_prefix(name: &str, input: impl BufRead, run: &Run, expected: &[Expected]) -> Result<(u64, usize)> {
    let mut lines = Lines { input, name: name.to_string(), end: 0, number: 0 };
    let at = |n: usize, field: Option<&str>, message: String| {
        Error::Records(records::Error::Input {
            source: name.to_string(),
            line: n,
            field: field.map(str::to_string),
            message,
        })
    };
    let parse = |n: usize, bytes: &[u8]| -> Result<Record> {
        serde_json::from_slice(bytes).map_err(|e| at(n, None, format!("not a record of hvp-dump: {e}")))
    };
    // Killed while writing the run record: nothing to keep.
    let Some(first) = lines.next_line()? else {
        return Ok((0, 0));
    };
    match parse(1, &first)? {
        Record::Run(found) => {
            if let Some((field, why)) = mismatch(&found, run) {
                return Err(at(1, Some(field), format!("{why}: --resume needs the arguments of the run it continues")));
            }
        }
        _ => return Err(at(1, Some("type"), "the first record is not a `run` record".into())),
    }
    let mut keep = lines.end;
    let mut done = 0;
    'items: for item in expected {
        let rows = item.rows.unwrap_or(1);
        for row in 0..rows {
            let Some(bytes) = lines.next_line()? else {
                break 'items;
            };
            let n = lines.number;
            let record = parse(n, &bytes)?;
            let fits = match (&record, item.rows) {
                (Record::Tridiag(t), None) => t.block == item.block && t.probe == item.probe,
                (Record::Hessian(h), Some(_)) => h.block == item.block && h.row == row as u64,
                _ => false,
            };
            if !fits {
                let what = match item.rows {
                    None => format!("the `tridiag` record of block `{}`, probe {}", item.block, item.probe),
                    Some(_) => format!("row {row} of block `{}`'s `hessian` records", item.block),
                };
                return Err(at(n, None, format!("expected {what} (this invocation's order)")));
            }
            // Kept as it is: everything in it must be what this run would write.
            if let Some((field, why)) = item.differs(&record) {
                return Err(at(n, Some(field), format!("{why}: --resume keeps only records of the run it continues")));
            }
        }
        keep = lines.end;
        done += 1;
    }
    if done == expected.len() && lines.next_line()?.is_some() {
        return Err(at(lines.number, None, "a record past every item of this invocation".into()));
    }
    Ok((keep, done))
}

/// The arguments that decide the records: all but `--resume` and the
/// output file's name (so a moved FILE can be resumed).
fn deciding_args(args: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-o" || a == "--output" {
            it.next();
            continue;
        }
        // `--output=FILE` and `-oFILE` name the file in one argument.
        let names_file = a.starts_with("--output=") || (a.starts_with("-o") && !a.starts_with("--"));
        if a != "--resume" && !names_file {
            kept.push(a.clone());
        }
    }
    kept
}

/// The first field of the found `run` record that differs from this
/// invocation's, and how.
fn mismatch(found: &Run, now: &Run) -> Option<(&'static str, String)> {
    let show = |v: &dyn std::fmt::Debug| format!("{v:?}");
    let differs = |field: &'static str, a: String, b: String| (a != b).then(|| (field, format!("was {a}, now {b}")));
    differs("tool", show(&found.tool), show(&now.tool))
        .or_else(|| differs("version", show(&found.version), show(&now.version)))
        .or_else(|| {
            let (was, is) = (deciding_args(&found.args), deciding_args(&now.args));
            let i = (0..was.len().max(is.len())).find(|i| was.get(*i) != is.get(*i))?;
            let (a, b) = (was.get(i).map_or("(none)", String::as_str), is.get(i).map_or("(none)", String::as_str));
            Some(("args", format!("the run had `{a}` where this invocation has `{b}`")))
        })
        .or_else(|| differs("seed", show(&found.seed), show(&now.seed)))
        .or_else(|| differs("model", show(&found.model), show(&now.model)))
        .or_else(|| differs("device", show(&found.device), show(&now.device)))
        .or_else(|| differs("dtype", show(&found.dtype), show(&now.dtype)))
        .or_else(|| differs("threads", show(&found.threads), show(&now.threads)))
}
