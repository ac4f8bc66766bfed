//! `--engine`: the tensor Lanczos engine (vectors and basis as libtorch
//! tensors on the network's device) against the Rust engine, end to end on
//! zoo models on the CPU, in f64: the same tridiagonals to 1e-10 relative
//! (typically 1e-15; see the test).

use serde_json::Value;
use testkit::{run, Output};

fn hvp_dump(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_hvp-dump"), args, "")
}

fn ok(args: &[&str]) -> String {
    hvp_dump(args).ok().stdout
}

fn tridiags(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|r| r["type"] == "tridiag").collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Largest entry difference between two tridiag records, relative to the largest entry.
fn relative_gap(a: &Value, b: &Value) -> f64 {
    let (aa, ab) = (floats(&a["alpha"]), floats(&a["beta"]));
    let (ba, bb) = (floats(&b["alpha"]), floats(&b["beta"]));
    assert_eq!((aa.len(), ab.len()), (ba.len(), bb.len()), "block {}", a["block"]);
    let scale = aa.iter().chain(&ab).fold(0.0f64, |s, x| s.max(x.abs()));
    aa.iter().zip(&ba).chain(ab.iter().zip(&bb)).fold(0.0f64, |s, (x, y)| s.max((x - y).abs())) / scale
}

#[test]
fn both_engines_give_the_same_tridiagonals_on_zoo_models() {
    for (model, blocks) in [
        (
            "gpt2-small",
            vec!["--split-qkv", "--block", "wte", "--block", "h.0.attn.wq", "--block", "h.1.mlp.c_fc.weight"],
        ),
        ("mlp", vec!["--block", "fc1.weight", "--block", "fc3.bias"]),
        ("resnet18-narrow", vec!["--block", "layer1.0.conv1", "--block", "fc.weight"]),
    ] {
        let mut base = vec!["--model", model, "--device", "cpu", "--dtype", "f64", "--threads", "2"];
        base.extend(["--probes", "2", "--steps", "15", "--batch-size", "4"]);
        base.extend(blocks);
        let with = |engine: &'static str| [base.clone(), vec!["--engine", engine]].concat();
        let rust = ok(&with("rust"));
        let tensor = ok(&with("tensor"));
        let (r, t) = (tridiags(&rust), tridiags(&tensor));
        assert_eq!(r.len(), t.len());
        for (a, b) in r.iter().zip(&t) {
            assert_eq!((&a["engine"], &b["engine"]), (&Value::from("rust"), &Value::from("tensor")));
            assert_eq!((&a["block"], &a["seed"], &a["basis"]), (&b["block"], &b["seed"], &b["basis"]));
            // Measured here: at most 1.6e-15, but on a loaded machine up to
            // 2.9e-12 on wte: the Hessian-vector product itself (libtorch,
            // both engines) then sometimes gives other last bits, and
            // Lanczos turns a last-bit change into ~1e4 ulps in 15 steps
            // (docs/gpu.md). 1e-10 still catches any real difference
            // between the engines' arithmetic.
            let gap = relative_gap(a, b);
            assert!(gap < 1e-10, "{model} {}: engines differ by {gap:e}", a["block"]);
        }
        // The tensor engine, run again with the same arguments: the same
        // tridiagonals. Bytes are what it should give, and what it gives on
        // a quiet machine; under load the product on gpt2-small's wte
        // sometimes differs in its 12th digit, in either engine (the open
        // defect in docs/gpu.md). Until that is fixed, this checks
        // agreement to 1e-10.
        let again = tridiags(&ok(&with("tensor")));
        assert_eq!(t.len(), again.len());
        for (a, b) in t.iter().zip(&again) {
            let gap = relative_gap(a, b);
            assert!(gap < 1e-10, "{model} {}: two tensor runs differ by {gap:e}", a["block"]);
        }
        // auto is the Rust engine on the CPU.
        let auto = ok(&base);
        assert!(tridiags(&auto).iter().all(|r| r["engine"] == "rust"), "{model}");
    }
}

#[test]
fn engine_flags_are_checked() {
    let base =
        ["--model", "tiny-transformer", "--device", "cpu", "--data", "synthetic", "--steps", "3", "--probes", "1"];
    hvp_dump(&[&base[..], &["--engine", "gpu"]].concat()).fails_with(2, &["`rust`, `tensor` or `auto`"]);
    let dir = std::env::temp_dir();
    hvp_dump(&[&base[..], &["--engine", "tensor", "--basis-dir", dir.to_str().unwrap()]].concat())
        .fails_with(2, &["--basis-dir applies to --engine rust"]);
    // Every rung of the ladder runs on the tensor engine too.
    for memory in ["4", "1e-9"] {
        let text = ok(&[&base[..], &["--engine", "tensor", "--memory", memory, "--dtype", "f64"]].concat());
        assert!(tridiags(&text).iter().all(|r| r["engine"] == "tensor"));
    }
}
