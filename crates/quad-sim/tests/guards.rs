//! quad-sim refuses, before any work, what it cannot compute honestly:
//! dense blocks larger than the memory available, and condition numbers
//! whose squared gradients overflow f64 (they used to come out as `null`).

use testkit::{all_records, run};

const BIN: &str = env!("CARGO_BIN_EXE_quad-sim");

#[test]
fn a_block_dimension_beyond_memory_is_refused_with_its_estimate() {
    // 3 blocks of 10^6 x 10^6: (2 * 3 + 3) * 8e12 bytes = 72,000 GB.
    run(BIN, &["--case", "3", "--block-dim", "1000000"], "")
        .fails_with(1, &["--block-dim 1000000 with 3 blocks needs about 72000.0 GB", "available"]);
}

#[test]
fn kappa_whose_squares_overflow_is_refused() {
    run(BIN, &["--case", "3", "--kappa", "1e160", "--optimizer", "gd"], "")
        .fails_with(2, &["--kappa 1e160 is above 1e150", "overflow"]);
}

#[test]
fn the_largest_kappa_accepted_gives_numbers_everywhere() {
    let out = run(BIN, &["--case", "3", "--kappa", "1e150", "--iters", "5"], "").ok();
    assert!(!out.stdout.contains("null"), "a null in the output");
    let problem = all_records(&out.stdout).into_iter().find(|r| r["type"] == "problem").expect("a problem record");
    let g0 = problem["grad0_norm"].as_f64().expect("grad0_norm is a number");
    assert!(g0.is_finite() && g0 > 1e150, "{g0}");
}
