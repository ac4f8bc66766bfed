//! gap-study rescue and drift end to end on hand-made records, with answers
//! worked out by hand, and their refusals of mismatched input.

use serde_json::{json, Value};
use testkit::{run, Output};

fn gap_study(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_gap-study"), args, "")
}

fn records(out: &Output) -> Vec<Value> {
    out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn temp(name: &str, lines: &[Value]) -> String {
    let dir = std::env::temp_dir().join(format!("gap-study-mechanism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// nn-train records of one run of `opt` at `lr` from `seed`, final held-out
/// loss `end`; `rule` adds per-block factors to its `run` record; `grid`
/// adds a `best` record.
fn nn_run(opt: &str, lr: f64, seed: u64, end: f64, rule: Option<&str>, grid: bool) -> Vec<Value> {
    let mut run = json!({"type": "run", "tool": "nn-train", "version": "0", "args": ["--init-seed", seed.to_string()]});
    if let Some(r) = rule {
        run["lr_scale"] = json!([{"parameter": "fc1.weight", "block": "fc1.weight", "factor": 3.0}]);
        run["lr_scale_rule"] = json!(r);
    }
    let step = |s: u64, l: f64| {
        json!({"type": "step", "model": "m", "optimizer": opt, "lr": lr, "step": s, "lr_now": lr,
        "train_loss": l, "grad_norm": 1.0, "heldout_loss": l})
    };
    let mut v = vec![run, step(50, end + 1.0), step(100, end)];
    v.push(json!({"type": "summary", "model": "m", "optimizer": opt, "lr": lr, "steps": 100, "epochs": 1.0,
        "batch_size": 8, "weight_decay": 0.0, "final_heldout_loss": end, "final_train_loss": end}));
    if grid {
        v.push(
            json!({"type": "best", "model": "m", "optimizer": opt, "lr": lr, "rule": "r", "final_heldout_loss": end,
            "tried": 3, "diverged": 0, "placement": "interior"}),
        );
    }
    v
}

/// Files of one optimizer: its grid (seed 0) and seeds 1..=3 with final losses `ends`.
fn files(tag: &str, opt: &str, lr: f64, ends: [f64; 3], rule: Option<&str>) -> (String, Vec<String>) {
    let grid = temp(&format!("{tag}-grid.jsonl"), &nn_run(opt, lr, 0, 0.1, rule, true));
    let seeds =
        (1..=3).map(|s| temp(&format!("{tag}-s{s}.jsonl"), &nn_run(opt, lr, s, ends[s as usize - 1], rule, false)));
    (grid, seeds.collect())
}

fn rescue_args(
    sgd: &(String, Vec<String>),
    rescued: &(String, Vec<String>),
    adamw: &(String, Vec<String>),
) -> Vec<String> {
    let mut a: Vec<String> = ["rescue", "--family", "f", "--rule", "curvature"].iter().map(|s| s.to_string()).collect();
    for (flag, (grid, seeds)) in [("sgd", sgd), ("rescued", rescued), ("adamw", adamw)] {
        a.extend([format!("--{flag}"), grid.clone()]);
        for s in seeds {
            a.extend([format!("--{flag}-seed"), s.clone()]);
        }
    }
    a
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn the_share_closed_pairs_seeds_and_has_fiellers_interval() {
    // Seeds 1-3: plain SGD 1.0, 1.2, 1.1; rescued 0.6, 0.9, 0.6; AdamW 0.5, 0.6, 0.4.
    let sgd = files("sgd", "sgd", 0.1, [1.0, 1.2, 1.1], None);
    let rescued = files("cur", "sgd", 0.01, [0.6, 0.9, 0.6], Some("curvature"));
    let adamw = files("adamw", "adamw", 0.001, [0.5, 0.6, 0.4], None);
    let args = rescue_args(&sgd, &rescued, &adamw);
    let out = gap_study(&strs(&args)).ok();
    let r = &records(&out)[1];
    assert_eq!(r["type"], "rescue");
    assert_eq!(
        (r["rule"].as_str(), r["rule_lr"].as_f64(), r["seeds"].clone()),
        (Some("curvature"), Some(0.01), json!([1, 2, 3]))
    );
    // closed (0.4, 0.3, 0.5), gap (0.5, 0.6, 0.7): 0.4 / 0.6.
    let close = |k: &str, want: f64| assert!((r[k].as_f64().unwrap() - want).abs() < 1e-12, "{k}: {r}");
    close("closed", 0.4);
    close("gap_plain", 0.6);
    close("gap_rule", 0.2);
    close("fraction", 2.0 / 3.0);
    // Fieller by hand (predictors::rates's test): [0.4223586, 0.9395462].
    let ci = &r["fraction_ci90"];
    assert!(
        (ci[0].as_f64().unwrap() - 0.4223586).abs() < 1e-6 && (ci[1].as_f64().unwrap() - 0.9395462).abs() < 1e-6,
        "{ci}"
    );
    // closed's t interval: sd 0.1, half 2.919986 * 0.1 / sqrt(3).
    let half = 2.919986 * 0.1 / 3f64.sqrt();
    assert!((r["closed_ci90"][0].as_f64().unwrap() - (0.4 - half)).abs() < 1e-9);
    assert_eq!(r["interior"], true);
    // Same input, same bytes (but the run record's args are the same too).
    assert_eq!(gap_study(&strs(&args)).ok().stdout, out.stdout);

    // A plain gap whose interval spans 0: the share's interval is unbounded (null).
    let wide = files("wide", "adamw", 0.001, [0.5, 1.5, 1.0], None);
    let out = gap_study(&strs(&rescue_args(&sgd, &rescued, &wide))).ok();
    assert!(records(&out)[1]["fraction_ci90"].is_null(), "{}", out.stdout);
}

#[test]
fn a_diverged_rule_seed_is_recorded_and_leaves_no_share() {
    let sgd = files("dsgd", "sgd", 0.1, [1.0, 1.2, 1.1], None);
    let adamw = files("dadamw", "adamw", 0.001, [0.5, 0.6, 0.4], None);
    let mut rescued = files("dcur", "sgd", 0.01, [0.6, 0.9, 0.6], Some("curvature"));
    // Seed 2 diverged at update 37: its summary says so and has no final loss.
    let mut v = nn_run("sgd", 0.01, 2, 0.9, Some("curvature"), false);
    v.truncate(2);
    // (Its summary counts the 36 updates it completed.)
    v.push(json!({"type": "summary", "model": "m", "optimizer": "sgd", "lr": 0.01, "steps": 36, "epochs": 0.4,
        "batch_size": 8, "weight_decay": 0.0, "diverged_at": 37}));
    rescued.1[1] = temp("dcur-s2-diverged.jsonl", &v);
    let out = gap_study(&strs(&rescue_args(&sgd, &rescued, &adamw))).ok();
    let r = &records(&out)[1];
    assert_eq!(r["rule_diverged"], json!([{"seed": 2, "at": 37}]), "{r}");
    assert_eq!(r["rule_losses"], json!([0.6, null, 0.6]), "{r}");
    for k in ["gap_rule", "gap_rule_ci90", "closed", "closed_ci90", "fraction", "fraction_ci90"] {
        assert!(r[k].is_null(), "{k}: {r}");
    }
    // Plain SGD's gap is still measured: (0.5, 0.6, 0.7).
    assert!((r["gap_plain"].as_f64().unwrap() - 0.6).abs() < 1e-12, "{r}");
    // Plain SGD or AdamW diverging at their best rate is still refused.
    let mut plain = nn_run("sgd", 0.1, 1, 1.0, None, false);
    plain.truncate(2);
    plain.push(json!({"type": "summary", "model": "m", "optimizer": "sgd", "lr": 0.1, "steps": 100, "epochs": 1.0,
        "batch_size": 8, "weight_decay": 0.0, "diverged_at": 37}));
    let mut bad = sgd.clone();
    bad.1[0] = temp("dsgd-s1-diverged.jsonl", &plain);
    gap_study(&strs(&rescue_args(&bad, &rescued, &adamw))).fails_with(1, &["diverged at update 37"]);
    // Without divergence the record has no `rule_diverged` field at all.
    let ok =
        gap_study(&strs(&rescue_args(&sgd, &files("dcur2", "sgd", 0.01, [0.6, 0.9, 0.6], Some("curvature")), &adamw)))
            .ok();
    assert!(records(&ok)[1].get("rule_diverged").is_none(), "{}", ok.stdout);
}

#[test]
fn rescue_refuses_swapped_or_mismatched_runs() {
    let sgd = files("r-sgd", "sgd", 0.1, [1.0, 1.2, 1.1], None);
    let rescued = files("r-cur", "sgd", 0.01, [0.6, 0.9, 0.6], Some("curvature"));
    let gradient = files("r-grad", "sgd", 0.01, [0.6, 0.9, 0.6], Some("gradient"));
    let adamw = files("r-adamw", "adamw", 0.001, [0.5, 0.6, 0.4], None);
    // Plain runs given as rescued, rescued runs as plain, another rule's runs.
    gap_study(&strs(&rescue_args(&sgd, &sgd, &adamw)))
        .fails_with(1, &["r-sgd-grid.jsonl", "one learning rate", "`curvature`"]);
    gap_study(&strs(&rescue_args(&rescued, &rescued, &adamw)))
        .fails_with(1, &["r-cur-grid.jsonl", "expected one learning rate"]);
    gap_study(&strs(&rescue_args(&sgd, &gradient, &adamw))).fails_with(1, &["per-block rates by `gradient`"]);
    // Rescued seeds with other factors than their grid.
    let mut odd = nn_run("sgd", 0.01, 2, 0.9, Some("curvature"), false);
    odd[0]["lr_scale"][0]["factor"] = json!(5.0);
    let odd = (rescued.0.clone(), vec![rescued.1[0].clone(), temp("odd.jsonl", &odd), rescued.1[2].clone()]);
    gap_study(&strs(&rescue_args(&sgd, &odd, &adamw))).fails_with(1, &["odd.jsonl", "factors differ"]);
    // Seeds that do not pair.
    let two = (rescued.0.clone(), rescued.1[..2].to_vec());
    gap_study(&strs(&rescue_args(&sgd, &two, &adamw))).fails_with(1, &["seeds [1, 2, 3]", "[1, 2]"]);
    // A rule other than the two.
    let mut args = rescue_args(&sgd, &rescued, &adamw);
    args[4] = "hessian".into();
    gap_study(&strs(&args)).fails_with(2, &["--rule", "`hessian`"]);
}

fn density(block: &str, lambda_max: f64) -> Value {
    json!({"type": "density", "model": "m", "block": block, "dim": 4, "probes": 1, "nodes": [lambda_max],
           "weights": [1.0], "node_probe": [0], "axis": "linear", "scale": 1.0, "sigma": 0.1,
           "sigma_mode": "absolute", "grid": [0.0], "density": [1.0], "lambda_min": 0.0,
           "lambda_max": lambda_max, "trace": lambda_max})
}

fn gradient(block: &str, norm: f64, dim: u64) -> Value {
    json!({"type": "gradient", "model": "m", "block": block, "dim": dim, "norm": norm, "weights": [1.0], "gram": [norm * norm]})
}

#[test]
fn drift_of_both_rules_by_hand() {
    // Initialization: lambda_max (4, 10, 0.5) -> factors (2.5, 1, 20); RMS
    // gradients 6/3 = 2 and 1/1 = 1 (dims 9 and 1) -> factors (1, 2).
    let init = temp(
        "init.jsonl",
        &[density("a", 4.0), density("b", 10.0), density("c", 0.5), gradient("a", 6.0, 9), gradient("b", 1.0, 1)],
    );
    // Later: lambda_max (1, 10, 5) -> factors (10, 1, 2): ratios 4, 1, 0.1;
    // |log10| 0.602, 0, 1: max 1 at c, median 0.602. Ranks of (2.5, 1, 20)
    // are (2, 1, 3), of (10, 1, 2) (3, 1, 2): rho = 1 - 6 (1 + 0 + 1) / 24 = 0.5.
    // Gradients 3/3 = 1 and 4/1 = 4 -> factors (4, 1): ratios 4, 0.5.
    let later = temp(
        "later.jsonl",
        &[density("c", 5.0), density("a", 1.0), density("b", 10.0), gradient("b", 4.0, 1), gradient("a", 3.0, 9)],
    );
    let at = format!("0.25={later}");
    let out = gap_study(&["drift", "--label", "cfg", "--initial", &init, "--at", &at]).ok();
    let recs = records(&out);
    assert_eq!(recs.len(), 3, "{}", out.stdout);
    let c = &recs[1];
    assert_eq!(
        (c["type"].as_str(), c["rule"].as_str(), c["model"].as_str()),
        (Some("drift"), Some("curvature"), Some("cfg"))
    );
    assert_eq!(c["blocks"], json!(["a", "b", "c"]));
    assert_eq!(c["initial"], json!([2.5, 1.0, 20.0]));
    assert_eq!(c["later"], json!([10.0, 1.0, 2.0]));
    assert!((c["max_abs_log10"].as_f64().unwrap() - 1.0).abs() < 1e-12 && c["max_block"] == "c");
    assert!((c["median_abs_log10"].as_f64().unwrap() - 4f64.log10()).abs() < 1e-12);
    assert!((c["spearman"].as_f64().unwrap() - 0.5).abs() < 1e-12);
    let g = &recs[2];
    assert_eq!(
        (g["rule"].as_str(), g["initial"].clone(), g["later"].clone()),
        (Some("gradient"), json!([1.0, 2.0]), json!([4.0, 1.0]))
    );
    assert!((g["max_abs_log10"].as_f64().unwrap() - 4f64.log10()).abs() < 1e-12 && g["max_block"] == "a");
    // Two blocks in reversed order: rho -1.
    assert!((g["spearman"].as_f64().unwrap() + 1.0).abs() < 1e-12);
}

#[test]
fn drift_refuses_other_blocks_models_and_fractions() {
    let init = temp("d-init.jsonl", &[density("a", 4.0), density("b", 10.0)]);
    let other = temp("d-other.jsonl", &[density("a", 4.0), density("z", 10.0)]);
    let fewer = temp("d-fewer.jsonl", &[density("a", 4.0)]);
    let of_n = |b: &str| {
        let mut d = density(b, 1.0);
        d["model"] = json!("n");
        d
    };
    let model = temp("d-model.jsonl", &[of_n("a"), of_n("b")]);
    let mixed = temp("d-mixed.jsonl", &[of_n("a"), density("b", 1.0)]);
    let zero = temp("d-zero.jsonl", &[density("a", 0.0), density("b", 1.0)]);
    let run = |at: &str| gap_study(&["drift", "--initial", &init, "--at", at]);
    run(&format!("0.5={other}")).fails_with(1, &["d-other.jsonl", "no `density` record of block `b`"]);
    run(&format!("0.5={fewer}")).fails_with(1, &["d-fewer.jsonl", "1 blocks", "has 2"]);
    run(&format!("0.5={model}")).fails_with(1, &["d-model.jsonl", "blocks of `n`", "are of `m`"]);
    run(&format!("0.5={mixed}")).fails_with(1, &["d-mixed.jsonl:2", "model `m`, earlier records are of `n`"]);
    run(&format!("0.5={zero}")).fails_with(1, &["d-zero.jsonl", "block `a`", "positive and finite"]);
    run(&format!("1.5={other}")).fails_with(2, &["[0, 1]"]);
    run("0.5").fails_with(2, &["FRACTION=FILE"]);
    let empty = temp("d-empty.jsonl", &[]);
    gap_study(&["drift", "--initial", &empty, "--at", &format!("0.5={init}")])
        .fails_with(1, &["no `density` or `gradient` records"]);
}
