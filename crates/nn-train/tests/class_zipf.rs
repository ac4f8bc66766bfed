//! --class-zipf end to end on a user's IDX images with known labels: 0 is
//! byte-identical to no flag, S > 0 trains on the closed-form subset and
//! reports held-out accuracy per half of the classes, hvp-dump draws its
//! Hessian batch from the same kind of subset, and bad uses are refused.

use std::path::{Path, PathBuf};

use testkit::{records, run, Output};

fn nn_train(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_nn-train"), args, "")
}

fn write_idx(path: &Path, dims: &[u32], bytes: &[u8]) {
    let mut b = vec![0u8, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(bytes);
    std::fs::write(path, b).unwrap();
}

/// 100 images of 4x4 pixels, example i of class i mod 3: the training part
/// (first 90) has 30 of each class, the held-out part (last 10) 4, 3, 3.
fn idx_pair(name: &str) -> (PathBuf, PathBuf) {
    let d = std::env::temp_dir().join(format!("nn-train-zipf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let pixels: Vec<u8> = (0..1600u32).map(|i| (i * 37 % 251) as u8).collect();
    let labels: Vec<u8> = (0..100u8).map(|i| i % 3).collect();
    write_idx(&d.join("img"), &[100, 4, 4], &pixels);
    write_idx(&d.join("lab"), &[100], &labels);
    (d.join("img"), d.join("lab"))
}

fn args<'a>(img: &'a Path, lab: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "--model",
        "mlp",
        "--widths",
        "5",
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
        "5",
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--threads",
        "1",
        "--dtype",
        "f64",
    ];
    a.extend(extra);
    a
}

#[test]
fn zero_is_byte_identical_to_no_flag() {
    let (img, lab) = idx_pair("zero");
    let plain = nn_train(&args(&img, &lab, &[])).ok();
    let zero = nn_train(&args(&img, &lab, &["--class-zipf", "0"])).ok();
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&plain.stdout), body(&zero.stdout));
    assert!(records(&zero.stdout, "run")[0].get("class_zipf").is_none());
    assert!(!plain.stdout.contains("frequent_half"));
}

#[test]
fn an_exponent_trains_on_the_closed_form_subset_and_reports_each_half() {
    let (img, lab) = idx_pair("one");
    let o = nn_train(&args(&img, &lab, &["--class-zipf", "1", "--data-seed", "4"])).ok();
    assert_eq!(records(&o.stdout, "run")[0]["class_zipf"].as_f64(), Some(1.0));
    // 30, 15, 10 of classes 0, 1, 2 kept: 55 examples, 5 per update.
    let steps = records(&o.stdout, "step");
    assert_eq!(steps[0]["epoch"].as_f64(), Some(5.0 / 55.0));
    // Held out: classes 0 and 1 (k < 3/2) are the frequent half, 7 examples; class 2 the rare, 3.
    for s in steps.iter().filter(|s| s.get("heldout_accuracy").is_some()) {
        let (all, frequent, rare) = (
            s["heldout_accuracy"].as_f64().unwrap(),
            s["heldout_accuracy_frequent_half"].as_f64().unwrap(),
            s["heldout_accuracy_rare_half"].as_f64().unwrap(),
        );
        assert!(((7.0 * frequent).round() - 7.0 * frequent).abs() < 1e-9, "{frequent} is not k/7");
        assert!(((3.0 * rare).round() - 3.0 * rare).abs() < 1e-9, "{rare} is not k/3");
        assert!((all - (7.0 * frequent + 3.0 * rare) / 10.0).abs() < 1e-12, "{s}");
        // The halves' mean cross-entropies, weighted by their examples, are the held-out loss (f64).
        let (loss, lf, lr) = (
            s["heldout_loss"].as_f64().unwrap(),
            s["heldout_loss_frequent_half"].as_f64().unwrap(),
            s["heldout_loss_rare_half"].as_f64().unwrap(),
        );
        assert!((loss - (7.0 * lf + 3.0 * lr) / 10.0).abs() < 1e-12, "{s}");
        assert!(lf > 0.0 && lr > 0.0 && lf != lr, "{s}");
    }
    let summary = &records(&o.stdout, "summary")[0];
    assert!(summary["final_heldout_accuracy_rare_half"].as_f64().is_some(), "{summary}");
    assert!(summary["final_heldout_loss_rare_half"].as_f64().is_some(), "{summary}");
    // Another data seed keeps other examples of classes 1 and 2.
    let other = nn_train(&args(&img, &lab, &["--class-zipf", "1", "--data-seed", "5"])).ok();
    let losses = |o: &Output| records(&o.stdout, "step").iter().map(|s| s["train_loss"].clone()).collect::<Vec<_>>();
    assert_ne!(losses(&o), losses(&other));
}

#[test]
fn hvp_dump_draws_its_batch_from_the_subset() {
    // hvp-dump reads the whole file (34, 33, 33): at S = 1, 34 + 17 + 11 = 62 examples.
    let (img, lab) = idx_pair("hvp");
    let hvp = |batch: &str| {
        let a = [
            "--model",
            "mlp",
            "--widths",
            "5",
            "--data",
            "idx",
            "--data-path",
            img.to_str().unwrap(),
            "--data-path",
            lab.to_str().unwrap(),
            "--class-zipf",
            "1",
            "--batch-size",
            batch,
            "--probes",
            "1",
            "--steps",
            "3",
            "--block",
            "fc1.weight",
            "--threads",
            "1",
        ];
        run(testkit::bin("hvp-dump"), &a, "")
    };
    let o = hvp("62").ok();
    assert_eq!(records(&o.stdout, "run")[0]["class_zipf"].as_f64(), Some(1.0));
    hvp("63").fails_with(2, &["63", "62"]);
}

#[test]
fn data_without_labelled_images_and_bad_exponents_are_refused() {
    let train = |extra: &[&str]| {
        let mut a = vec!["--optimizer", "sgd", "--lr", "0.1", "--steps", "1"];
        a.extend(extra);
        nn_train(&a)
    };
    train(&["--model", "mlp", "--data", "synthetic", "--class-zipf", "1"])
        .fails_with(2, &["--class-zipf", "`synthetic`"]);
    train(&["--model", "gpt2-nano", "--data", "text", "--data-path", "/nonexistent.txt", "--class-zipf", "0.5"])
        .fails_with(2, &["--class-zipf", "`text` read as tokens"]);
    let fixture = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/torchscript").join(name);
    let (module, batch) = (fixture("tiny-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    let (module, batch) = (module.to_str().unwrap(), batch.to_str().unwrap());
    train(&["--torchscript", module, "--inputs", batch, "--class-zipf", "1"])
        .fails_with(2, &["--class-zipf", "--inputs"]);
    let hvp = ["--torchscript", module, "--inputs", batch, "--class-zipf", "1", "--probes", "1", "--steps", "2"];
    run(testkit::bin("hvp-dump"), &hvp, "").fails_with(2, &["--class-zipf", "--inputs"]);
    for bad in ["--class-zipf=-1", "--class-zipf=nan", "--class-zipf=inf"] {
        train(&["--model", "mlp", "--data", "mnist", bad]).fails_with(2, &["--class-zipf", "finite and at least 0"]);
    }
}
