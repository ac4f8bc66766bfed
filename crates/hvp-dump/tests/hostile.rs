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

/// TINY with `flag`'s value replaced by `value`.
fn tiny_with<'a>(flag: &str, value: &'a str) -> Vec<&'a str> {
    let mut args = TINY.to_vec();
    let at = args.iter().position(|a| *a == flag).expect("a flag of TINY") + 1;
    args[at] = value;
    args
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
fn resume_keeps_only_records_the_continued_run_would_write() {
    let dir = scratch("kept");
    let file = dir.join("out.jsonl");
    let name = file.display().to_string();
    hvp_dump(&with(TINY, &["-o", &name])).ok();
    let whole = std::fs::read_to_string(&file).unwrap();
    for (field, value) in
        [("model", serde_json::json!("another model")), ("seed", serde_json::json!(7)), ("dim", serde_json::json!(5))]
    {
        // Line 3's record altered, the last line torn: --resume would keep line 3.
        let mut lines: Vec<String> = whole.lines().map(String::from).collect();
        let mut record: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
        record[field] = value;
        lines[2] = record.to_string();
        std::fs::write(&file, lines.join("\n")).unwrap();
        hvp_dump(&with(TINY, &["-o", &name, "--resume"])).fails_with(
            1,
            &[
                &format!("{name}:3: field `{field}`: the file has"),
                "--resume keeps only records of the run it continues",
            ],
        );
    }
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
    // --save-weights to a device writes it, rather than renaming a file over it.
    hvp_dump(&with(TINY, &["--save-weights", "/dev/null", "-o", "/dev/null"])).ok();
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file(), "/dev/null replaced by a file");
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

