//! Hostile inputs to block-js: what a user can feed it by mistake or on
//! purpose, with the message and exit status each must give (1 for bad
//! input data, 2 for bad arguments), never a panic or a torn line.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use testkit::{records, Output};

const BIN: &str = env!("CARGO_BIN_EXE_block-js");

fn run(args: &[&str], stdin: &str) -> Output {
    testkit::run(BIN, args, stdin)
}

/// A density record of model `m` with one probe (0) and equal weights.
fn density(block: &str, nodes: &[f64]) -> Value {
    let n = nodes.len();
    json!({
        "type": "density", "model": "m", "block": block, "dim": 10, "probes": 1, "nodes": nodes,
        "weights": vec![1.0 / n as f64; n], "node_probe": vec![0; n], "axis": "linear", "scale": 1.0,
        "sigma": 0.1, "sigma_mode": "absolute", "grid": [0.0], "density": [1.0], "lambda_min": 0.0,
        "lambda_max": 1.0, "trace": 1.0
    })
}

/// `density` with `field` set to `value`.
fn with(mut d: Value, field: &str, value: Value) -> Value {
    d[field] = value;
    d
}

fn lines(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// Two good blocks.
fn two() -> Vec<Value> {
    vec![density("a", &[1.0, 2.0]), density("b", &[3.0, 5.0])]
}

#[test]
fn empty_input_says_what_was_expected() {
    run(&[], "").fails_with(1, &["no input records (expected `density` records"]);
    // Records, but none block-js reads: passed through, then refused.
    run(&[], "{\"type\":\"run\",\"tool\":\"x\",\"version\":\"0\",\"args\":[]}\n")
        .fails_with(1, &["no `density` records in the input"]);
}

#[test]
fn a_line_that_is_not_json_is_named_by_line() {
    let input = format!("{}not json\n", lines(&two()[..1]));
    run(&[], &input).fails_with(1, &["stdin:2: malformed JSON"]);
}

#[test]
fn a_field_of_the_wrong_type_is_named() {
    let input = lines(&[density("a", &[1.0]), with(density("b", &[2.0]), "sigma", json!("wide"))]);
    run(&[], &input).fails_with(1, &["stdin:2: field `sigma`: invalid type: string \"wide\", expected f64"]);
}

#[test]
fn nodes_and_weights_of_different_lengths_are_refused() {
    let input = lines(&[density("a", &[1.0, 2.0]), with(density("b", &[3.0, 5.0]), "weights", json!([1.0]))]);
    run(&[], &input).fails_with(1, &["stdin:2: field `weights`: has 1 entries but nodes has 2"]);
    let input = lines(&[density("a", &[1.0, 2.0]), with(density("b", &[3.0, 5.0]), "node_probe", json!([0]))]);
    run(&[], &input).fails_with(1, &["stdin:2: field `node_probe`: has 1 entries but nodes has 2"]);
}

#[test]
fn a_probe_count_that_node_probe_contradicts_is_refused() {
    // Once accepted: `probes` sized the bootstrap's memory check, and a
    // record claiming 0 (or 10^18) probes went through unnoticed.
    for probes in [0u64, 2, 1_000_000_000_000_000_000] {
        let input = lines(&[density("a", &[1.0, 2.0]), with(density("b", &[3.0, 5.0]), "probes", json!(probes))]);
        run(&[], &input).fails_with(
            1,
            &[&format!("stdin:2: field `probes`: is {probes} but node_probe names 1 distinct probe(s)")],
        );
    }
    // Each probe carries 1/probes of the mass (once: a probe of weight 0
    // gave bootstrap replicates without a density, and a distance from them).
    let b = with(
        with(with(density("b", &[3.0, 5.0]), "node_probe", json!([0, 1])), "probes", json!(2)),
        "weights",
        json!([1.0, 0.0]),
    );
    run(&["--bootstrap", "50"], &lines(&[density("a", &[1.0, 2.0]), b]))
        .fails_with(1, &["stdin:2: field `weights`: of probe 0 sum to 1, not 1/probes = 0.5"]);
    // Two probes named, two claimed: fine.
    let b = with(with(density("b", &[3.0, 5.0]), "node_probe", json!([0, 7])), "probes", json!(2));
    run(&[], &lines(&[density("a", &[1.0, 2.0]), b])).ok();
}

#[test]
fn one_block_only_is_refused_with_its_model_and_place() {
    run(&[], &lines(&two()[..1]))
        .fails_with(1, &["model `m` (first seen at stdin:1) has 1 block; distances need at least two"]);
}

#[test]
fn a_block_named_twice_within_a_model_is_refused() {
    let input = lines(&[density("a", &[1.0]), density("b", &[2.0]), density("a", &[3.0])]);
    run(&[], &input).fails_with(1, &["stdin:3: field `block`: block `a` of model `m` appears twice"]);
    // The same name in two models is two blocks.
    let other = with(density("a", &[1.0]), "model", json!("n"));
    let input =
        lines(&[density("a", &[1.0]), density("b", &[2.0]), other, with(density("b", &[2.0]), "model", json!("n"))]);
    assert_eq!(records(&run(&[], &input).ok().stdout, "heterogeneity").len(), 2);
}

#[test]
fn an_empty_block_name_is_refused() {
    // Once accepted: the matrix format then had a row without its header.
    let input = lines(&[density("", &[1.0]), density("b", &[2.0])]);
    run(&["--format", "matrix"], &input).fails_with(1, &["stdin:1: field `block`: is empty"]);
    run(&[], &lines(&[density("a", &[1.0]), density(" ", &[2.0])])).fails_with(1, &["stdin:2: field `block`"]);
}

#[test]
fn degenerate_but_valid_densities_give_finite_distances() {
    // A block of one node, a sigma near f64's range, identical blocks.
    for input in [
        vec![density("a", &[1.0, 2.0]), density("b", &[3.0])],
        vec![with(density("a", &[1.0]), "sigma", json!(1e300)), with(density("b", &[5.0]), "sigma", json!(1e300))],
        vec![with(density("a", &[1.0]), "sigma", json!(1e-300)), with(density("b", &[5.0]), "sigma", json!(1e-300))],
        vec![density("a", &[1e300, -1e300]), density("b", &[3.0])],
        vec![density("a", &[1.0, 2.0]), density("b", &[1.0, 2.0])],
    ] {
        let out = run(&[], &lines(&input)).ok();
        let h = &records(&out.stdout, "heterogeneity")[0];
        let v = h["value"].as_f64().unwrap();
        assert!((0.0..=std::f64::consts::LN_2.sqrt() + 1e-12).contains(&v), "{h}");
    }
}

#[test]
fn sigma_zero_and_weights_not_summing_to_one_are_refused() {
    for (field, value, needle) in [
        ("sigma", json!(0.0), "stdin:2: field `sigma`: must be positive and finite, got 0"),
        ("sigma", json!(-1.0), "stdin:2: field `sigma`: must be positive and finite, got -1"),
        ("weights", json!([0.3, 0.3]), "stdin:2: field `weights`: sum to 0.6, not 1"),
        ("weights", json!([1.5, -0.5]), "stdin:2: field `weights`: entry 1 is -0.5"),
    ] {
        let input = lines(&[density("a", &[1.0, 2.0]), with(density("b", &[3.0, 5.0]), field, value)]);
        run(&[], &input).fails_with(1, &[needle]);
    }
}

#[test]
fn bootstrap_counts_out_of_range_are_refused() {
    let input = lines(&two());
    let out = run(&["--bootstrap", "-1"], &input).fails_with(2, &["invalid value '-1' for '--bootstrap <N>'"]);
    assert!(!out.stderr.contains("use '-- -1'"), "{}", out.stderr);
    // One replicate once gave se 0 and a zero-width interval.
    run(&["--bootstrap", "1"], &input).fails_with(2, &["--bootstrap 1 gives no spread", "at least 2 replicates"]);
    run(&["--bootstrap", "100000000000"], &input)
        .fails_with(2, &["--bootstrap 100000000000 over the 2 blocks (2 probes) of model `m`", "limit 200000000"]);
    let out = run(&["--bootstrap", "2"], &input).ok();
    assert_eq!(records(&out.stdout, "heterogeneity")[0]["bootstrap"], 2);
}

#[test]
fn thread_counts_out_of_range_are_refused() {
    let input = lines(&two());
    run(&["--threads", "100000"], &input).fails_with(2, &["--threads 100000 is more than 1024"]);
    let out = run(&["--threads", "-1"], &input).fails_with(2, &["invalid value '-1' for '--threads <N>'"]);
    assert!(!out.stderr.contains("use '-- -1'"), "{}", out.stderr);
}

#[test]
fn a_floor_must_be_positive_and_is_refused_where_no_metric_uses_it() {
    let input = lines(&two());
    for f in ["0", "-1", "NaN", "inf"] {
        run(&["--metric", "skl-floored", "--floor", f], &input)
            .fails_with(2, &[&format!("--floor must be positive and finite, got {f}")]);
    }
    // Once ignored, the run record claiming it: the JS distance takes no floor.
    run(&["--floor", "0"], &input).fails_with(2, &["--floor 0 applies to --metric skl-floored only"]);
    run(&["--floor", "1e-10"], &input).fails_with(2, &["applies to --metric skl-floored only"]);
    run(&["--metric", "skl-floored", "--base", "2"], &input).fails_with(2, &["--base applies to --metric js only"]);
    // Each with its own metric is applied.
    let floored = |f: &str| {
        let out = run(&["--metric", "skl-floored", "--floor", f], &input).ok();
        records(&out.stdout, "heterogeneity")[0]["value"].as_f64().unwrap()
    };
    assert!(floored("1e-10") < floored("1e-30"), "a higher floor bounds the divergence lower");
    let base2 = run(&["--base", "2"], &input).ok();
    let v = records(&base2.stdout, "heterogeneity")[0]["value"].as_f64().unwrap();
    assert!(v > 0.99 && v <= 1.0, "disjoint blocks are 1 apart in base 2: {v}");
}

#[test]
fn a_model_of_more_pairs_than_can_be_compared_is_refused_before_work() {
    // 4474 blocks: 10,006,101 pairs (once: a pair list and a matrix sized by
    // the input alone, and hours of work).
    let input: String = (0..4474).map(|i| format!("{}\n", density(&format!("b{i}"), &[1.0]))).collect();
    run(&["--format", "matrix"], &input).fails_with(
        1,
        &["model `m` (first seen at stdin:1) has 4474 blocks, 10006101 pairs: more than the 10000000 pairs"],
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // `block-js | head -1`: 300 blocks give 44850 distance lines, far more
    // than a pipe holds, so block-js is still writing when the reader leaves.
    let input: String = (0..300).map(|i| format!("{}\n", density(&format!("b{i}"), &[i as f64, 1.0]))).collect();
    let mut child = Command::new(BIN)
        .args(["--threads", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    writer.join().unwrap();
    assert!(err.is_empty(), "a closed pipe says nothing: {err}");
    assert_eq!(status.code(), Some(0), "a closed pipe is a normal end");
}
