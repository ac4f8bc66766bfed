//! Hostile inputs to theory-check: what a user can feed it by mistake or on
//! purpose, with the message and exit status each must give (1 for bad
//! input data, 2 for bad arguments), never a panic, a torn line or a check
//! computed from constants that contradict each other.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::Value;
use testkit::{all_records, records, Output};

const BIN: &str = env!("CARGO_BIN_EXE_theory-check");

/// Only the checks of the input: no Monte-Carlo draws, no Proposition 2 demo.
const INPUT_ONLY: &[&str] = &["--trials", "0", "--prop2-steps", "0"];

fn check(stdin: &str) -> Output {
    testkit::run(BIN, INPUT_ONLY, stdin)
}

/// quad-sim's Case 3 with GD and frozen Adam at their theorems' steps, 20 steps.
fn case3() -> Vec<Value> {
    let out = testkit::through(
        "quad-sim",
        &["--case", "3", "--iters", "20", "--optimizer", "gd", "--optimizer", "adam-frozen"],
        "",
    );
    all_records(&out)
}

fn lines(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// The records with the problem record changed by `spoil`.
fn spoiled(spoil: impl Fn(&mut Value)) -> String {
    let mut r = case3();
    let p = r.iter_mut().find(|r| r["type"] == "problem").expect("a problem record");
    spoil(p);
    lines(&r)
}

#[test]
fn empty_input_is_refused_with_the_flag_that_skips_it() {
    // Once: exit 0 with the built-in checks only, as if the input had been checked.
    check("").fails_with(1, &["no input records (expected `problem` and `iterate` records", "--no-input"]);
    check("{\"type\":\"run\",\"tool\":\"x\",\"version\":\"0\",\"args\":[]}\n")
        .fails_with(1, &["no `problem` and `iterate` records in the input"]);
    let out = testkit::run(BIN, &["--no-input", "--trials", "0", "--prop2-steps", "0"], "").ok();
    assert!(records(&out.stdout, "check").iter().any(|c| c["claim"] == "theorem2-counterexample"));
}

#[test]
fn a_line_that_is_not_json_is_named_by_line() {
    let r = case3();
    let input = format!("{}{{\"type\":\"iterate\",\n", lines(&r[..2]));
    check(&input).fails_with(1, &["stdin:3: malformed JSON"]);
}

#[test]
fn a_field_of_the_wrong_type_is_named() {
    check(&spoiled(|p| p["dim"] = "nine".into()))
        .fails_with(1, &["stdin:2: field `dim`: invalid type: string \"nine\", expected usize"]);
    let mut r = case3();
    r[5]["t"] = "three".into();
    check(&lines(&r)).fails_with(1, &["stdin:6: field `t`: invalid type: string \"three\""]);
    // A step no optimizer takes (once checked as "not the theorem's step").
    let mut r = case3();
    r[4]["lr"] = (-0.1).into();
    check(&lines(&r)).fails_with(1, &["stdin:5: field `lr`: must be positive and finite, got -0.1"]);
}

#[test]
fn iterates_of_an_unknown_problem_are_reported_not_checked() {
    let r: Vec<Value> = case3().into_iter().filter(|r| r["type"] != "problem").collect();
    let out = check(&lines(&r)).ok();
    let missing = records(&out.stdout, "check");
    let missing: Vec<&Value> = missing.iter().filter(|c| c["claim"] == "missing-problem").collect();
    assert_eq!(missing.len(), 2, "one per trajectory: {}", out.stdout);
    let detail = missing[0]["detail"].as_str().unwrap();
    assert!(detail.contains("no `problem` record with id `case3-seed0` (first iterate at stdin:2)"), "{detail}");
    assert!(missing.iter().all(|c| c["holds"].is_null()));
}

/// A change to a problem record.
type Spoil = fn(&mut Value);

#[test]
fn a_problem_whose_constants_contradict_each_other_is_refused() {
    // Each was once accepted, and the claims checked against the wrong constants.
    let cases: [(Spoil, &str); 9] = [
        (|p| p["dim"] = 10.into(), "field `dim`: is 10 but the blocks' dims sum to 9"),
        (
            |p| {
                p["blocks"][1]["dim"] = 0.into();
                p["dim"] = 6.into();
            },
            "field `blocks[1].dim`: must be at least 1",
        ),
        (
            |p| p["blocks"][0]["lambda_min"] = 5.0.into(),
            "field `blocks[0].lambda_min`: 5 exceeds the block's lambda_max 3",
        ),
        (|p| p["blocks"][0]["kappa"] = 30.0.into(), "field `blocks[0].kappa`: is 30 but lambda_max / lambda_min = 3"),
        (|p| p["blocks"][0]["c1"] = 2.0.into(), "field `blocks[0].c1`: 2 exceeds c2"),
        (|p| p["blocks"][1]["name"] = "b1".into(), "field `blocks[1].name`: `b1` names an earlier block"),
        (|p| p["kappa"] = 20.0.into(), "field `kappa`: is 20 but lambda_max / lambda_min over the blocks is 2000"),
        (|p| p["lambda_max"] = 3000.0.into(), "field `lambda_max`: is 3000 but the largest block lambda_max is 2000"),
        (|p| p["r"] = 2.0.into(), "field `r`: is 2 but max_l (c2_l / c1_l)^2 is"),
    ];
    for (spoil, needle) in cases {
        check(&spoiled(spoil)).fails_with(1, &[&format!("stdin:2: {needle}")]);
    }
    check(&spoiled(|p| p["eta_adam"] = 1.0.into())).fails_with(1, &["field `eta_adam`: is 1 but min_l c1_l is"]);
    check(&spoiled(|p| p["loss0"] = 0.0.into())).fails_with(1, &["field `loss0`: must be positive and finite, got 0"]);
}

#[test]
fn iterates_out_of_order_are_refused_where_read() {
    let mut r = case3();
    r.swap(5, 6);
    check(&lines(&r)).fails_with(1, &["stdin:7: field `t`: 3 does not follow 4 in trajectory case3-seed0 / gd"]);
    // The same trajectory twice (a file given twice) goes back in time too.
    let r = case3();
    let iterates: Vec<Value> = r.iter().filter(|r| r["type"] == "iterate").cloned().collect();
    let twice = format!("{}{}", lines(&r), lines(&iterates));
    check(&twice).fails_with(1, &["field `t`: 0 does not follow 20"]);
}

#[test]
fn a_problem_id_given_to_two_problems_is_refused() {
    // Once the later record silently replaced the earlier one, and the
    // iterates of the first were checked against the second's constants.
    let r = case3();
    let mut other = r[1].clone();
    other["seed"] = 7.into();
    let input = format!("{}{}{}", lines(&r[..2]), lines(&[other]), lines(&r[2..]));
    check(&input).fails_with(
        1,
        &["stdin:3: field `problem`: id `case3-seed0` was given to a different problem at stdin:2: ids must be unique"],
    );
    // The same record twice is the same problem: checked once.
    let input = format!("{}{}", lines(&r[..2]), lines(&r[1..]));
    let out = check(&input).ok();
    let gd: Vec<Value> = records(&out.stdout, "check").into_iter().filter(|c| c["claim"] == "gd-step-bound").collect();
    assert_eq!(gd.len(), 1, "{}", out.stdout);
    assert_eq!(gd[0]["holds"], true);
}

#[test]
fn a_trajectory_of_one_iterate_checks_nothing_rather_than_failing() {
    // Once: holds = false with observed 0 over 0 compared steps.
    let r = case3();
    let out = check(&lines(&r[..3])).ok();
    let c = records(&out.stdout, "check").into_iter().find(|c| c["claim"] == "gd-step-bound").unwrap();
    assert!(c["holds"].is_null() && c["observed"].is_null(), "{c}");
    assert_eq!(c["steps_checked"], 0);
    assert!(c["detail"].as_str().unwrap().contains("one iterate only"), "{c}");
}

#[test]
fn settings_out_of_range_are_refused_by_name() {
    for (flag, value, needle) in [
        ("--eps", "0", "--eps must be positive and finite, got 0"),
        ("--eps", "-1", "--eps must be positive and finite, got -1"),
        ("--tol", "NaN", "--tol must be >= 0"),
        ("--prop2-beta2", "1", "--prop2-beta2 must be in (0, 1), got 1"),
        ("--mc-kappa", "50", "--mc-kappa must exceed 103"),
        ("--prop2-every", "0", "--prop2-every must be at least 1"),
        // Once: an allocation failure (abort) or a run without end.
        ("--prop2-steps", "100000000000", "--prop2-steps 100000000000 is more than 10000000"),
        ("--trials", "1000000000000000000", "--trials 1000000000000000000 is more than 10000000"),
        ("--mc-iters", "10000001", "--mc-iters 10000001 is more than 10000000"),
    ] {
        let out = testkit::run(BIN, &["--no-input", flag, value], "").fails_with(2, &[needle]);
        assert!(!out.stderr.contains("use '--"), "{}", out.stderr);
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // `theory-check --no-input | head -1`: the Proposition 2 demo writes
    // 20000 iterates (far more than a pipe holds) after the reader has left.
    let mut child = Command::new(BIN)
        .args(["--no-input", "--trials", "0", "--prop2-every", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(err.is_empty(), "a closed pipe says nothing: {err}");
    assert_eq!(status.code(), Some(0), "a closed pipe is a normal end");
}
