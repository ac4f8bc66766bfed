//! nn-train --torchscript end to end on testdata/torchscript/tiny-mlp.pt
//! (10 -> 6 -> 3, tanh, f64; its batch: 8 examples): the loss falls, one
//! SGD step equals the step computed by hand in eager libtorch, the
//! fraction-0 checkpoint is the untrained module for hvp-dump, reruns are
//! byte-identical, and bad modules or batches are named.

use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};
use testkit::{records, run, Output};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/torchscript").join(name).to_string_lossy().into_owned()
}

fn nn_train(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_nn-train"), args, "")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nn-train-ts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// tiny-mlp trained on its own batch (the whole batch every update), f64, one thread.
fn train_args(module: &str, batch: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--torchscript",
        module,
        "--inputs",
        batch,
        "--dtype",
        "f64",
        "--threads",
        "1",
        "--batch-size",
        "8",
        "--save-dir",
    ]
    .map(String::from)
    .to_vec();
    v.push(dir.to_string_lossy().into_owned());
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn body(s: &str) -> String {
    s.lines().skip(1).collect::<Vec<_>>().join("\n")
}

fn weights(path: &Path) -> Vec<(String, Tensor)> {
    let mut w = Tensor::read_safetensors(path).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

#[test]
fn training_lowers_the_loss_and_reruns_are_byte_identical() {
    let (a, b) = (scratch("rerun-a"), scratch("rerun-b"));
    let (m, x) = (fixture("tiny-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    let extra = ["--optimizer", "adam", "--lr", "0.05", "--steps", "30", "--save-at", "0.5,1"];
    let oa = nn_train(&strs(&train_args(&m, &x, &a, &extra))).ok();
    let ob = nn_train(&strs(&train_args(&m, &x, &b, &extra))).ok();
    assert_eq!(body(&oa.stdout), body(&ob.stdout));
    let steps = records(&oa.stdout, "step");
    let (first, last) = (steps[0]["train_loss"].as_f64().unwrap(), steps[29]["train_loss"].as_f64().unwrap());
    println!("train loss: update 1 {first}, update 30 {last}");
    assert!(last < 0.1 * first, "{first} -> {last}");
    for f in ["tiny-mlp-adam-lr0.05-step15.safetensors", "tiny-mlp-adam-lr0.05-step30.safetensors"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn one_sgd_step_equals_the_step_by_hand() {
    let d = scratch("sgd");
    let (m, x) = (fixture("tiny-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    let extra = ["--optimizer", "sgd", "--momentum", "0", "--lr", "0.3", "--steps", "1", "--save-at", "0,1"];
    nn_train(&strs(&train_args(&m, &x, &d, &extra))).ok();
    let w0 = weights(&d.join("tiny-mlp-sgd-lr0.3-step0.safetensors"));
    let w1 = weights(&d.join("tiny-mlp-sgd-lr0.3-step1.safetensors"));
    // Eager libtorch: out(tanh(hidden(x))), mean cross-entropy, p - lr grad.
    let p: Vec<Tensor> = w0.iter().map(|(_, t)| t.to_kind(Kind::Double).set_requires_grad(true)).collect();
    let (hb, hw, ob, ow) = (&p[0], &p[1], &p[2], &p[3]);
    let batch = Tensor::read_safetensors(Path::new(&x)).unwrap();
    let get = |n: &str| batch.iter().find(|(k, _)| k == n).unwrap().1.shallow_clone();
    let input = get("input").to_kind(Kind::Double);
    let logits = (input.matmul(&hw.tr()) + hb).tanh().matmul(&ow.tr()) + ob;
    // Not cross_entropy_for_logits: its log-softmax is in f32.
    let loss = logits.log_softmax(-1, Kind::Double).nll_loss(&get("target"));
    let grads = Tensor::run_backward(&[loss], &p, false, false);
    let mut worst: f64 = 0.0;
    for (((name, after), before), g) in w1.iter().zip(&p).zip(&grads) {
        let expected = before.detach() - g * 0.3;
        let diff = (after - &expected).abs().max().double_value(&[]);
        println!("{name}: max |nn-train - by hand| = {diff:e}");
        worst = worst.max(diff);
    }
    assert!(worst < 1e-12, "{worst}");
    assert!(w0.iter().zip(&w1).any(|((_, a), (_, b))| !a.equal(b)), "the step changed nothing");
}

#[test]
fn the_fraction_0_checkpoint_is_the_untrained_module_for_hvp_dump() {
    let d = scratch("frac0");
    let (m, x) = (fixture("tiny-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    let extra = ["--optimizer", "sgd", "--lr", "0.5", "--steps", "5", "--save-at", "0,1"];
    nn_train(&strs(&train_args(&m, &x, &d, &extra))).ok();
    let hvp = |ckpt: Option<&Path>| {
        let mut a = vec!["--torchscript", &m, "--inputs", &x, "--threads", "1", "--steps", "5"];
        let c;
        if let Some(p) = ckpt {
            c = p.to_string_lossy().into_owned();
            a.extend(["--checkpoint", &c]);
        }
        body(&run(testkit::bin("hvp-dump"), &a, "").ok().stdout)
    };
    let untrained = hvp(None);
    assert!(untrained.contains("\"tridiag\""), "{untrained}");
    assert_eq!(hvp(Some(&d.join("tiny-mlp-sgd-lr0.5-step0.safetensors"))), untrained);
    let trained = d.join("tiny-mlp-sgd-lr0.5-step5.safetensors");
    assert_ne!(hvp(Some(&trained)), untrained);
    // nn-train starts from a checkpoint: 0 more updates of training from
    // step 5 give step 5's weights at fraction 0.
    let e = scratch("resume");
    let t = trained.to_string_lossy().into_owned();
    let extra = ["--optimizer", "sgd", "--lr", "0.5", "--steps", "1", "--save-at", "0", "--checkpoint", &t];
    nn_train(&strs(&train_args(&m, &x, &e, &extra))).ok();
    assert_eq!(weights(&e.join("tiny-mlp-sgd-lr0.5-step0.safetensors")).len(), 4);
    for ((n, a), (_, b)) in weights(&e.join("tiny-mlp-sgd-lr0.5-step0.safetensors")).iter().zip(&weights(&trained)) {
        assert!(a.equal(b), "{n}");
    }
}

#[test]
fn bad_modules_batches_and_checkpoints_are_named() {
    let d = scratch("bad");
    let sgd = ["--optimizer", "sgd", "--lr", "0.1", "--steps", "1"];
    let frozen = train_args(&fixture("frozen-mlp.pt"), &fixture("tiny-mlp.batch.safetensors"), &d, &sgd);
    nn_train(&strs(&frozen)).fails_with(1, &["no parameters that require grad"]);
    let misfit = train_args(&fixture("tiny-mlp.pt"), &fixture("with-loss.batch.safetensors"), &d, &sgd);
    let mut misfit = misfit;
    misfit[9] = "6".into();
    nn_train(&strs(&misfit)).fails_with(1, &["forward does not accept the batch"]);
    let wrong = fixture("tiny-mlp.batch.safetensors");
    let mut ck = train_args(&fixture("tiny-mlp.pt"), &wrong, &d, &sgd);
    ck.extend(["--checkpoint".into(), wrong.clone()]);
    nn_train(&strs(&ck)).fails_with(1, &["--checkpoint", "missing (4)", "unexpected (2)"]);
    let none = ["--torchscript", &fixture("tiny-mlp.pt"), "--optimizer", "sgd", "--lr", "0.1", "--steps", "1"];
    nn_train(&none).fails_with(2, &["--inputs FILE"]);
}
