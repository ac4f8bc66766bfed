//! Per-parameter learning rates end to end: the factors reach the update
//! (checkpoints compared tensor by tensor with runs at the scaled rates),
//! the `run` record lists them, factors from a density file written by
//! hvp-dump | slq-density are max(lambda_max) / lambda_max, those of the
//! gradient rule max RMS gradient / the block's, and each bad flag or file
//! is refused with exit status 2 (more in hostile.rs).

use std::path::{Path, PathBuf};

use serde_json::Value;
use testkit::{records, run, Output};

fn nn_train(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_nn-train"), args, "")
}

/// A small MLP (fc1, fc2) on synthetic data, f64, one thread.
const SMALL: &[&str] = &[
    "--model",
    "mlp",
    "--widths",
    "6",
    "--data",
    "synthetic",
    "--synthetic-examples",
    "40",
    "--dtype",
    "f64",
    "--threads",
    "1",
    "--batch-size",
    "8",
    "--optimizer",
    "sgd",
];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    SMALL.iter().copied().chain(extra.iter().copied()).collect()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nn-train-lr-scale-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The weights after one update at base rate `lr` with `scale` flags.
fn one_update(name: &str, lr: &str, scale: &[&str]) -> Vec<(String, tch::Tensor)> {
    let d = scratch(name);
    let mut args = with(&["--lr", lr, "--steps", "1", "--save-at", "1", "--save-dir", d.to_str().unwrap()]);
    args.extend(scale);
    nn_train(&args).ok();
    tch::Tensor::read_safetensors(d.join(format!("mlp-sgd-lr{lr}-step1.safetensors"))).unwrap()
}

fn tensor<'a>(weights: &'a [(String, tch::Tensor)], name: &str) -> &'a tch::Tensor {
    &weights.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name}")).1
}

fn same(a: &tch::Tensor, b: &tch::Tensor) -> bool {
    a.size() == b.size() && a.equal(b)
}

#[test]
fn a_scaled_tensor_moves_as_at_the_scaled_rate() {
    // One SGD update from the same weights and batch: p - lr f g. With
    // lr 0.2 and fc1's factor 0.5, fc1 moves as at lr 0.1 and fc2 as at 0.2,
    // bit for bit (0.2 x 0.5 is exactly 0.1 in binary floating point).
    let slow = one_update("slow", "0.1", &[]);
    let fast = one_update("fast", "0.2", &[]);
    let mixed = one_update("mixed", "0.2", &["--lr-scale", "fc1*=0.5"]);
    for name in ["fc1.weight", "fc1.bias"] {
        assert!(same(tensor(&mixed, name), tensor(&slow, name)), "{name} did not move at 0.1");
        assert!(!same(tensor(&mixed, name), tensor(&fast, name)), "{name} moved at 0.2");
    }
    for name in ["fc2.weight", "fc2.bias"] {
        assert!(same(tensor(&mixed, name), tensor(&fast, name)), "{name} did not move at 0.2");
    }
}

