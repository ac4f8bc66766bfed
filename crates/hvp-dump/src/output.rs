//! Where the records go (stdout, or `-o FILE`) and, with `--resume`, which
//! items FILE already holds.
//!
//! A resumed FILE keeps its `run` record and the records of every complete
//! item; a torn last line (a kill mid-write) and the rows of an exact Hessian
//! cut short are cut off, and the remaining items are appended in the same
//! order, so the finished FILE equals an uninterrupted run's bytes.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::Path;

use cli::{Error, Result};
use records::{Record, RecordWriter, Run};

use crate::args::TOOL;

/// The records one item writes: `count` records of block `block` (one
/// `tridiag` for `probe`, or `count` `hessian` rows).
pub struct Expected {
    pub block: String,
    pub probe: u32,
    pub rows: Option<usize>,
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

/// Open the destination: stdout; a new (or empty) FILE; or, with `resume`,
/// FILE checked against `run` and `expected`, cut back to its last complete
/// item. Writes `run` unless FILE already holds it.
pub fn open(path: Option<&Path>, resume: bool, run: &Run, expected: &[Expected]) -> Result<Destination> {
    let Some(path) = path else {
        let mut writer = RecordWriter::new(Box::new(std::io::stdout()) as Box<dyn Write>);
        writer.write(&Record::Run(run.clone()))?;
        return Ok(Destination { writer, done: 0 });
    };
    let name = path.display().to_string();
    let existing = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(format!("cannot read {name}"), e)),
    };
    if existing.is_empty() {
        let file = File::create(path).map_err(|e| io(format!("cannot create {name}"), e))?;
        let mut writer = RecordWriter::new(Box::new(file) as Box<dyn Write>);
        writer.write(&Record::Run(run.clone()))?;
        return Ok(Destination { writer, done: 0 });
    }
    if !resume {
        return Err(Error::usage(format!(
            "{name} exists and is not empty: pass --resume to continue it, or remove it"
        )));
    }
    let (keep, done) = complete_prefix(&name, &existing, run, expected)?;
    let file = OpenOptions::new().write(true).open(path).map_err(|e| io(format!("cannot open {name}"), e))?;
    file.set_len(keep as u64).map_err(|e| io(format!("cannot truncate {name}"), e))?;
    drop(file);
    let file = OpenOptions::new().append(true).open(path).map_err(|e| io(format!("cannot open {name}"), e))?;
    let mut writer = RecordWriter::new(Box::new(file) as Box<dyn Write>);
    if keep == 0 {
        writer.write(&Record::Run(run.clone()))?;
    }
    if std::io::stderr().is_terminal() {
        let cut = existing.len() - keep;
        eprintln!(
            "{TOOL}: resuming {name}: {done} of {} items complete, {cut} bytes after them dropped",
            expected.len()
        );
    }
    Ok(Destination { writer, done })
}

/// The byte length of `bytes`' run record and complete items, and how many
/// items that is. Errors name the line that does not fit this invocation.
fn complete_prefix(name: &str, bytes: &[u8], run: &Run, expected: &[Expected]) -> Result<(usize, usize)> {
    // Only whole lines count: the bytes after the last newline are torn.
    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, b) in bytes[..whole].iter().enumerate() {
        if *b == b'\n' {
            lines.push((start, i + 1));
            start = i + 1;
        }
    }
    let at = |n: usize, field: Option<&str>, message: String| {
        Error::Records(records::Error::Input {
            source: name.to_string(),
            line: n + 1,
            field: field.map(str::to_string),
            message,
        })
    };
    let parse = |n: usize| -> Result<Record> {
        let (lo, hi) = lines[n];
        serde_json::from_slice(&bytes[lo..hi]).map_err(|e| at(n, None, format!("not a record of hvp-dump: {e}")))
    };
    // Killed while writing the run record: nothing to keep.
    if lines.is_empty() {
        return Ok((0, 0));
    }
    match parse(0)? {
        Record::Run(found) => {
            if let Some((field, why)) = mismatch(&found, run) {
                return Err(at(0, Some(field), format!("{why}: --resume needs the arguments of the run it continues")));
            }
        }
        _ => return Err(at(0, Some("type"), "the first record is not a `run` record".into())),
    }
    let mut keep = lines[0].1;
    let mut line = 1;
    let mut done = 0;
    'items: for item in expected {
        let rows = item.rows.unwrap_or(1);
        for row in 0..rows {
            if line == lines.len() {
                break 'items;
            }
            let fits = match (parse(line)?, item.rows) {
                (Record::Tridiag(t), None) => t.block == item.block && t.probe == item.probe,
                (Record::Hessian(h), Some(_)) => h.block == item.block && h.row == row as u64,
                _ => false,
            };
            if !fits {
                let what = match item.rows {
                    None => format!("the `tridiag` record of block `{}`, probe {}", item.block, item.probe),
                    Some(_) => format!("row {row} of block `{}`'s `hessian` records", item.block),
                };
                return Err(at(line, None, format!("expected {what} (this invocation's order)")));
            }
            line += 1;
        }
        keep = lines[line - 1].1;
        done += 1;
    }
    if done == expected.len() && line < lines.len() {
        return Err(at(line, None, "a record past every item of this invocation".into()));
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
