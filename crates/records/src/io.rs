use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

/// One non-blank line of input, with where it came from and its `type`.
#[derive(Debug, Clone)]
pub struct InputLine {
    /// File name, or `stdin`.
    pub source: String,
    /// 1-based line number within `source`.
    pub number: usize,
    /// The line as read, without its newline: passed through unchanged.
    pub text: String,
    /// The record's `type` field.
    pub kind: String,
}

impl InputLine {
    /// Deserialize the whole record into `T`, naming the offending field on error.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        let mut de = serde_json::Deserializer::from_str(&self.text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = (path != "." && !path.is_empty()).then_some(path);
            self.error(field.as_deref(), strip_position(&e.into_inner().to_string()))
        })
    }

    /// An input error located at this line, optionally naming a field.
    pub fn error(&self, field: Option<&str>, message: impl Into<String>) -> Error {
        Error::Input {
            source: self.source.clone(),
            line: self.number,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }

    /// `source:line`, for messages that point at a record without failing it.
    pub fn location(&self) -> String {
        format!("{}:{}", self.source, self.number)
    }
}

/// serde_json appends "at line 1 column N"; the line is always 1 for us, so
/// keep only the column.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line 1 column ") {
        Some(i) => format!("{} (column {})", &msg[..i], &msg[i + " at line 1 column ".len()..]),
        None => msg.to_string(),
    }
}

/// Read JSON-lines records from the given files in order, or from stdin when
/// `paths` is empty (`-` also means stdin). Blank lines are skipped; every
/// other line must be a JSON object with a string `type` field.
pub fn open_inputs(paths: &[PathBuf]) -> Result<impl Iterator<Item = Result<InputLine>>> {
    let mut readers: Vec<(String, Box<dyn BufRead>)> = Vec::new();
    if paths.is_empty() {
        readers.push(("stdin".into(), Box::new(BufReader::new(std::io::stdin()))));
    }
    for p in paths {
        if p.as_os_str() == "-" {
            readers.push(("stdin".into(), Box::new(BufReader::new(std::io::stdin()))));
        } else {
            let name = p.display().to_string();
            let f = File::open(p).map_err(|e| Error::io(format!("cannot open {name}"), e))?;
            readers.push((name, Box::new(BufReader::new(f))));
        }
    }
    Ok(readers.into_iter().flat_map(|(source, reader)| {
        reader.lines().enumerate().filter_map(move |(i, line)| {
            let number = i + 1;
            let text = match line {
                Ok(t) => t,
                Err(e) => {
                    return Some(Err(Error::Input {
                        source: source.clone(),
                        line: number,
                        field: None,
                        message: format!("cannot read line: {e}"),
                    }))
                }
            };
            if text.trim().is_empty() {
                return None;
            }
            Some(classify(source.clone(), number, text))
        })
    }))
}

fn classify(source: String, number: usize, text: String) -> Result<InputLine> {
    let mut line = InputLine { source, number, text, kind: String::new() };
    let value: serde_json::Value = match serde_json::from_str(&line.text) {
        Ok(v) => v,
        Err(e) => return Err(line.error(None, format!("malformed JSON: {}", strip_position(&e.to_string())))),
    };
    let kind = match &value {
        serde_json::Value::Object(map) => match map.get("type") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(_) => return Err(line.error(Some("type"), "must be a string")),
            None => return Err(line.error(Some("type"), "missing: every record needs a `type`")),
        },
        _ => return Err(line.error(None, "a record must be a JSON object")),
    };
    line.kind = kind;
    Ok(line)
}

/// Writes one record per line and flushes it, so a reader never sees half a
/// record and a long run loses nothing already written.
pub struct RecordWriter<W: Write> {
    out: W,
}

impl RecordWriter<std::io::Stdout> {
    pub fn stdout() -> Self {
        RecordWriter { out: std::io::stdout() }
    }
}

impl<W: Write> RecordWriter<W> {
    pub fn new(out: W) -> Self {
        RecordWriter { out }
    }

    /// Serialize `record` and write it as one line.
    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let mut line = serde_json::to_string(record).map_err(|e| Error::Serialize(e.to_string()))?;
        line.push('\n');
        self.write_line_raw(&line)
    }

    /// Pass an input line through unchanged.
    pub fn pass_through(&mut self, line: &InputLine) -> Result<()> {
        let mut text = String::with_capacity(line.text.len() + 1);
        text.push_str(&line.text);
        text.push('\n');
        self.write_line_raw(&text)
    }

    /// Write already formatted text (CSV rows, a matrix) and flush it.
    pub fn write_text(&mut self, text: &str) -> Result<()> {
        self.write_line_raw(text)
    }

    fn write_line_raw(&mut self, text: &str) -> Result<()> {
        self.out.write_all(text.as_bytes()).map_err(|e| Error::io("writing output", e))?;
        self.out.flush().map_err(|e| Error::io("writing output", e))
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