#[test]
fn a_torchscript_modules_tensors_take_their_factors() {
    // tiny-mlp (hidden, out) on its own batch: one update, as above.
    let fixture = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/torchscript").join(name);
    let (module, batch) = (fixture("tiny-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    let update = |name: &str, lr: &str, scale: &[&str]| {
        let d = scratch(name);
        let mut args = vec![
            "--torchscript",
            module.to_str().unwrap(),
            "--inputs",
            batch.to_str().unwrap(),
            "--dtype",
            "f64",
            "--threads",
            "1",
            "--batch-size",
            "8",
            "--optimizer",
            "adam",
            "--lr",
            lr,
            "--steps",
            "1",
            "--save-at",
            "1",
            "--save-dir",
            d.to_str().unwrap(),
        ];
        args.extend(scale);
        nn_train(&args).ok();
        tch::Tensor::read_safetensors(d.join(format!("tiny-mlp-adam-lr{lr}-step1.safetensors"))).unwrap()
    };
    let slow = update("ts-slow", "0.1", &[]);
    let fast = update("ts-fast", "0.2", &[]);
    let mixed = update("ts-mixed", "0.2", &["--lr-scale", "hidden.*=0.5"]);
    for (name, _) in &mixed {
        let want = if name.starts_with("hidden.") { &slow } else { &fast };
        assert!(same(tensor(&mixed, name), tensor(want, name)), "{name}");
    }
    assert!(mixed.iter().any(|(n, _)| n.starts_with("hidden.")) && mixed.iter().any(|(n, _)| n.starts_with("out.")));
}

#[test]
fn the_run_record_lists_the_factors_and_no_flag_lists_none() {
    let o =
        nn_train(&with(&["--lr", "0.1", "--steps", "2", "--lr-scale", "fc2.weight=0.25", "--lr-scale", "fc1*=4"])).ok();
    let run = &records(&o.stdout, "run")[0];
    let listed: Vec<(String, String, f64)> = run["lr_scale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["parameter"].as_str().unwrap().into(),
                f["block"].as_str().unwrap().into(),
                f["factor"].as_f64().unwrap(),
            )
        })
        .collect();
    let want = [("fc1.bias", "fc1*", 4.0), ("fc1.weight", "fc1*", 4.0), ("fc2.weight", "fc2.weight", 0.25)];
    let want: Vec<(String, String, f64)> = want.iter().map(|(p, b, f)| (p.to_string(), b.to_string(), *f)).collect();
    assert_eq!(listed, want);
    let plain = nn_train(&with(&["--lr", "0.1", "--steps", "2"])).ok();
    assert!(records(&plain.stdout, "run")[0].get("lr_scale").is_none());
}

/// `density` records of the small MLP, by hvp-dump | slq-density.
fn densities(dir: &Path) -> PathBuf {
    let dump = run(
        testkit::bin("hvp-dump"),
        &[
            "--model",
            "mlp",
            "--widths",
            "6",
            "--data",
            "synthetic",
            "--dtype",
            "f64",
            "--threads",
            "1",
            "--probes",
            "2",
            "--steps",
            "6",
            "--batch-size",
            "16",
            "--block",
            "fc1.weight",
            "--block",
            "fc2.*",
            "--merge",
        ],
        "",
    )
    .ok();
    let density = run(testkit::bin("slq-density"), &[], &dump.stdout).ok();
    let path = dir.join("density.jsonl");
    std::fs::write(&path, &density.stdout).unwrap();
    path
}

