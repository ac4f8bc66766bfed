//! `hvp-dump --gradients`: the `gradient` records, checked for what they
//! must satisfy whatever the network: the norm is that of the weighted sum of
//! the parts (sqrt(w^T G w)), the same however the batch is cut, and G is a
//! Gram matrix.

use serde_json::Value;
use testkit::{run, Output};

fn hvp_dump(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_hvp-dump"), args, "")
}

const TINY: &[&str] = &[
    "--model",
    "tiny-transformer",
    "--dtype",
    "f64",
    "--device",
    "cpu",
    "--data",
    "synthetic",
    "--block",
    "wte",
    "--block",
    "h.0.mlp.*",
    "--probes",
    "1",
    "--steps",
    "3",
    "--gradients",
];

fn gradients(parts: &str) -> Vec<Value> {
    let args: Vec<&str> = TINY.iter().copied().chain(["--gradient-parts", parts]).collect();
    let out = hvp_dump(&args).ok();
    let recs: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // run, then the gradients, then the tridiagonals.
    assert_eq!(recs[0]["type"], "run");
    let g: Vec<Value> = recs.iter().filter(|r| r["type"] == "gradient").cloned().collect();
    assert!(recs[1..=g.len()].iter().all(|r| r["type"] == "gradient"), "gradients come first");
    g
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn gradient_norms_agree_however_the_batch_is_cut() {
    let one = gradients("1");
    let five = gradients("5");
    assert!(one.len() >= 3, "wte and the tensors of h.0.mlp: {one:?}");
    for (a, b) in one.iter().zip(&five) {
        assert_eq!(a["block"], b["block"]);
        let (na, nb) = (a["norm"].as_f64().unwrap(), b["norm"].as_f64().unwrap());
        assert!(na > 0.0);
        assert!((na - nb).abs() <= 1e-12 * na, "{}: {na} against {nb}", a["block"]);
        // The norm is sqrt(w^T G w), G symmetric with a non-negative diagonal.
        let (w, g) = (floats(&b["weights"]), floats(&b["gram"]));
        let k = w.len();
        assert_eq!(k, 5);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        let mut sq = 0.0;
        for i in 0..k {
            assert!(g[i * k + i] >= 0.0);
            for j in 0..k {
                assert!((g[i * k + j] - g[j * k + i]).abs() <= 1e-15 * g[i * k + i].max(g[j * k + j]));
                sq += w[i] * w[j] * g[i * k + j];
            }
        }
        assert!((sq.sqrt() - nb).abs() <= 1e-12 * nb);
    }
}

#[test]
fn gradients_refuse_resume_zero_parts_and_parts_under_batch_statistics() {
    let mut args: Vec<&str> = TINY.to_vec();
    args.extend(["-o", "/tmp/never-written.jsonl", "--resume"]);
    let out = hvp_dump(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--gradients") || out.stderr.contains("--resume"), "{}", out.stderr);
    let mut args: Vec<&str> = TINY.to_vec();
    args.extend(["--gradient-parts", "0"]);
    hvp_dump(&args).fails_with(2, &["--gradient-parts", "0 is not in 1.."]);
    // Batch statistics would normalize each part by itself: only one part.
    let bn = ["--model", "resnet18-narrow", "--bn", "batch", "--data", "synthetic", "--gradients"];
    hvp_dump(&bn).fails_with(2, &["--bn batch", "--gradient-parts 1"]);
}
