//! Hostile inputs to quad-sim: settings that were silently ignored, and
//! negative values, with the message and exit status each must give.

use testkit::Output;

const BIN: &str = env!("CARGO_BIN_EXE_quad-sim");

fn quad_sim(args: &[&str]) -> Output {
    testkit::run(BIN, args, "")
}

#[test]
fn a_grid_that_tunes_no_optimizer_is_refused() {
    // --lr fixes the step of every optimizer without a theory step.
    quad_sim(&["--case", "3", "--lr", "0.1", "--lr-grid", "0.1,0.2"])
        .fails_with(2, &["--lr-grid tunes no optimizer", "fixed step"]);
    quad_sim(&["--case", "3", "--optimizer", "adam=0.1", "--lr-log-grid", "1e-3:1:1"])
        .fails_with(2, &["--lr-grid tunes no optimizer"]);
    // A grid that tunes one optimizer stays accepted, next to --lr.
    let out =
        quad_sim(&["--case", "3", "--lr", "0.1", "--lr-grid", "0.1,0.2", "--optimizer", "adam=grid", "--iters", "5"])
            .ok();
    assert!(!testkit::records(&out.stdout, "tuning").is_empty() || out.stdout.contains("\"adam\""), "{}", out.stdout);
}

#[test]
fn negative_values_are_refused_by_range_not_by_a_wrong_tip() {
    let out = quad_sim(&["--case", "3", "--kappa", "-5"]).fails_with(2, &["--kappa must be finite and > 1, got -5"]);
    assert!(!out.stderr.contains("use '-- -5'"), "{}", out.stderr);
}
