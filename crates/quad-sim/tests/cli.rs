//! quad-sim as a process: reproducibility, records, and errors.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_quad-sim");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/quad/synthetic-4blocks.density.jsonl");

fn quad_sim(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("quad-sim runs")
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The same arguments and seed give byte-identical output; another seed does not.
#[test]
fn same_seed_same_bytes() {
    let args = ["--case", "3", "--iters", "300", "--every", "7", "--seed", "11"];
    let a = quad_sim(&args);
    let b = quad_sim(&args);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let c = quad_sim(&["--case", "3", "--iters", "300", "--every", "7", "--seed", "12"]);
    assert_ne!(a.stdout, c.stdout);
    let s1 = quad_sim(&["--spectra", FIXTURE, "--iters", "50", "--seed", "5", "--optimizer", "gd"]);
    let s2 = quad_sim(&["--spectra", FIXTURE, "--iters", "50", "--seed", "5", "--optimizer", "gd"]);
    assert!(s1.status.success(), "{}", String::from_utf8_lossy(&s1.stderr));
    assert_eq!(s1.stdout, s2.stdout);
}

/// Output starts with run and problem records; iterates are thinned by --every
/// and always include t = 0 and the last step.
#[test]
fn records_and_thinning() {
    let o = quad_sim(&["--case", "4", "--iters", "100", "--every", "30", "--optimizer", "gd", "--emit-spectra"]);
    assert!(o.status.success());
    let r = lines(&o);
    assert_eq!(r[0]["type"], "run");
    assert_eq!(r[1]["type"], "problem");
    assert_eq!(r[1]["kappa"], 2000.0);
    assert_eq!(r[2]["type"], "spectrum");
    assert_eq!(r[2]["eigenvalues"], serde_json::json!([1.0, 99.0, 1998.0]));
    let ts: Vec<u64> = r.iter().filter(|x| x["type"] == "iterate").map(|x| x["t"].as_u64().unwrap()).collect();
    assert_eq!(ts, vec![0, 30, 60, 90, 100]);
    for rec in &r {
        let parsed: records::Record = serde_json::from_value(rec.clone()).expect("every line is a known record");
        let _ = parsed;
    }
}

/// Sampling from density records: L blocks of --block-dim each, eigenvalues in [1, kappa]
/// with condition number exactly kappa.
#[test]
fn spectra_file_sampling() {
    let o = quad_sim(&[
        "--spectra",
        FIXTURE,
        "--spectra-block",
        "wide",
        "--spectra-block",
        "synthetic/flat",
        "--block-dim",
        "20",
        "--kappa",
        "5000",
        "--iters",
        "0",
        "--emit-spectra",
        "--optimizer",
        "gd",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = lines(&o);
    let p = &r[1];
    assert_eq!(p["case"], "custom");
    assert_eq!(p["dim"], 40);
    assert_eq!(p["lambda_min"], 1.0);
    assert_eq!(p["lambda_max"], 5000.0);
    let spectra: Vec<&serde_json::Value> = r.iter().filter(|x| x["type"] == "spectrum").collect();
    assert_eq!(spectra.len(), 2);
    assert_eq!(spectra[0]["block"], "synthetic/wide");
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Bad flags are usage errors (exit 2) with a message naming the problem.
#[test]
fn bad_flags() {
    for (args, needle) in [
        (vec!["--case", "3", "--kappa=0.5"], "--kappa"),
        (vec!["--case", "3", "--optimizer", "lbfgs"], "unknown optimizer"),
        (vec!["--case", "3", "--optimizer", "adam=abc"], "not a positive step"),
        (vec!["--case", "3", "--every", "0"], "--every"),
        (vec!["--case", "3", "--kappa", "50"], "too small"),
        (vec![], "--case"),
        (vec!["--case", "7"], "7"),
        (vec!["--case", "3", "--tune-by", "loss"], "--tune-by"),
        (vec!["--case", "3", "--lr-log-grid", "1e-3:1"], "LO:HI:N"),
        (vec!["--case", "3", "--lr-log-grid", "1:1e-3:4"], "--lr-log-grid"),
    ] {
        let o = quad_sim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty() || !args.is_empty());
    }
}

/// Case 1 without --spectra samples from the shipped gpt2-small densities,
/// scaled so that H has condition number exactly kappa.
#[test]
fn cases_1_and_2_default_to_the_shipped_spectra() {
    for (case, file) in [("1", "case1-gpt2-small.density.jsonl"), ("2", "case2-resnet18-narrow.density.jsonl")] {
        check_default_spectra(case, file);
    }
}

fn check_default_spectra(case: &str, file: &str) {
    let o = quad_sim(&["--case", case, "--iters", "0", "--optimizer", "gd"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let problem: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "problem")
        .expect("a problem record");
    assert_eq!(problem["blocks"].as_array().unwrap().len(), 4);
    let (lo, hi) = (problem["lambda_min"].as_f64().unwrap(), problem["lambda_max"].as_f64().unwrap());
    assert!((hi / lo - 2000.0).abs() < 1e-9, "condition number {}", hi / lo);
    assert!(text.contains(file), "the source names the file");
}

/// Malformed spectra files are input errors (exit 1) naming the line and field.
#[test]
fn malformed_spectra() {
    let dir = std::env::temp_dir().join(format!("quad-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(FIXTURE).unwrap();
    let second = good.lines().nth(1).unwrap();
    let cases = [
        (
            "weights.jsonl",
            second.replace("\"weights\":[0.3,0.3,0.2,0.1,0.07,0.03]", "\"weights\":[0.3,0.3,0.2,0.1,0.07,0.5]"),
            "weights",
        ),
        ("short.jsonl", second.replace("\"weights\":[0.3,0.3,0.2,0.1,0.07,0.03]", "\"weights\":[0.5,0.5]"), "weights"),
        ("type.jsonl", second.replace("\"nodes\":[", "\"nodes\":[\"x\","), "nodes"),
        ("json.jsonl", "{not json".to_string(), "malformed JSON"),
    ];
    for (name, text, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, format!("{text}\n")).unwrap();
        let o = quad_sim(&["--spectra", path.to_str().unwrap(), "--iters", "0"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(":1:"), "{name}: names the line: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{name}: {}", stderr(&o));
    }
    let missing = quad_sim(&["--spectra", FIXTURE, "--spectra-block", "nope", "--iters", "0"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("synthetic/wide"), "lists what is there: {}", stderr(&missing));
    std::fs::remove_dir_all(&dir).ok();
}

/// --lr-log-grid with --tune-by grad-norm: every grid point (and GD's theory
/// step 2/(mu+L)) is a `tune` record, and the chosen one has the smallest
/// final gradient norm of the runs that did not diverge.
#[test]
fn log_grid_tuned_by_grad_norm() {
    let o = quad_sim(&[
        "--case",
        "4",
        "--iters",
        "100",
        "--stop-rel",
        "0",
        "--optimizer",
        "gd=grid",
        "--lr-log-grid",
        "1e-5:1e-3:2",
        "--tune-by",
        "grad-norm",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = lines(&o);
    let tunes: Vec<&serde_json::Value> = r.iter().filter(|x| x["type"] == "tune").collect();
    let lrs: Vec<f64> = tunes.iter().map(|t| t["lr"].as_f64().unwrap()).collect();
    let want = [1e-5, 10f64.powf(-4.5), 1e-4, 10f64.powf(-3.5), 2.0 / 2001.0, 1e-3];
    assert_eq!(lrs.len(), want.len(), "{lrs:?}");
    for (x, w) in lrs.iter().zip(want) {
        assert!((x - w).abs() <= 1e-15 * w, "{lrs:?}");
    }
    let norm = |t: &serde_json::Value| t["final_grad_norm"].as_f64().unwrap();
    let best = tunes.iter().filter(|t| t["stopped"] != "diverged").map(|t| norm(t)).fold(f64::INFINITY, f64::min);
    let chosen: Vec<&&serde_json::Value> = tunes.iter().filter(|t| t["chosen"] == true).collect();
    assert_eq!(chosen.len(), 1);
    assert_eq!(norm(chosen[0]), best);
    let last = r.iter().rfind(|x| x["type"] == "iterate").unwrap();
    assert_eq!(last["lr"], chosen[0]["lr"]);
    assert_eq!(last["grad_norm"].as_f64().unwrap(), best, "the chosen step is run again, identically");
}

/// The default rotation (haar) gives the output quad-sim gave before
/// --rotation existed: byte for byte after the `run` record, on Cases 3 and 4
/// and a problem sampled from a spectra file (its path written `FIXTURE`),
/// with every optimizer kind, a tuned step and spectra.
#[test]
fn default_output_is_pinned() {
    let common =
        ["--iters", "60", "--every", "20", "--emit-spectra", "--tune-by", "grad-norm", "--lr-log-grid", "1e-3:1:2"];
    let optimizers =
        ["--optimizer", "gd", "--optimizer", "bgd=grid", "--optimizer", "adam=grid", "--optimizer", "adam-frozen"];
    let golden = |name: &str| {
        std::fs::read_to_string(format!("{}/../../testdata/quad/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    let after_run = |o: &Output| {
        assert!(o.status.success(), "{}", stderr(o));
        let text = String::from_utf8(o.stdout.clone()).unwrap();
        text.split_once('\n').unwrap().1.replace(FIXTURE, "FIXTURE")
    };
    for (source, file) in [
        (vec!["--case", "3"], "case3-haar.golden.jsonl"),
        (vec!["--case", "4"], "case4-haar.golden.jsonl"),
        (vec!["--spectra", FIXTURE, "--block-dim", "6", "--seed", "3"], "synthetic-haar.golden.jsonl"),
    ] {
        let args: Vec<&str> = source.iter().chain(&common).chain(&optimizers).copied().collect();
        let want = golden(file);
        assert_eq!(after_run(&quad_sim(&args)), want, "{file}");
        let explicit: Vec<&str> = args.iter().copied().chain(["--rotation", "haar"]).collect();
        assert_eq!(after_run(&quad_sim(&explicit)), want, "{file} with --rotation haar");
    }
}

/// --rotation none: the same block spectra and start point, diagonal blocks,
/// `rotation: none` and its own problem id in every record; a bad value is a
/// usage error.
#[test]
fn rotation_none() {
    let args = ["--case", "3", "--iters", "20", "--emit-spectra", "--optimizer", "gd", "--optimizer", "adam=0.1"];
    let haar = lines(&quad_sim(&args));
    let none_out = quad_sim(&[&args[..], &["--rotation", "none"]].concat());
    assert!(none_out.status.success(), "{}", stderr(&none_out));
    let none = lines(&none_out);
    assert_eq!((haar[1]["rotation"].as_str(), none[1]["rotation"].as_str()), (Some("haar-qr"), Some("none")));
    assert_eq!(none[1]["problem"], "case3-seed0-rotation-none");
    for rec in &none[2..] {
        assert_eq!(rec["problem"], "case3-seed0-rotation-none", "{rec}");
    }
    let spectra = |r: &[serde_json::Value]| -> Vec<serde_json::Value> {
        r.iter().filter(|x| x["type"] == "spectrum").map(|x| x["eigenvalues"].clone()).collect()
    };
    assert_eq!(spectra(&haar), spectra(&none));
    // Per block, lambda_min / lambda_max and kappa are the spectrum's.
    for (a, b) in haar[1]["blocks"].as_array().unwrap().iter().zip(none[1]["blocks"].as_array().unwrap()) {
        for field in ["lambda_min", "lambda_max", "kappa", "dim"] {
            assert_eq!(a[field], b[field], "{field}");
        }
    }
    // The start point is shared, H is not: the first gradients differ.
    assert_ne!(haar[1]["grad0_norm"], none[1]["grad0_norm"]);
    let bad = quad_sim(&["--case", "3", "--rotation", "diagonal"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("haar, none"), "{}", stderr(&bad));
}
