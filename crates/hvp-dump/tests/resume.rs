//! hvp-dump -o FILE --resume: a killed run resumed ends as the uninterrupted
//! run's bytes; torn lines and cut-short exact Hessians are dropped; a file
//! from other arguments is refused; the `run` record states the threads.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{all_records, run, Output};

const HVP_DUMP: &str = env!("CARGO_BIN_EXE_hvp-dump");

/// Eight tensors of h.0, three probes each: 24 (block, probe) items.
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
    "3",
    "--steps",
    "20",
    "--threads",
    "1",
];

fn hvp_dump(args: &[&str]) -> Output {
    run(HVP_DUMP, args, "")
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hvp-dump-resume-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// `base` then `-o path` then `more`.
fn to_file<'a>(base: &[&'a str], path: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    base.iter().copied().chain(["-o", path]).chain(more.iter().copied()).collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("the output file")
}

/// The uninterrupted run's file, written once per test that needs it.
fn uninterrupted(dir: &Path, base: &[&str]) -> String {
    let path = dir.join("whole.jsonl");
    let p = path.to_str().expect("a UTF-8 path");
    hvp_dump(&to_file(base, p, &[])).ok();
    read(&path)
}

#[test]
fn a_sigkilled_run_resumes_to_the_uninterrupted_runs_bytes() {
    let dir = scratch("kill");
    let whole = uninterrupted(&dir, TINY);
    assert_eq!(whole.lines().count(), 1 + 24);

    // The same arguments and file name as the run to compare with: the run
    // record holds them.
    let path = dir.join("whole.jsonl");
    let p = path.to_str().unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut child = Command::new(HVP_DUMP)
        .args(to_file(TINY, p, &[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts hvp-dump");
    // Kill as soon as the first tridiagonals are on disk.
    while std::fs::read_to_string(&path).map_or(0, |t| t.lines().count()) < 3 {
        assert!(child.try_wait().unwrap().is_none(), "hvp-dump ended before writing 3 lines");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let partial = read(&path);
    assert!(partial.lines().count() < whole.lines().count(), "the run finished before the kill; give it more work");
    assert!(whole.starts_with(partial.rsplit_once('\n').map_or("", |(done, _)| done)));

    hvp_dump(&to_file(TINY, p, &["--resume"])).ok();
    assert_eq!(read(&path), whole);
}

#[test]
fn a_torn_last_line_is_dropped_and_the_rest_computed() {
    let dir = scratch("torn");
    let whole = uninterrupted(&dir, TINY);
    let path = dir.join("whole.jsonl");
    // Keep the run record and 4 items, then half of the fifth's line.
    let lines: Vec<&str> = whole.lines().collect();
    let torn = format!("{}\n{}", lines[..5].join("\n"), &lines[5][..lines[5].len() / 2]);
    std::fs::write(&path, torn).unwrap();
    hvp_dump(&to_file(TINY, path.to_str().unwrap(), &["--resume"])).ok();
    assert_eq!(read(&path), whole);

    // A torn run record (killed at once) starts afresh.
    std::fs::write(&path, &whole[..20]).unwrap();
    hvp_dump(&to_file(TINY, path.to_str().unwrap(), &["--resume"])).ok();
    assert_eq!(read(&path), whole);
}

#[test]
fn resuming_a_complete_file_changes_nothing_and_a_missing_one_starts_afresh() {
    let dir = scratch("complete");
    let whole = uninterrupted(&dir, TINY);
    let path = dir.join("whole.jsonl");
    let p = path.to_str().unwrap();
    hvp_dump(&to_file(TINY, p, &["--resume"])).ok();
    assert_eq!(read(&path), whole);

    // --resume is left out of the run record: a run started with it writes
    // the same bytes.
    std::fs::remove_file(&path).unwrap();
    hvp_dump(&to_file(TINY, p, &["--resume"])).ok();
    assert_eq!(read(&path), whole);
}

#[test]
fn an_exact_hessian_cut_short_is_recomputed_from_its_first_row() {
    let dir = scratch("exact");
    let base: Vec<&str> =
        TINY[..8].iter().copied().chain(["--block", "h.0.mlp.c_fc.*", "--exact", "--threads", "1"]).collect();
    let whole = uninterrupted(&dir, &base);
    let lines: Vec<&str> = whole.lines().collect();
    let rows = all_records(&whole).iter().filter(|r| r["type"] == "hessian").count();
    assert!(rows >= 4, "{rows} rows");
    let path = dir.join("whole.jsonl");
    // Part of the first block's rows: none of them can be kept.
    std::fs::write(&path, format!("{}\n", lines[..3].join("\n"))).unwrap();
    hvp_dump(&to_file(&base, path.to_str().unwrap(), &["--resume"])).ok();
    assert_eq!(read(&path), whole);
}

#[test]
fn a_file_from_other_arguments_is_refused_naming_the_field() {
    let dir = scratch("mismatch");
    let whole = uninterrupted(&dir, TINY);
    let path = dir.join("whole.jsonl");
    let p = path.to_str().unwrap();
    hvp_dump(&to_file(TINY, p, &["--resume", "--seed", "3"])).fails_with(1, &["field `args`", "`--seed`"]);
    let other: Vec<&str> = TINY.iter().map(|a| if *a == "h.0.*" { "h.0.mlp.c_fc.*" } else { a }).collect();
    hvp_dump(&to_file(&other, p, &["--resume"])).fails_with(1, &["field `args`", "`h.0.*`", "`h.0.mlp.c_fc.*`"]);
    // The same arguments on a machine with another thread count.
    std::fs::write(&path, whole.replacen("\"threads\":1", "\"threads\":7", 1)).unwrap();
    hvp_dump(&to_file(TINY, p, &["--resume"])).fails_with(1, &["field `threads`", "was Some(7), now Some(1)"]);
    // Records that are not this invocation's items.
    let swapped = {
        let mut l: Vec<&str> = whole.lines().collect();
        l.swap(1, 2);
        format!("{}\n", l.join("\n"))
    };
    std::fs::write(&path, swapped).unwrap();
    hvp_dump(&to_file(TINY, p, &["--resume"])).fails_with(1, &["whole.jsonl:2", "probe 0"]);
    // Nothing of the refused runs was written to the file.
    assert!(read(&path).len() == whole.len());
}

#[test]
fn output_flags_are_checked() {
    let dir = scratch("flags");
    let whole = uninterrupted(&dir, TINY);
    let path = dir.join("whole.jsonl");
    let p = path.to_str().unwrap();
    hvp_dump(&to_file(TINY, p, &[])).fails_with(2, &["exists and is not empty", "--resume"]);
    assert_eq!(read(&path), whole);
    let no_file: Vec<&str> = TINY.iter().copied().chain(["--resume"]).collect();
    hvp_dump(&no_file).fails_with(2, &["--output"]);
}

#[test]
fn the_run_record_states_the_threads_used() {
    let with = |threads: &'static str| -> Vec<&'static str> {
        TINY[..8]
            .iter()
            .copied()
            .chain(["--block", "h.0.mlp.c_fc.bias", "--probes", "1", "--steps", "2", "--threads", threads])
            .collect()
    };
    let one = all_records(&hvp_dump(&with("1")).ok().stdout);
    assert_eq!(one[0]["threads"], 1);
    let two = all_records(&hvp_dump(&with("2")).ok().stdout);
    assert_eq!(two[0]["threads"], 2);
    // 0: all cores, resolved to a count.
    let all = all_records(&hvp_dump(&with("0")).ok().stdout);
    assert!(all[0]["threads"].as_u64().is_some_and(|n| n >= 1), "{}", all[0]);
}

#[test]
fn a_batch_beyond_memory_is_refused_before_any_work() {
    // 10^11 sequences of gpt2-small's context 32: their ids and targets alone
    // are 51.2 TB, beyond any machine that runs this test (10^8 sequences,
    // 51.2 GB, used to abort with exit 134).
    let args =
        ["--model", "gpt2-small", "--block", "wte", "--probes", "1", "--steps", "2", "--batch-size", "100000000000"];
    let out = hvp_dump(&args)
        .fails_with(1, &["--batch-size 100000000000 (the examples held at once) needs at least", "available"]);
    assert!(out.stdout.is_empty(), "records before the refusal: {}", out.stdout);
    // 10^5 sequences of 32 ids are 51 MB, but one graph's logits over a
    // 50,000-token vocabulary are 3 x 10^5 x 32 x 50,000 x 4 bytes = 1.9 TB.
    let logits = ["--data", "synthetic", "--vocab", "50000", "--batch-size", "100000"];
    let args: Vec<&str> = args[..8].iter().chain(&logits).copied().collect();
    hvp_dump(&args).fails_with(1, &["a graph of 100000 examples", "logits", "1920.0 GB", "available"]);
}

#[test]
fn a_model_beyond_memory_is_refused_before_any_work() {
    // Two hidden layers of 10^6: 10^12 weights, 4 TB in f32.
    let args = ["--model", "mlp", "--widths", "1000000,1000000", "--probes", "1", "--steps", "2"];
    let out = hvp_dump(&args).fails_with(1, &["a model of 1000796000010 parameters (its weights) needs at least"]);
    assert!(out.stdout.is_empty(), "records before the refusal: {}", out.stdout);
}

#[test]
fn libtorch_out_of_memory_is_a_message_with_the_records_so_far_whole() {
    // Under a 4 GB address-space limit libtorch loads (about 2.5 GB of
    // mappings) but cannot allocate one graph of 20,000 sequences (logits of
    // 1.3 GB each): the estimate passes, the allocation fails inside a
    // product. It used to panic on tch's unwrap (or hang printing the
    // backtrace without memory).
    let script = format!(
        "ulimit -v 4000000 && exec {HVP_DUMP} --model gpt2-small --block wte --probes 1 --steps 2 \
         --batch-size 20000 --threads 1"
    );
    let out = Command::new("bash").args(["-c", &script]).output().expect("runs bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("block `transformer.wte.weight`, probe 0: libtorch ran out of memory"), "{stderr}");
    assert!(stderr.contains("one graph of --batch-size (or --micro-batch) examples"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("frame #"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with('\n') && stdout.lines().count() == 1, "only the whole run record: {stdout}");
}
