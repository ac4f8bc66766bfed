//! block-js as a user meets it: real pipelines from the fixture, closed
//! forms through the whole tool, bad input, exit codes.

use testkit::{records, Output};

const BIN: &str = env!("CARGO_BIN_EXE_block-js");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/demo-tridiag.jsonl");

fn run(args: &[&str], stdin: &str) -> Output {
    testkit::run(BIN, args, stdin)
}

/// The fixture's densities, made by the sibling slq-density binary.
fn fixture_densities() -> String {
    testkit::through("slq-density", &[FIXTURE], "")
}

/// A density record with the given nodes and weights, one probe per node group.
fn density(model: &str, block: &str, nodes: &[f64], weights: &[f64], probes: &[u32], sigma: f64) -> String {
    serde_json::json!({
        "type": "density", "model": model, "block": block, "dim": nodes.len(),
        "probes": 1, "nodes": nodes, "weights": weights, "node_probe": probes,
        "axis": "linear", "scale": 1.0, "sigma": sigma, "sigma_mode": "absolute",
        "grid": [0.0], "density": [0.0], "lambda_min": 0.0, "lambda_max": 0.0, "trace": 0.0
    })
    .to_string()
}

#[test]
fn disjoint_blocks_reach_the_bound_and_identical_blocks_zero() {
    let input = [
        density("m", "a", &[0.0, 1.0], &[0.5, 0.5], &[0, 0], 0.01),
        density("m", "b", &[0.0, 1.0], &[0.5, 0.5], &[0, 0], 0.01),
        density("m", "c", &[1e5], &[1.0], &[0], 0.01),
    ]
    .join("\n");
    let o = run(&["--base", "2"], &input);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let d = records(&o.stdout, "distance");
    assert_eq!(d.len(), 3);
    assert!(d[0]["value"].as_f64().unwrap() < 1e-12, "a vs b identical");
    assert!((d[1]["value"].as_f64().unwrap() - 1.0).abs() < 1e-12, "a vs c disjoint");
    let h = records(&o.stdout, "heterogeneity");
    assert_eq!(h[0]["pairs"], 3);
    assert!((h[0]["value"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn fixture_pipeline_separates_homogeneous_from_heterogeneous() {
    let o = run(&[], &fixture_densities());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let h = records(&o.stdout, "heterogeneity");
    assert_eq!(h.len(), 2);
    let hom = h[0]["value"].as_f64().unwrap();
    let het = h[1]["value"].as_f64().unwrap();
    assert_eq!(h[0]["model"], "synthetic-homogeneous");
    assert!(het > 2.0 * hom, "heterogeneous {het} vs homogeneous {hom}");
    assert!(het <= std::f64::consts::LN_2.sqrt() + 1e-12);
    // Upstream run records pass through, after block-js's own.
    let runs = records(&o.stdout, "run");
    assert_eq!(runs[0]["tool"], "block-js");
    assert_eq!(runs[1]["tool"], "slq-density");
}

#[test]
fn bootstrap_gives_intervals_and_is_reproducible() {
    let dens = fixture_densities();
    let a = run(&["--bootstrap", "30", "--seed", "5"], &dens);
    let b = run(&["--bootstrap", "30", "--seed", "5"], &dens);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout, "same seed, same bytes");
    for h in records(&a.stdout, "heterogeneity") {
        let se = h["se"].as_f64().unwrap();
        let lo = h["ci90"][0].as_f64().unwrap();
        let hi = h["ci90"][1].as_f64().unwrap();
        assert!(se > 0.0 && lo <= hi, "{h}");
        assert_eq!(h["bootstrap"], 30);
    }
    let c = run(&["--bootstrap", "30", "--seed", "6"], &dens);
    assert_ne!(a.stdout, c.stdout, "the seed matters");
}

#[test]
fn floored_skl_reaches_the_papers_scale() {
    let input =
        [density("m", "a", &[0.0], &[1.0], &[0], 0.003), density("m", "b", &[10.0], &[1.0], &[0], 0.003)].join("\n");
    let o = run(&["--metric", "skl-floored"], &input);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = records(&o.stdout, "distance")[0]["value"].as_f64().unwrap();
    assert!(v > 100.0 && v.is_finite(), "{v}");
}

#[test]
fn csv_and_matrix_formats_hold_the_same_numbers() {
    let dens = fixture_densities();
    let j = run(&[], &dens);
    let c = run(&["--format", "csv"], &dens);
    let m = run(&["--format", "matrix"], &dens);
    assert_eq!(c.code, 0, "{}", c.stderr);
    let jd = records(&j.stdout, "distance");
    let mut r = csv::Reader::from_reader(c.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), jd.len() + 2, "one distance row per pair plus one heterogeneity row per model");
    assert_eq!(rows[0][5].parse::<f64>().unwrap(), jd[0]["value"].as_f64().unwrap());
    // matrix: header row of block names, symmetric, zero diagonal.
    let body: Vec<&str> = m.stdout.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    assert_eq!(body[0], "block block0 block1 block2 block3");
    let row1: Vec<f64> = body[2].split(' ').skip(1).map(|x| x.parse().unwrap()).collect();
    assert_eq!(row1[1], 0.0);
    assert_eq!(row1[0], jd[0]["value"].as_f64().unwrap());
}

#[test]
fn bad_inputs_are_reported_with_their_line() {
    let one = density("m", "a", &[0.0], &[1.0], &[0], 0.1);
    let o = run(&[], &one);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("has 1 block; distances need at least two"), "{}", o.stderr);

    let bad_w = density("m", "b", &[0.0], &[0.5], &[0], 0.1);
    let o = run(&[], &format!("{one}\n{bad_w}\n"));
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("stdin:2: field `weights`: sum to 0.5"), "{}", o.stderr);

    let bad_sigma = density("m", "b", &[0.0], &[1.0], &[0], 0.1).replace("\"sigma\":0.1", "\"sigma\":0.0");
    let o = run(&[], &format!("{one}\n{bad_sigma}\n"));
    assert!(o.stderr.contains("stdin:2: field `sigma`"), "{}", o.stderr);

    let o = run(&[], &format!("{one}\n{{\"type\":\"density\",\"model\":\"m\"}}\n"));
    assert!(o.stderr.contains("stdin:2:") && o.stderr.contains("missing field"), "{}", o.stderr);
    assert!(!o.stdout.contains("\"distance\""));

    let o = run(&[], "");
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no input records"));
    let o = run(&["--metric", "skl-floored", "--floor", "0"], &one);
    assert_eq!(o.code, 2);
    for o in [run(&[], &format!("{one}\n{bad_w}\n")), run(&[], "")] {
        assert!(!o.stderr.contains("panicked"));
    }
}

