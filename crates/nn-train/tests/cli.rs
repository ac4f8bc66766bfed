//! nn-train end to end: determinism of records and checkpoints, the
//! learning-rate grid's bookkeeping, the held-out split of a user's images,
//! checkpoints read back by hvp-dump, and each bad input.

use std::path::Path;

use serde_json::Value;
use testkit::{records, run, Output};

fn nn_train(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_nn-train"), args, "")
}

/// A small MLP on synthetic data, f64, one thread.
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
    "--steps",
    "12",
    "--eval-every",
    "4",
];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    SMALL.iter().copied().chain(extra.iter().copied()).collect()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("nn-train-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn same_arguments_give_the_same_bytes_records_and_checkpoints() {
    let (a, b) = (scratch("det-a"), scratch("det-b"));
    let args = |d: &Path| {
        let d = d.to_str().unwrap().to_string();
        let mut v: Vec<String> = SMALL.iter().map(|s| s.to_string()).collect();
        v.extend(["--optimizer", "adamw", "--lr", "0.01", "--save-at", "0,0.5,1", "--save-dir"].map(String::from));
        v.push(d);
        v
    };
    let (ra, rb) = (args(&a), args(&b));
    let oa = nn_train(&ra.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let ob = nn_train(&rb.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&oa.stdout), body(&ob.stdout));
    assert_eq!(records(&oa.stdout, "step").len(), 12);
    for step in [0, 6, 12] {
        let f = format!("mlp-adamw-lr0.01-step{step}.safetensors");
        let (x, y) = (std::fs::read(a.join(&f)).unwrap(), std::fs::read(b.join(&f)).unwrap());
        assert_eq!(x, y, "{f} differs between runs");
    }
    let (s0, s12) = (
        std::fs::read(a.join("mlp-adamw-lr0.01-step0.safetensors")).unwrap(),
        std::fs::read(a.join("mlp-adamw-lr0.01-step12.safetensors")).unwrap(),
    );
    assert_ne!(s0, s12, "training changed nothing");
}

#[test]
fn a_grid_writes_one_summary_per_rate_and_names_the_lowest_final_loss() {
    let o = nn_train(&with(&["--optimizer", "sgd", "--lr-grid", "0.3,0.001,0.03", "--log-every", "4"])).ok();
    let summaries = records(&o.stdout, "summary");
    let lrs: Vec<f64> = summaries.iter().map(|s| s["lr"].as_f64().unwrap()).collect();
    assert_eq!(lrs, vec![0.3, 0.001, 0.03]);
    let best = records(&o.stdout, "best");
    assert_eq!(best.len(), 1);
    let losses: Vec<f64> =
        summaries.iter().map(|s| s["final_heldout_loss"].as_f64().unwrap_or(f64::INFINITY)).collect();
    let min = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    let win = losses.iter().position(|l| *l == min).unwrap();
    assert_eq!(best[0]["lr"].as_f64().unwrap(), lrs[win]);
    assert_eq!(best[0]["final_heldout_loss"].as_f64().unwrap(), min);
    assert_eq!(best[0]["tried"], 3);
    // Each run's steps are tagged with its rate, 3 logged steps each.
    for lr in lrs {
        let n = records(&o.stdout, "step").iter().filter(|s| s["lr"].as_f64() == Some(lr)).count();
        assert_eq!(n, 3, "lr {lr}");
    }
    // The last step record of each run carries the summary's held-out loss.
    let steps = records(&o.stdout, "step");
    let last: Vec<&Value> = steps.iter().filter(|s| s["step"] == 12).collect();
    for (s, sum) in last.iter().zip(&summaries) {
        assert_eq!(s["heldout_loss"], sum["final_heldout_loss"]);
    }
}

#[test]
fn an_extended_grid_brings_the_best_rate_inside() {
    // MNIST, 12 updates: rates far too small, so the best is the grid's top
    // and --extend-grid adds a decade above until a larger rate does worse.
    let mnist = [
        "--model",
        "mlp",
        "--widths",
        "16",
        "--threads",
        "1",
        "--batch-size",
        "32",
        "--steps",
        "12",
        "--eval-every",
        "12",
        "--eval-examples",
        "500",
        "--optimizer",
        "sgd",
        "--lr-grid",
        "1e-5,1e-4",
    ];
    let extended: Vec<&str> = mnist.iter().copied().chain(["--extend-grid", "6"]).collect();
    let o = nn_train(&extended).ok();
    let lrs: Vec<f64> = records(&o.stdout, "summary").iter().map(|s| s["lr"].as_f64().unwrap()).collect();
    assert!(lrs.len() > 2 && lrs.len() <= 8, "{lrs:?}");
    for (i, lr) in lrs.iter().enumerate().skip(2) {
        // Each added rate a decade above the previous top.
        assert!((lr / lrs[i - 1] - 10.0).abs() < 1e-9, "{lrs:?}");
    }
    let best = &records(&o.stdout, "best")[0];
    assert_eq!(best["placement"], "interior", "{best}");
    assert_eq!(best["added"].as_u64().unwrap() as usize, lrs.len() - 2);
    assert_eq!(best["tried"].as_u64().unwrap() as usize, lrs.len());
    let b = best["lr"].as_f64().unwrap();
    assert!(lrs.iter().any(|l| *l < b) && lrs.iter().any(|l| *l > b));
    // Without the flag the grid is what was asked, and the record says where the best sits.
    let o = nn_train(&mnist).ok();
    let best = &records(&o.stdout, "best")[0];
    assert_eq!((best["placement"].as_str(), best.get("added")), (Some("high-edge"), None));
}

