//! `--engine`: the tensor Lanczos engine (vectors and basis as libtorch
//! tensors on the network's device) against the Rust engine, end to end on
//! zoo models on the CPU, in f64: the same tridiagonals to 1e-12 relative
//! on one thread (typically 1e-15), 1e-10 on two (see the tests).

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

/// The zoo blocks the engines are compared on.
const ZOO_BLOCKS: [(&str, &[&str]); 3] = [
    ("gpt2-small", &["--split-qkv", "--block", "wte", "--block", "h.0.attn.wq", "--block", "h.1.mlp.c_fc.weight"]),
    ("mlp", &["--block", "fc1.weight", "--block", "fc3.bias"]),
    ("resnet18-narrow", &["--block", "layer1.0.conv1", "--block", "fc.weight"]),
];

/// hvp-dump's arguments for one zoo model in f64 on `threads` threads, without `--engine`.
fn zoo_args(model: &'static str, blocks: &[&'static str], threads: &'static str) -> Vec<&'static str> {
    let mut args = vec!["--model", model, "--device", "cpu", "--dtype", "f64", "--threads", threads];
    args.extend(["--probes", "2", "--steps", "15", "--batch-size", "4"]);
    args.extend(blocks);
    args
}

/// The two engines' tridiags for the same arguments, paired, with the
/// records' other fields checked equal; returns both stdouts (Rust, tensor).
fn compare_engines(args: &[&str], tolerance: f64) -> (String, String) {
    let with = |engine: &'static str| [args, &["--engine", engine]].concat();
    let rust = ok(&with("rust"));
    let tensor = ok(&with("tensor"));
    let (r, t) = (tridiags(&rust), tridiags(&tensor));
    assert_eq!(r.len(), t.len());
    for (a, b) in r.iter().zip(&t) {
        assert_eq!((&a["engine"], &b["engine"]), (&Value::from("rust"), &Value::from("tensor")));
        assert_eq!((&a["block"], &a["seed"], &a["basis"]), (&b["block"], &b["seed"], &b["basis"]));
        let gap = relative_gap(a, b);
        assert!(gap < tolerance, "{args:?}: engines differ by {gap:e} on {}", a["block"]);
    }
    (rust, tensor)
}

/// A run's records after its `run` record (which repeats the arguments).
fn records(stdout: &str) -> Vec<&str> {
    stdout.lines().skip(1).collect()
}

/// On one thread the Hessian-vector product gives the same bytes every
/// time, so whatever differs between the engines is their own arithmetic:
/// measured here at most 1.6e-15 relative, asked to be within 1e-12. And
/// the same arguments give the same bytes, whatever else the machine runs.
#[test]
fn both_engines_give_the_same_tridiagonals_on_zoo_models() {
    for (model, blocks) in ZOO_BLOCKS {
        let args = zoo_args(model, blocks, "1");
        let (rust, tensor) = compare_engines(&args, 1e-12);
        let again = ok(&[&args[..], &["--engine", "tensor"]].concat());
        assert!(tensor == again, "{model}: the tensor engine gave other bytes for the same arguments");
        // auto is the Rust engine on the CPU: its records are `--engine
        // rust`'s, byte for byte (the Rust engine's own repeat).
        assert!(records(&ok(&args)) == records(&rust), "{model}: auto's records are not the Rust engine's");
    }
}

/// On two threads (the engines' parallel paths: rayon's reorthogonalization,
/// libtorch's threaded kernels) the engines agree as closely. Before each
/// operator threw away its first product, a loaded machine sometimes gave
/// other last bits in a process's first two-thread product, in either
/// engine, which 15 Lanczos steps turned into up to 2.9e-12 (docs/gpu.md).
/// 1e-10 keeps a margin in case the work-around misses a case, and still
/// catches any real difference between the engines' arithmetic.
#[test]
fn both_engines_agree_on_two_threads() {
    for (model, blocks) in ZOO_BLOCKS {
        compare_engines(&zoo_args(model, blocks, "2"), 1e-10);
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