/// A tridiag record, for pipelines through slq-density.
fn tridiag(model: &str, block: &str, alpha: &[f64], beta: &[f64]) -> String {
    serde_json::json!({
        "type": "tridiag", "model": model, "block": block, "dim": alpha.len(), "probe": 0, "seed": 0, "breakdown": false,
        "alpha": alpha, "beta": beta
    })
    .to_string()
}

fn densities_of(tridiags: &str) -> String {
    testkit::through("slq-density", &[], tridiags)
}

#[test]
fn sigma_far_below_the_nodes_resolution_still_separates_different_spectra() {
    // Nodes near 1e15 are spaced 0.125 apart in f64; sigma is 0.003. The two
    // spectra differ by far more than sigma, so they are disjoint: JS = sqrt(ln 2).
    let input =
        [tridiag("m", "a", &[1e15, 2e15, 3e15], &[5e14, 5e14]), tridiag("m", "b", &[1e15, 2e15, 4e15], &[5e14, 5e14])]
            .join("\n");
    let dens = densities_of(&input);
    let o = run(&[], &dens);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let js = records(&o.stdout, "distance")[0]["value"].as_f64().unwrap();
    assert!((js - std::f64::consts::LN_2.sqrt()).abs() < 1e-12, "js = {js}");
    let o = run(&["--metric", "skl-floored"], &dens);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let skl = records(&o.stdout, "distance")[0]["value"].as_f64().unwrap();
    // Disjoint: 2 (1 - floor) ln(1/floor) up to the floored area, about 138.
    assert!(skl > 130.0, "skl-floored = {skl}");
    // The same spectrum twice is at distance zero in shifted coordinates too.
    let same =
        [tridiag("m", "a", &[1e15, 2e15, 3e15], &[5e14, 5e14]), tridiag("m", "b", &[1e15, 2e15, 3e15], &[5e14, 5e14])]
            .join("\n");
    let o = run(&[], &densities_of(&same));
    assert_eq!(records(&o.stdout, "distance")[0]["value"].as_f64().unwrap(), 0.0);
}

#[test]
fn output_is_byte_identical_for_every_thread_count() {
    let dens = fixture_densities();
    let one = run(&["--threads", "1", "--bootstrap", "7", "--seed", "2"], &dens);
    assert_eq!(one.code, 0, "{}", one.stderr);
    for threads in ["2", "3", "0"] {
        let many = run(&["--threads", threads, "--bootstrap", "7", "--seed", "2"], &dens);
        // Past the run record, which echoes the arguments.
        let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&many.stdout), body(&one.stdout), "--threads {threads}");
    }
}

#[test]
fn oversized_requests_are_refused_before_work() {
    let o = run(&["--threads", "100000"], &fixture_densities());
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--threads"), "{}", o.stderr);
    let o = run(&["--bootstrap", "1000000000"], &fixture_densities());
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("fewer replicates"), "{}", o.stderr);
    assert!(o.stdout.lines().all(|l| !l.contains("\"distance\"")), "no distance written");
}