#[test]
fn threads_memory_and_basis_settings_are_bounded_before_work() {
    hvp_dump(&tiny_with("--threads", "100000")).fails_with(2, &["--threads 100000 is more than 1024"]);
    hvp_dump(&tiny_with("--probes", "4000000000"))
        .fails_with(1, &["--probes 4000000000 over 8 blocks (the list of runs) needs at least", "available"]);
    hvp_dump(&with(TINY, &["--memory", "1000000"]))
        .fails_with(2, &["--memory 1000000 GiB is more than this machine's", "of memory"]);
    // With --basis-dir the disk basis replaces the ladder: a --memory below
    // its one row is refused, not met by a smaller basis.
    let dir = scratch("basis");
    hvp_dump(&with(TINY, &["--basis-dir", path(&dir), "--memory", "1e-9"]))
        .fails_with(2, &["is less than block", "basis on disk needs in memory", "raise --memory"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn negative_values_are_refused_by_range_not_by_a_wrong_tip() {
    for (flag, needle) in
        [("--steps", "invalid value '-3' for '--steps"), ("--probes", "invalid value '-3' for '--probes")]
    {
        let out = hvp_dump(&tiny_with(flag, "-3")).fails_with(2, &[needle]);
        assert!(!out.stderr.contains("use '-- -3'"), "{}", out.stderr);
    }
    hvp_dump(&with(TINY, &["--memory", "-1"])).fails_with(2, &["--memory must be positive"]);
}

fn fixture(name: &str) -> String {
    format!("{}/../../testdata/torchscript/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// tiny-mlp's batch (8 examples of 10 features, 3 classes) with `targets`.
fn batch_with_targets(dir: &Path, targets: &[i64]) -> PathBuf {
    let file = dir.join("batch.safetensors");
    let input = tch::Tensor::zeros([8, 10], (tch::Kind::Double, tch::Device::Cpu));
    let target = tch::Tensor::from_slice(targets);
    tch::Tensor::write_safetensors(&[("input", input), ("target", target)], &file).unwrap();
    file
}

#[test]
fn a_torchscript_batch_is_used_as_given_or_the_flag_refused() {
    let (pt, batch) = (fixture("tiny-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    let base = ["--torchscript", &pt, "--inputs", &batch, "--device", "cpu", "--threads", "1"];
    for (flag, value) in [("--batch-size", "100"), ("--batch-size", "4"), ("--data-seed", "3")] {
        hvp_dump(&with(&base, &[flag, value])).fails_with(2, &["'--inputs <FILE>' cannot be used with", flag]);
    }
}

#[test]
fn class_targets_out_of_range_are_named_not_a_libtorch_panic() {
    let dir = scratch("targets");
    let pt = fixture("tiny-mlp.pt");
    for (bad, index) in [(99, 3), (-5, 6)] {
        let mut targets = vec![0i64, 1, 2, 0, 1, 2, 0, 1];
        targets[index] = bad;
        let file = batch_with_targets(&dir, &targets);
        let name = file.display().to_string();
        hvp_dump(&["--torchscript", &pt, "--inputs", &name, "--device", "cpu", "--probes", "1", "--steps", "2"])
            .fails_with(
                1,
                &[&format!("target {bad} of example {index}"), "the output's 3", &format!("--inputs {name}")],
            );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `dir/images.npy`: `labels.len()` images of 2 x 5 pixels (10 features,
/// as tiny-mlp reads), with `labels`.
fn npy_set(dir: &Path, labels: &[i64]) {
    std::fs::create_dir_all(dir).unwrap();
    let n = labels.len() as i64;
    tch::Tensor::zeros([n, 2, 5], (tch::Kind::Uint8, tch::Device::Cpu)).write_npy(dir.join("images.npy")).unwrap();
    tch::Tensor::from_slice(labels).write_npy(dir.join("labels.npy")).unwrap();
}

#[test]
fn a_data_sets_labels_beyond_a_modules_classes_are_refused_before_work() {
    let dir = scratch("classes");
    // Five classes of labels; tiny-mlp has three outputs. The first
    // micro-batch alone would not show it.
    npy_set(&dir, &[0, 0, 0, 0, 0, 0, 1, 4]);
    let pt = fixture("tiny-mlp.pt");
    let args = ["--torchscript", &pt, "--data", "npy", "--data-path", path(&dir), "--reads", "features"];
    hvp_dump(&with(
        &args,
        &["--batch-size", "8", "--micro-batch", "1", "--device", "cpu", "--probes", "1", "--steps", "2"],
    ))
    .fails_with(1, &["the data's labels run from 0 to 4 (5 classes), but the module's output has 3 classes"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn labels_of_a_users_data_are_checked_where_they_are_read() {
    let dir = scratch("labels");
    let npy = dir.join("npy");
    std::fs::create_dir_all(&npy).unwrap();
    let common =
        ["--model", "mlp", "--widths", "4", "--device", "cpu", "--probes", "1", "--steps", "2", "--batch-size", "2"];
    let images = tch::Tensor::zeros([4, 6, 6], (tch::Kind::Uint8, tch::Device::Cpu));
    images.write_npy(npy.join("images.npy")).unwrap();
    let labels_file = npy.join("labels.npy").display().to_string();
    for (bad, index) in [(1i64 << 40, 2), (-5, 1)] {
        let mut labels = vec![0i64, 1, 0, 1];
        labels[index] = bad;
        tch::Tensor::from_slice(&labels).write_npy(npy.join("labels.npy")).unwrap();
        hvp_dump(&with(&common, &["--data", "npy", "--data-path", path(&npy)]))
            .fails_with(1, &[&format!("{labels_file}: label {bad} at index {index} is not a class index")]);
    }
    // No examples at all.
    tch::Tensor::zeros([0, 6, 6], (tch::Kind::Uint8, tch::Device::Cpu)).write_npy(npy.join("images.npy")).unwrap();
    tch::Tensor::zeros([0], (tch::Kind::Int64, tch::Device::Cpu)).write_npy(npy.join("labels.npy")).unwrap();
    hvp_dump(&with(&common, &["--data", "npy", "--data-path", path(&npy)]))
        .fails_with(1, &[&format!("no examples in {}", npy.join("images.npy").display())]);
    let (ip, lp) = (dir.join("img.idx"), dir.join("lab.idx"));
    std::fs::write(&ip, [0u8, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 6]).unwrap();
    std::fs::write(&lp, [0u8, 0, 8, 1, 0, 0, 0, 0]).unwrap();
    hvp_dump(&with(&common, &["--data", "idx", "--data-path", path(&ip), "--data-path", path(&lp)]))
        .fails_with(1, &[&format!("no examples in {}", ip.display())]);
    std::fs::remove_dir_all(&dir).ok();
}