#[test]
fn factors_from_densities_are_the_largest_lambda_max_over_each_blocks() {
    let d = scratch("from");
    let path = densities(&d);
    let text = std::fs::read_to_string(&path).unwrap();
    let blocks: Vec<(String, f64)> = records(&text, "density")
        .iter()
        .map(|r| (r["block"].as_str().unwrap().to_string(), r["lambda_max"].as_f64().unwrap()))
        .collect();
    assert_eq!(blocks.iter().map(|(b, _)| b.as_str()).collect::<Vec<_>>(), ["fc1.weight", "fc2.*"]);
    let stiffest = blocks.iter().map(|(_, l)| *l).fold(f64::MIN, f64::max);
    let factor = |block: &str| stiffest / blocks.iter().find(|(b, _)| b == block).unwrap().1;
    let o = nn_train(&with(&["--lr", "0.1", "--steps", "2", "--lr-scale-from", path.to_str().unwrap()])).ok();
    let listed: Vec<Value> = records(&o.stdout, "run")[0]["lr_scale"].as_array().unwrap().clone();
    let got: Vec<(&str, &str, f64)> = listed
        .iter()
        .map(|f| (f["parameter"].as_str().unwrap(), f["block"].as_str().unwrap(), f["factor"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("fc1.weight", "fc1.weight", factor("fc1.weight")),
            ("fc2.bias", "fc2.*", factor("fc2.*")),
            ("fc2.weight", "fc2.*", factor("fc2.*")),
        ]
    );
    assert!(got.iter().any(|g| g.2 == 1.0) && got.iter().any(|g| g.2 != 1.0), "{got:?}");
}

#[test]
fn bad_factors_patterns_and_density_files_are_refused() {
    let base = with(&["--lr", "0.1", "--steps", "1"]);
    let refuse = |extra: &[&str], needles: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        nn_train(&args).fails_with(2, needles);
    };
    refuse(&["--lr-scale", "conv*=0.5"], &["`conv*`"]);
    for bad in ["0", "-1", "nan", "inf"] {
        let flag = format!("fc1*={bad}");
        refuse(&["--lr-scale", &flag], &["--lr-scale", "positive and finite"]);
    }
    refuse(&["--lr-scale", "fc1"], &["PATTERN=FACTOR"]);
    refuse(&["--lr-scale", "fc1*=2", "--lr-scale", "*.bias=3"], &["`fc1.bias`", "`fc1*`", "`*.bias`"]);

    let d = scratch("bad");
    let good = densities(&d);
    let text = std::fs::read_to_string(&good).unwrap();
    let write = |name: &str, body: &str| {
        let p = d.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    refuse(&["--lr-scale", "fc1*=2", "--lr-scale-from", &good.to_string_lossy()], &["--lr-scale"]);
    let other = write("other.jsonl", &text.replace("\"fc1.weight\"", "\"conv1.weight\""));
    refuse(&["--lr-scale-from", &other], &["`conv1.weight`", "--lr-scale-from"]);
    let lines: Vec<&str> = text.lines().collect();
    let malformed = write("malformed.jsonl", &format!("{}\n{{\"type\":\"density\",\n", lines.join("\n")));
    let line = format!("malformed.jsonl:{}", lines.len() + 1);
    refuse(&["--lr-scale-from", &malformed], &[&line]);
    for (value, name) in [("0.0", "zero"), ("-2.5", "negative")] {
        let mut first: Value = serde_json::from_str(lines.iter().find(|l| l.contains("\"density\"")).unwrap()).unwrap();
        first["lambda_max"] = serde_json::json!(value.parse::<f64>().unwrap());
        let file = write(&format!("{name}.jsonl"), &format!("{first}\n"));
        refuse(&["--lr-scale-from", &file], &["block `fc1.weight`", "lambda_max"]);
    }
    let empty = write("empty.jsonl", "");
    refuse(&["--lr-scale-from", &empty], &["no `density` records"]);
    let only_run = write("run.jsonl", &format!("{}\n", lines[0]));
    refuse(&["--lr-scale-from", &only_run], &["no `density` records"]);
}

#[test]
fn the_gradient_rule_gives_the_largest_rms_gradient_over_each_blocks() {
    // By hand: fc1.weight's RMS gradient is 6 / sqrt(4) = 3, fc2.*'s is
    // 2 / sqrt(4) = 1: factors 1 and 3, the same update as --lr-scale 'fc2.*=3'.
    let d = scratch("gradient-rule");
    let line = |block: &str, norm: f64| {
        format!(
            "{{\"type\":\"gradient\",\"model\":\"mlp\",\"block\":\"{block}\",\"dim\":4,\"norm\":{norm},\"weights\":[1.0],\"gram\":[{}]}}\n",
            norm * norm
        )
    };
    let path = d.join("gradients.jsonl");
    std::fs::write(&path, format!("{}{}", line("fc1.weight", 6.0), line("fc2.*", 2.0))).unwrap();
    let from = ["--lr-scale-from", path.to_str().unwrap(), "--lr-scale-rule", "gradient"];
    let o = nn_train(&with(&[&["--lr", "0.1", "--steps", "2"][..], &from[..]].concat())).ok();
    let run = &records(&o.stdout, "run")[0];
    assert_eq!(run["lr_scale_rule"], "gradient");
    let got: Vec<(&str, &str, f64)> = run["lr_scale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["parameter"].as_str().unwrap(), f["block"].as_str().unwrap(), f["factor"].as_f64().unwrap()))
        .collect();
    assert_eq!(got, [("fc1.weight", "fc1.weight", 1.0), ("fc2.bias", "fc2.*", 3.0), ("fc2.weight", "fc2.*", 3.0)]);
    let by_rule = one_update("grad-rule", "0.1", &from);
    let by_pattern = one_update("grad-pattern", "0.1", &["--lr-scale", "fc2.*=3"]);
    for (name, t) in &by_rule {
        assert!(same(t, tensor(&by_pattern, name)), "{name}");
    }
    // The densities' rule is named too (the default).
    let densities = densities(&d);
    let o = nn_train(&with(&["--lr", "0.1", "--steps", "1", "--lr-scale-from", densities.to_str().unwrap()])).ok();
    assert_eq!(records(&o.stdout, "run")[0]["lr_scale_rule"], "curvature");
}
