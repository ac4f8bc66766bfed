//! slq-density as a user meets it: pipes, files, bad input, exit codes.

use std::io::Read;
use std::process::{Command, Stdio};

use testkit::Output;

const BIN: &str = env!("CARGO_BIN_EXE_slq-density");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/demo-tridiag.jsonl");

fn run(args: &[&str], stdin: &str) -> Output {
    testkit::run(BIN, args, stdin)
}

const GOOD: &str =
    r#"{"type":"tridiag","model":"m","block":"b","dim":3,"probe":0,"seed":1,"alpha":[1.0,2.0],"beta":[0.5]}"#;

fn assert_clean_failure(o: &Output, line: &str, needle: &str) {
    assert_eq!(o.code, 1, "stderr: {}", o.stderr);
    assert!(o.stderr.contains(line), "expected `{line}` in: {}", o.stderr);
    assert!(o.stderr.contains(needle), "expected `{needle}` in: {}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    assert!(
        o.stdout.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "no torn line: {}",
        o.stdout
    );
    assert!(!o.stdout.contains("\"density\""), "no density from bad input");
}

#[test]
fn emits_one_density_per_block_with_pooled_probes() {
    let input = format!("{GOOD}\n{}\n", GOOD.replace("\"probe\":0", "\"probe\":1").replace("[1.0,2.0]", "[1.5,2.5]"));
    let o = run(&[], &input);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<serde_json::Value> = o.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["type"], "run");
    assert_eq!(lines.len(), 2);
    let d = &lines[1];
    assert_eq!(d["type"], "density");
    assert_eq!(d["probes"], 2);
    let w: f64 = d["weights"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).sum();
    assert!((w - 1.0).abs() < 1e-14);
    assert_eq!(d["node_probe"], serde_json::json!([0, 0, 1, 1]));
}

#[test]
fn other_records_pass_through_unchanged() {
    let extra = r#"{"type":"note","text":"kept as is","x":[1,2]}"#;
    let o = run(&[], &format!("{extra}\n{GOOD}\n"));
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout.lines().nth(1), Some(extra));
}

#[test]
fn bad_inputs_name_the_line_and_field() {
    assert_clean_failure(&run(&[], &format!("{GOOD}\n{{not json\n")), "stdin:2:", "malformed JSON");
    assert_clean_failure(&run(&[], &GOOD.replace(",\"beta\":[0.5]", "")), "stdin:1:", "missing field `beta`");
    assert_clean_failure(
        &run(&[], &GOOD.replace("[0.5]", "[0.5,0.1]")),
        "stdin:1: field `beta`",
        "has 2 entries but alpha has 2",
    );
    assert_clean_failure(&run(&[], &GOOD.replace("[1.0,2.0]", "[1.0,1e999]")), "stdin:1:", "number out of range");
    assert_clean_failure(&run(&[], &GOOD.replace("[1.0,2.0]", "[1.0,null]")), "stdin:1: field `alpha[1]`", "null");
    assert_clean_failure(&run(&[], &GOOD.replace("\"dim\":3", "\"dim\":1")), "stdin:1: field `dim`", "smaller");
    let dup = format!("{GOOD}\n\n{GOOD}\n");
    assert_clean_failure(&run(&[], &dup), "stdin:3: field `probe`", "appears twice");
}

#[test]
fn empty_input_is_an_error_and_usage_errors_exit_2() {
    let o = run(&[], "");
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no input records"), "{}", o.stderr);
    let o = run(&["--grid-size", "1"], GOOD);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let o = run(&["--sigma-mode", "relative", "--log"], GOOD);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let o = run(&["--no-such-flag"], GOOD);
    assert_eq!(o.code, 2);
    let o = run(&["/no/such/file.jsonl"], "");
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("cannot open /no/such/file.jsonl"), "{}", o.stderr);
}

#[test]
fn same_input_same_bytes() {
    let a = run(&[FIXTURE], "");
    let b = run(&[FIXTURE], "");
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout.lines().filter(|l| l.contains("\"type\":\"density\"")).count(), 8);
}

#[test]
fn csv_rows_integrate_to_one_per_block() {
    let o = run(&["--format", "csv", "--grid-size", "500"], GOOD);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut r = csv::Reader::from_reader(o.stdout.as_bytes());
    assert_eq!(r.headers().unwrap(), vec!["model", "block", "x", "density"]);
    let rows: Vec<(f64, f64)> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[2].parse().unwrap(), rec[3].parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 500);
    let h = rows[1].0 - rows[0].0;
    let total: f64 = rows.iter().map(|r| r.1).sum::<f64>() * h;
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // `slq-density big | head -1`: the reader leaves after one line.
    let mut child = Command::new(BIN).arg(FIXTURE).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(0), "a closed pipe is a normal end: {err}");
}

#[test]
fn too_many_steps_are_refused_with_a_message() {
    // One past spectra::quadrature::MAX_STEPS.
    let m = 200_001;
    let line = serde_json::json!({
        "type": "tridiag", "model": "m", "block": "b", "dim": m, "probe": 0, "seed": 0, "breakdown": false,
        "alpha": vec![0.0; m], "beta": vec![0.5; m - 1]
    })
    .to_string();
    let o = run(&[], &line);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("limit is 200000 steps"), "{}", o.stderr);
}
