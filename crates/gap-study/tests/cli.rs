//! gap-study end to end on hand-made records with answers worked out by hand:
//! the predictors of two blocks, the gap of two seeds, and the association
//! of a predictor with gaps that it orders perfectly.

use serde_json::{json, Value};
use testkit::{run, Output};

fn gap_study(args: &[&str], stdin: &str) -> Output {
    run(env!("CARGO_BIN_EXE_gap-study"), args, stdin)
}

fn records(out: &Output) -> Vec<Value> {
    out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn temp(name: &str, lines: &[Value]) -> String {
    let dir = std::env::temp_dir().join(format!("gap-study-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A density record whose probes have the given ascending Ritz values.
fn density(block: &str, probes: &[&[f64]]) -> Value {
    let nodes: Vec<f64> = probes.iter().flat_map(|p| p.iter().copied()).collect();
    let node_probe: Vec<u32> = probes.iter().enumerate().flat_map(|(i, p)| vec![i as u32; p.len()]).collect();
    let w = 1.0 / nodes.len() as f64;
    json!({"type": "density", "model": "m", "block": block, "dim": 100, "probes": probes.len(), "nodes": nodes,
           "weights": vec![w; node_probe.len()], "node_probe": node_probe, "axis": "linear", "scale": 1.0,
           "sigma": 0.1, "sigma_mode": "absolute", "grid": [0.0], "density": [1.0], "lambda_min": 0.0,
           "lambda_max": 1.0, "trace": 1.0})
}

fn predictor(recs: &[Value], name: &str) -> f64 {
    recs.iter().find(|r| r["predictor"] == name).unwrap_or_else(|| panic!("no {name}: {recs:?}"))["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn predictors_of_two_blocks_have_their_closed_forms() {
    // Block a: top 1000 in every probe, 2nd largest 100; block b: top 10, 2nd 1.
    let a = density("a", &[&[-5.0, 100.0, 1000.0], &[-4.0, 100.0, 1000.0]]);
    let b = density("b", &[&[-1.0, 1.0, 10.0], &[-2.0, 1.0, 10.0]]);
    // Gradients: one part each, norms 0.1 and 10 (2 decades).
    let ga = json!({"type": "gradient", "model": "m", "block": "a", "dim": 100, "norm": 0.1, "weights": [1.0], "gram": [0.01]});
    let gb = json!({"type": "gradient", "model": "m", "block": "b", "dim": 100, "norm": 10.0, "weights": [1.0], "gram": [100.0]});
    let classes = json!({"type": "classes", "model": "m", "counts": [8, 0, 4, 2, 1]});
    let file = temp("pred.jsonl", &[a, b, ga, gb, classes]);
    let out = gap_study(&["predictors", "--label", "m", "--rank", "2", "--bootstrap", "20", &file], "").ok();
    let recs = records(&out);
    assert_eq!(recs[0]["type"], "run");
    // log10(1000 / 10) = 2; sd of log10 (3, 1) = sqrt(2).
    assert!((predictor(&recs, "curvature-range") - 2.0).abs() < 1e-12);
    assert!((predictor(&recs, "curvature-sd") - 2f64.sqrt()).abs() < 1e-12);
    // kappa_a = kappa_b = 10, the whole 1000 / 1: 3 - 1 = 2 decades.
    assert!((predictor(&recs, "one-rate-price") - 2.0).abs() < 1e-12);
    assert!((predictor(&recs, "gradient-spread") - 2.0).abs() < 1e-12);
    assert!((predictor(&recs, "class-tail") - 3.0 / 15.0).abs() < 1e-15);
    // Identical probes: every resample gives the same spectral values.
    let r = recs.iter().find(|r| r["predictor"] == "curvature-range").unwrap();
    assert_eq!(r["ci90"][0], r["ci90"][1]);
    assert_eq!(r["resampled"], "probes");
    // Same seed, same bytes.
    let again = gap_study(&["predictors", "--label", "m", "--rank", "2", "--bootstrap", "20", &file], "").ok();
    assert_eq!(out.stdout, again.stdout);
    // A rank beyond the Ritz values is refused with the block named.
    gap_study(&["predictors", "--label", "m", "--rank", "4", &file], "").fails_with(1, &["block `a`", "rank 4"]);
    // Records of another configuration are refused.
    gap_study(&["predictors", "--label", "other", &file], "").fails_with(1, &["not of --label `other`"]);
    // The same block twice would count twice: refused.
    let twice = temp("twice.jsonl", &[density("a", &[&[1.0, 2.0]]), density("a", &[&[1.0, 2.0]])]);
    gap_study(&["predictors", "--label", "m", &twice], "").fails_with(1, &[":2: a second density of block `a`"]);
}

/// nn-train records of one run of `opt` at `lr` with weights from `seed`:
/// held-out losses at 50 and 100.
fn nn_run(opt: &str, lr: f64, seed: u64, mid: f64, end: f64, grid: Option<&[f64]>) -> Vec<Value> {
    let step = |s: u64, l: f64| {
        json!({"type": "step", "model": "m", "optimizer": opt, "lr": lr, "step": s, "epoch": 0,
        "lr_now": lr, "train_loss": l, "grad_norm": 1.0, "heldout_loss": l})
    };
    let mut v =
        vec![json!({"type": "run", "tool": "nn-train", "version": "0", "args": ["--init-seed", seed.to_string()]})];
    v.extend([step(50, mid), step(100, end)]);
    v.push(json!({"type": "summary", "model": "m", "optimizer": opt, "lr": lr, "steps": 100, "epochs": 1.0,
        "batch_size": 8, "weight_decay": 0.0, "final_heldout_loss": end, "final_train_loss": end}));
    if let Some(g) = grid {
        v.push(
            json!({"type": "best", "model": "m", "optimizer": opt, "lr": lr, "rule": "r", "final_heldout_loss": end,
            "tried": g.len(), "diverged": 0, "placement": "interior"}),
        );
    }
    v
}

#[test]
fn the_gap_pairs_seeds_leaves_the_grid_out_and_says_whether_adamw_flattened() {
    let grid = [0.01, 0.1, 1.0];
    // SGD's grid (seed 0): a losing rate, then the best (0.1), whose own run
    // (0.2 at the end, luckier than the seeds) is not part of the gap.
    let mut sgd = nn_run("sgd", 1.0, 0, 3.0, 3.0, None);
    sgd.extend(nn_run("sgd", 0.1, 0, 2.0, 0.2, Some(&grid)));
    let (s1, s2) = (nn_run("sgd", 0.1, 1, 2.0, 1.5, None), nn_run("sgd", 0.1, 2, 2.1, 1.7, None));
    // AdamW: 1.0 at T/2 and 1.0 at T (seed 1), 1.0 and 1.1 (seed 2).
    let adamw = nn_run("adamw", 0.001, 0, 1.0, 0.9, Some(&[0.0001, 0.001, 0.01]));
    let (a1, a2) = (nn_run("adamw", 0.001, 1, 1.0, 1.0, None), nn_run("adamw", 0.001, 2, 1.0, 1.1, None));
    let f = |n: &str, v: &[Value]| temp(n, v);
    let (s, s1, s2, a, a1, a2) = (
        f("s.jsonl", &sgd),
        f("s1.jsonl", &s1),
        f("s2.jsonl", &s2),
        f("a.jsonl", &adamw),
        f("a1.jsonl", &a1),
        f("a2.jsonl", &a2),
    );
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["gap", "--family", "f", "--tolerance", "0.1", "--sgd", &s, "--adamw", &a]
            .iter()
            .map(|x| x.to_string())
            .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let run_with = |extra: &[&str]| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        gap_study(&a, "")
    };
    let out = run_with(&["--sgd-seed", &s1, "--sgd-seed", &s2, "--adamw-seed", &a1, "--adamw-seed", &a2]).ok();
    let g = &records(&out)[1];
    assert_eq!(g["type"], "gap");
    assert_eq!((g["sgd_lr"].as_f64(), g["adamw_lr"].as_f64()), (Some(0.1), Some(0.001)));
    assert_eq!(g["seeds"], json!([1, 2]));
    // Differences 0.5 and 0.6: mean 0.55, sd 0.0707..., t(1) = 6.313752.
    assert!((g["gap"].as_f64().unwrap() - 0.55).abs() < 1e-12);
    let half = 6.313752 * (0.005f64).sqrt() / 2f64.sqrt();
    assert!((g["ci90"][1].as_f64().unwrap() - (0.55 + half)).abs() < 1e-9);
    // AdamW's mean: 1.0 at T/2, 1.05 at T: 5% change, within 10%.
    assert_eq!(g["flattened"], true);
    assert!(g["steps_ratio"].is_null(), "SGD never reaches 1.0");
    assert_eq!(g["sgd_reached"], false);
    assert_eq!(g["interior"], true);
    // One seed file is not enough; a seed file with the grid's seed, or
    // SGD's seeds different from AdamW's, are refused.
    run_with(&["--sgd-seed", &s1, "--adamw-seed", &a1]).fails_with(2, &["at least two"]);
    let s0 = f("s0.jsonl", &nn_run("sgd", 0.1, 0, 2.0, 1.5, None));
    run_with(&["--sgd-seed", &s0, "--sgd-seed", &s2, "--adamw-seed", &a1, "--adamw-seed", &a2])
        .fails_with(1, &["--init-seed 0 is already used"]);
    run_with(&["--sgd-seed", &s1, "--sgd-seed", &s2, "--adamw-seed", &a1, "--adamw-seed", &a1])
        .fails_with(1, &["--init-seed 1 is already used"]);
    // An AdamW run given as SGD's seed is refused.
    run_with(&["--sgd-seed", &s1, "--sgd-seed", &a2, "--adamw-seed", &a1, "--adamw-seed", &a2])
        .fails_with(1, &["no `summary` record of a sgd run"]);
}

#[test]
fn association_of_a_perfect_ranking() {
    let mut lines = Vec::new();
    for (i, (m, fam)) in [("a", "x"), ("b", "x"), ("c", "y"), ("d", "y"), ("e", "z")].iter().enumerate() {
        let v = i as f64;
        lines.push(json!({"type": "predictor", "model": m, "predictor": "p", "value": v, "ci90": [v, v]}));
        lines.push(json!({"type": "predictor", "model": m, "predictor": "q", "value": -v * v}));
        lines.push(json!({"type": "gap", "model": m, "family": fam, "batch_size": 8, "steps": 100, "sgd_lr": 0.1,
            "adamw_lr": 0.001, "seeds": [1, 2], "sgd_losses": [1.0], "adamw_losses": [1.0], "gap": 10.0 * v, "ci90": [0.0, 1.0],
            "steps_ratio": null, "sgd_reached": false, "flattened": true, "flatten_change": 0.0, "interior": true}));
    }
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    let out = gap_study(&["associate", "--bootstrap", "50"], &text).ok();
    let recs = records(&out);
    let p = recs.iter().find(|r| r["predictor"] == "p").unwrap();
    let q = recs.iter().find(|r| r["predictor"] == "q").unwrap();
    assert_eq!((p["spearman"].as_f64(), p["kendall"].as_f64(), p["n"].as_u64()), (Some(1.0), Some(1.0), Some(5)));
    assert_eq!((q["spearman"].as_f64(), q["kendall"].as_f64()), (Some(-1.0), Some(-1.0)));
    // Families x and y have one pair each, both ordered right.
    assert_eq!((p["lofo_concordance"].as_f64(), p["lofo_pairs"].as_u64()), (Some(1.0), Some(2)));
    // SGD never reached AdamW's loss anywhere: every target infinite, all tied, rho undefined.
    let out = gap_study(&["associate", "--target", "steps-ratio", "--bootstrap", "20"], &text).ok();
    let p = records(&out).into_iter().find(|r| r["predictor"] == "p").unwrap();
    assert!(p["spearman"].is_null() && p["spearman_ci90"].is_null(), "{p}");
    assert_eq!((p["never"].as_u64(), p["replicates"].as_u64()), (Some(5), Some(0)));
    // A predictor given twice for one configuration is refused, naming the line.
    let twice = format!("{text}{}\n", lines[0]);
    gap_study(&["associate"], &twice).fails_with(1, &["stdin:16", "a second `p` predictor of `a`"]);
}

#[test]
fn log_ratio_takes_out_each_task_scale() {
    // AdamW's loss grows tenfold from one configuration to the next while
    // SGD's relative deficit shrinks: the differences rise with the
    // predictor, the log ratios fall.
    let mut lines = Vec::new();
    for (i, (m, fam)) in [("a", "x"), ("b", "x"), ("c", "y"), ("d", "y"), ("e", "z")].iter().enumerate() {
        let adamw = 10f64.powi(i as i32);
        let sgd = adamw * (1.0 + 0.1 * (5 - i) as f64);
        lines.push(json!({"type": "predictor", "model": m, "predictor": "p", "value": i as f64}));
        lines.push(json!({"type": "gap", "model": m, "family": fam, "batch_size": 8, "steps": 100, "sgd_lr": 0.1,
            "adamw_lr": 0.001, "seeds": [1, 2], "sgd_losses": [sgd, sgd], "adamw_losses": [adamw, adamw],
            "gap": sgd - adamw, "ci90": [0.0, 1.0], "steps_ratio": 2.0, "sgd_reached": true, "flattened": true,
            "flatten_change": 0.0, "interior": true}));
    }
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    let rho = |target: &str| {
        let out = gap_study(&["associate", "--target", target, "--bootstrap", "20"], &text).ok();
        records(&out).into_iter().find(|r| r["predictor"] == "p").unwrap()["spearman"].as_f64()
    };
    assert_eq!((rho("gap"), rho("log-ratio")), (Some(1.0), Some(-1.0)));
    // A loss of zero has no log: refused, naming the configuration.
    let zero = text.replacen("\"sgd_losses\":[1.5,1.5]", "\"sgd_losses\":[0.0,1.5]", 1);
    assert_ne!(zero, text);
    gap_study(&["associate", "--target", "log-ratio"], &zero).fails_with(1, &["`gap` record of `a`", "positive"]);
}