#[test]
fn class_counts_cover_the_training_set() {
    let o = nn_train(&with(&["--optimizer", "sgd", "--lr", "0.01", "--class-counts"])).ok();
    let c = &records(&o.stdout, "classes")[0];
    let counts: Vec<u64> = c["counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    // Synthetic data: 40 training examples with labels over 10 classes.
    assert_eq!(counts.iter().sum::<u64>(), 40);
    assert!(counts.len() <= 10);
    // MNIST's training labels as the data set publishes them.
    let o = nn_train(&[
        "--model",
        "mlp",
        "--optimizer",
        "sgd",
        "--lr",
        "0.01",
        "--steps",
        "1",
        "--threads",
        "1",
        "--eval-examples",
        "10",
        "--class-counts",
    ])
    .ok();
    let c = &records(&o.stdout, "classes")[0];
    let want: Vec<u64> = vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
    let got: Vec<u64> = c["counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(got, want);
}

/// An IDX file of unsigned bytes.
fn write_idx(path: &Path, dims: &[u32], data: &[u8]) {
    let mut b = vec![0u8, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    std::fs::write(path, b).unwrap();
}

#[test]
fn a_users_images_hold_out_their_last_tenth() {
    let d = scratch("idx");
    let n = 20u32;
    let pixels: Vec<u8> = (0..n * 16).map(|i| (i * 37 % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    write_idx(&d.join("img"), &[n, 4, 4], &pixels);
    write_idx(&d.join("lab"), &[n], &labels);
    let (img, lab) = (d.join("img"), d.join("lab"));
    let args = [
        "--model",
        "mlp",
        "--widths",
        "3",
        "--data",
        "idx",
        "--data-path",
        img.to_str().unwrap(),
        "--data-path",
        lab.to_str().unwrap(),
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--batch-size",
        "18",
        "--steps",
        "2",
        "--threads",
        "1",
        "--dtype",
        "f64",
    ];
    let o = nn_train(&args).ok();
    let steps = records(&o.stdout, "step");
    // 18 training examples (batch 18 = one epoch per update), 2 held out.
    assert_eq!(steps[0]["epoch"].as_f64(), Some(1.0));
    let acc = steps[1]["heldout_accuracy"].as_f64().unwrap();
    assert!([0.0, 0.5, 1.0].contains(&acc), "accuracy over 2 held-out examples: {acc}");
    let mut big = args.to_vec();
    big[15] = "19";
    nn_train(&big).fails_with(2, &["--batch-size 19 exceeds the 18 examples"]);
}

#[test]
fn the_fraction_zero_checkpoint_is_the_untrained_model_for_hvp_dump() {
    let d = scratch("ckpt");
    let dir = d.to_str().unwrap();
    nn_train(&with(&["--optimizer", "sgd", "--lr", "0.1", "--save-at", "0,1", "--save-dir", dir])).ok();
    let hvp = |ckpt: Option<&str>| {
        let mut a = vec![
            "--model",
            "mlp",
            "--widths",
            "6",
            "--data",
            "synthetic",
            "--dtype",
            "f64",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--probes",
            "1",
            "--steps",
            "5",
            "--block",
            "fc1.weight",
        ];
        if let Some(c) = ckpt {
            a.extend(["--checkpoint", c]);
        }
        let o = run(testkit::bin("hvp-dump"), &a, "").ok();
        o.stdout.lines().skip(1).map(str::to_string).collect::<Vec<_>>()
    };
    let untrained = hvp(None);
    let zero = d.join("mlp-sgd-lr0.1-step0.safetensors");
    let end = d.join("mlp-sgd-lr0.1-step12.safetensors");
    assert_eq!(hvp(Some(zero.to_str().unwrap())), untrained);
    assert_ne!(hvp(Some(end.to_str().unwrap())), untrained, "the trained weights give another Hessian");
}

#[test]
fn divergence_names_the_update_and_leaves_valid_records() {
    let o = nn_train(&with(&["--optimizer", "sgd", "--lr", "1e30", "--momentum", "0"]))
        .fails_with(1, &["NaN or infinite at update"]);
    let s = records(&o.stdout, "summary");
    assert_eq!(s.len(), 1);
    assert!(s[0]["diverged_at"].as_u64().is_some(), "{}", s[0]);
    // --allow-divergence: the same records, and exit status 0.
    let a = nn_train(&with(&["--optimizer", "sgd", "--lr", "1e30", "--momentum", "0", "--allow-divergence"])).ok();
    assert_eq!(a.stdout.lines().skip(1).collect::<Vec<_>>(), o.stdout.lines().skip(1).collect::<Vec<_>>());
    // In a grid a diverged rate is recorded and skipped.
    let g = nn_train(&with(&["--optimizer", "sgd", "--lr-grid", "1e30,0.01", "--momentum", "0"])).ok();
    let best = records(&g.stdout, "best");
    assert_eq!((best[0]["lr"].as_f64(), best[0]["diverged"].as_u64()), (Some(0.01), Some(1)));
}

#[test]
fn bad_input_is_refused_before_work() {
    nn_train(&with(&["--optimizer", "sgd", "--lr", "0"])).fails_with(2, &["positive"]);
    nn_train(&with(&["--optimizer", "sgd", "--lr-grid", "0.1,-1"])).fails_with(2, &["positive"]);
    nn_train(&with(&["--optimizer", "rmsprop", "--lr", "0.1"])).fails_with(2, &["rmsprop"]);
    let mut big = with(&["--optimizer", "sgd", "--lr", "0.1"]);
    let at = big.iter().position(|a| *a == "--batch-size").unwrap();
    big[at + 1] = "41";
    nn_train(&big).fails_with(2, &["--batch-size 41"]);
    nn_train(&with(&["--optimizer", "sgd", "--lr", "0.1", "--save-at", "1.5", "--save-dir", "x"]))
        .fails_with(2, &["--save-at"]);
    nn_train(&with(&["--optimizer", "sgd", "--lr", "0.1", "--clip", "0"])).fails_with(2, &["--clip"]);
    nn_train(&with(&["--optimizer", "sgd", "--lr", "0.1", "--momentum", "1"])).fails_with(2, &["--momentum"]);
    nn_train(&["--model", "mlp", "--data", "synthetic", "--optimizer", "sgd", "--lr", "0.1", "--steps", "0"])
        .fails_with(2, &["--steps"]);
    nn_train(&["--model", "bert-small", "--data", "synthetic", "--optimizer", "sgd", "--lr", "0.1", "--epochs", "1"])
        .fails_with(2, &["--epochs"]);
    nn_train(&["--model", "nope", "--optimizer", "sgd", "--lr", "0.1", "--steps", "1"])
        .fails_with(2, &["unknown model"]);
    nn_train(&["--model", "gpt2-small", "--seq-len", "33", "--optimizer", "sgd", "--lr", "0.1", "--steps", "1"])
        .fails_with(2, &["--seq-len 33 exceeds the model's context 32"]);
    nn_train(&[
        "--model",
        "mlp",
        "--data",
        "text",
        "--data-path",
        "/nonexistent",
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--steps",
        "1",
    ])
    .fails_with(2, &["no feature vectors"]);
    nn_train(&[
        "--model",
        "gpt2-small",
        "--data",
        "text",
        "--data-path",
        "/nonexistent/x.txt",
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--steps",
        "1",
    ])
    .fails_with(1, &["/nonexistent/x.txt"]);
}

#[test]
fn language_models_train_on_windows_and_bert_on_fresh_pairs() {
    for model in ["gpt2-small", "bert-small"] {
        let o = nn_train(&[
            "--model",
            model,
            "--data",
            "synthetic",
            "--layers",
            "1",
            "--optimizer",
            "adamw",
            "--lr",
            "0.001",
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--threads",
            "1",
            "--eval-examples",
            "8",
        ])
        .ok();
        let s = records(&o.stdout, "summary");
        assert!(s[0]["final_heldout_loss"].as_f64().unwrap().is_finite(), "{model}: {}", s[0]);
    }
}

#[test]
fn a_model_beyond_memory_is_refused_before_training() {
    let args = ["--model", "mlp", "--widths", "1000000,1000000", "--steps", "1", "--lr", "0.1", "--optimizer", "sgd"];
    let out = nn_train(&args)
        .fails_with(1, &["training a model of 1000796000010 parameters (weights, gradients, optimizer state)"]);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}
