//! Hostile inputs to slq-density: each probe that once gave a silent wrong
//! answer, an abort or a misleading message, with the message and exit
//! status it must give now.

use testkit::Output;

const BIN: &str = env!("CARGO_BIN_EXE_slq-density");

fn run(args: &[&str], stdin: &str) -> Output {
    testkit::run(BIN, args, stdin)
}

/// Two probes of a block of 3 Lanczos steps: 3 Ritz values each.
const THREE_STEPS: &str = concat!(
    r#"{"type":"tridiag","model":"m","block":"b","dim":50,"probe":0,"seed":1,"alpha":[1.0,2.0,3.0],"beta":[0.5,0.5]}"#,
    "\n",
    r#"{"type":"tridiag","model":"m","block":"b","dim":50,"probe":1,"seed":2,"alpha":[1.5,2.5,3.5],"beta":[0.5,0.5]}"#,
    "\n"
);

#[test]
fn a_rank_beyond_the_ritz_values_is_refused_not_replaced_by_the_smallest() {
    for mode in [&["--normalize", "kth", "--rank", "10"][..], &["--sigma-mode", "relative", "--rank", "4"]] {
        run(mode, THREE_STEPS).fails_with(
            1,
            &[
                "model `m` block `b`",
                "-th largest eigenvalue is asked for, but probe 0 has only 3 Ritz values",
                "lower --rank",
            ],
        );
    }
    // Within the Ritz values it still normalizes: the median of 2.x and 3.x.
    let out = run(&["--normalize", "kth", "--rank", "3"], THREE_STEPS).ok();
    let d = &testkit::records(&out.stdout, "density")[0];
    assert!(d["scale"].as_f64().unwrap() > 0.0 && d["scale"].as_f64().unwrap() < 1.5, "{d}");
}

#[test]
fn a_sigma_whose_grid_overflows_names_the_flag() {
    let out =
        run(&["--sigma", "1e308"], THREE_STEPS).fails_with(2, &["--sigma 1e308 is too large", "beyond f64's range"]);
    assert!(!out.stderr.contains("overflow in the node values"), "{}", out.stderr);
}

#[test]
fn a_grid_larger_than_any_memory_is_refused_before_work() {
    run(&["--grid-size", "1000000000000000000"], THREE_STEPS)
        .fails_with(1, &["--grid-size 1000000000000000000 needs at least", "of memory available"]);
}

#[test]
fn negative_values_are_refused_by_range_not_by_a_wrong_tip() {
    for (flag, mode, needle) in [
        ("--sigma", "absolute", "--sigma must be positive and finite, got -1"),
        ("--pad", "absolute", "--pad must be >= 0, got -1"),
        ("--sigma-rel", "relative", "--sigma-rel must be positive and finite, got -1"),
    ] {
        let out = run(&[flag, "-1", "--sigma-mode", mode], THREE_STEPS).fails_with(2, &[needle]);
        assert!(!out.stderr.contains("use '-- -1'"), "{}", out.stderr);
    }
    let out = run(&["--grid-size", "-3"], THREE_STEPS).fails_with(2, &["invalid value '-3' for '--grid-size"]);
    assert!(!out.stderr.contains("use '-- -3'"), "{}", out.stderr);
}
