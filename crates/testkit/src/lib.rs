//! The harness every binary's CLI tests share.
//!
//! A test finds its own package's binary with `env!("CARGO_BIN_EXE_name")`;
//! another package's binary (quad-sim for theory-check's pipeline tests,
//! slq-density and block-js for hvp-dump's) it finds with [`bin`], which
//! asks Cargo to build it when it is missing. A missing tool fails the test:
//! a pipeline test that skips itself proves nothing.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde_json::Value;

/// The path of workspace binary `name`, built by Cargo (with the profile of
/// the running test) if it is not there yet. Panics, with the reason, when it
/// cannot be had.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.get_or_insert_with(HashMap::new).get(name) {
        return p.clone();
    }
    let dir = profile_dir();
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        build(name, &dir);
    }
    assert!(path.exists(), "{name}: Cargo reported success but {} does not exist", path.display());
    built.get_or_insert_with(HashMap::new).insert(name.to_string(), path.clone());
    path
}

/// `target/<profile>`: the test executable lives in its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's directory");
    let dir = if deps.file_name().is_some_and(|n| n == "deps") { deps.parent().unwrap_or(deps) } else { deps };
    dir.to_path_buf()
}

fn build(name: &str, dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--package", name, "--bin", name]);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
    }
    let status =
        cmd.status().unwrap_or_else(|e| panic!("{name} is not built and Cargo could not be run to build it: {e}"));
    assert!(status.success(), "{name} is not built and `cargo build -p {name}` failed ({status})");
}

/// What a finished process left.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit status; -1 when the process was killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panic with the captured stderr unless the process exited with 0.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "exit status {}; stderr:\n{}", self.code, self.stderr);
        self
    }

    /// Panic unless the process exited with `code`, said nothing on stdout
    /// past its `run` record (nothing torn), and its stderr holds every needle.
    pub fn fails_with(self, code: i32, needles: &[&str]) -> Self {
        assert_eq!(self.code, code, "exit status; stderr:\n{}", self.stderr);
        for n in needles {
            assert!(self.stderr.contains(n), "stderr lacks `{n}`:\n{}", self.stderr);
        }
        assert!(!self.stderr.contains("panicked"), "a panic instead of a message:\n{}", self.stderr);
        for line in self.stdout.lines() {
            assert!(serde_json::from_str::<Value>(line).is_ok(), "a torn or non-JSON line on stdout: {line}");
        }
        self
    }
}

/// Run `program` with `args`, feeding it `stdin`.
pub fn run(program: impl AsRef<Path>, args: &[&str], stdin: &str) -> Output {
    let program = program.as_ref();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    // Feed stdin from another thread, so that a tool writing while it reads
    // cannot deadlock on full pipes; a tool may exit before reading it all
    // (a usage error), so a closed pipe is no failure.
    let mut input = child.stdin.take().expect("piped stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().expect("waiting for the process");
    writer.join().expect("the stdin writer thread");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Pipe `input` through workspace tool `tool` with `args`; its stdout.
pub fn through(tool: &str, args: &[&str], input: &str) -> String {
    run(bin(tool), args, input).ok().stdout
}

/// Every line of `text` as JSON.
pub fn all_records(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect()
}

/// The records of type `kind` in `text`.
pub fn records(text: &str, kind: &str) -> Vec<Value> {
    all_records(text).into_iter().filter(|r| r["type"] == kind).collect()
}

/// A JSON array of numbers as floats.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}
