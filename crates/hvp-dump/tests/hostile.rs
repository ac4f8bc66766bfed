//! Hostile inputs to hvp-dump: each probe that once gave a silent wrong
//! answer, lost data, a hang, an abort or a misleading message, with the
//! message and exit status it must give now.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{run, Output};

const HVP_DUMP: &str = env!("CARGO_BIN_EXE_hvp-dump");

/// A second of work: one probe of 4 steps on each of h.0.*'s 8 tensors.
const TINY: &[&str] = &[
    "--model",
    "tiny-transformer",
    "--dtype",
    "f64",
    "--device",
    "cpu",
    "--data",
    "synthetic",
    "--block",
    "h.0.*",
    "--probes",
    "1",
    "--steps",
    "4",
    "--threads",
    "1",
];

fn hvp_dump(args: &[&str]) -> Output {
    run(HVP_DUMP, args, "")
}

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hvp-dump-hostile-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Run hvp-dump and fail the test (killing it) if it has not ended within
/// `limit`: the probes here used to hang or grow without bound.
fn within(limit: Duration, args: &[&str]) -> Output {
    let mut child = Command::new(HVP_DUMP)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts hvp-dump");
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        so.read_to_string(&mut s).map(|_| s).unwrap_or_default()
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        se.read_to_string(&mut s).map(|_| s).unwrap_or_default()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for hvp-dump") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hvp-dump {args:?} still running after {limit:?}: a hang or unbounded growth");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { code: status.code().unwrap_or(-1), stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_second_writer_of_the_output_file_is_refused() {
    let dir = scratch("lock");
    let file = dir.join("out.jsonl");
    hvp_dump(&with(TINY, &["-o", path(&file)])).ok();
    // Cut the last record short, as a run killed mid-write leaves it: a
    // --resume would rewrite it.
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..whole.len() - 10]).unwrap();
    let before = std::fs::read(&file).unwrap();
    // Another process writing the file holds its lock (as hvp-dump does for its whole run).
    let holder = std::fs::OpenOptions::new().read(true).write(true).open(&file).unwrap();
    holder.lock().expect("the test takes the lock");
    let name = file.display().to_string();
    for resume in [&["--resume"][..], &[]] {
        hvp_dump(&with(TINY, &with(&["-o", &name], resume)))
            .fails_with(1, &[&format!("{name} is being written by another process")]);
    }
    assert_eq!(std::fs::read(&file).unwrap(), before, "the other writer's file untouched");
    // Once the writer is gone, --resume completes it to the uninterrupted run's bytes.
    drop(holder);
    hvp_dump(&with(TINY, &["-o", &name, "--resume"])).ok();
    assert_eq!(std::fs::read(&file).unwrap(), whole);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_output_is_written_without_being_read_first() {
    // A pipe: used to block reading it.
    let out = within(LIMIT, &with(TINY, &["-o", "/dev/stdout"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(testkit::records(&out.stdout, "tridiag").len(), 8, "{}", out.stdout);
    // A device that never ends: used to be read until memory ran out.
    within(LIMIT, &with(TINY, &["-o", "/dev/full"])).fails_with(1, &["No space left on device"]);
    // A FIFO with a reader: used to block reading it.
    let dir = scratch("fifo");
    let fifo = dir.join("records");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs").success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("reads the FIFO"))
    };
    let out = within(LIMIT, &with(TINY, &["-o", path(&fifo)]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(testkit::records(&reader.join().unwrap(), "tridiag").len(), 8);
    // --resume reads the file: only a regular one.
    hvp_dump(&with(TINY, &["-o", "/dev/null", "--resume"]))
        .fails_with(2, &["--resume needs a regular file, and /dev/null is not one"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_large_existing_output_is_refused_without_being_read() {
    let dir = scratch("large");
    let file = dir.join("big.jsonl");
    // 64 GiB, sparse: reading it would take the memory of most machines.
    std::fs::File::create(&file).unwrap().set_len(64 << 30).unwrap();
    within(LIMIT, &with(TINY, &["-o", path(&file)])).fails_with(2, &["big.jsonl exists and is not empty", "--resume"]);
    std::fs::remove_dir_all(&dir).ok();
}

