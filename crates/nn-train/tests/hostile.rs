//! Hostile inputs to nn-train: each probe that once gave a silent wrong
//! answer, lost data, an abort or a misleading message, with the message
//! and exit status it must give now.

use std::path::{Path, PathBuf};

use testkit::{records, run, Output};

fn nn_train(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_nn-train"), args, "")
}

/// A small MLP on synthetic data, f64, one thread: well under a second.
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
    "3",
    "--optimizer",
    "sgd",
];

/// SMALL with `flag`'s value replaced by `value`.
fn small_with<'a>(flag: &str, value: &'a str) -> Vec<&'a str> {
    let mut args = SMALL.to_vec();
    let at = args.iter().position(|a| *a == flag).expect("a flag of SMALL") + 1;
    args[at] = value;
    args
}

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nn-train-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/torchscript").join(name).to_string_lossy().into_owned()
}

#[test]
fn checkpoints_appear_under_their_names_only_when_whole() {
    let dir = scratch("ckpt");
    let final_name = dir.join("mlp-sgd-lr0.1-step0.safetensors");
    // A witness hard-linked to the final name: a file written in place
    // changes under both names; one written aside and renamed leaves the
    // witness as it was.
    std::fs::write(&final_name, b"an older file").unwrap();
    let witness = dir.join("witness");
    std::fs::hard_link(&final_name, &witness).unwrap();
    let d = dir.to_str().unwrap();
    nn_train(&with(SMALL, &["--lr", "0.1", "--save-at", "0,1", "--save-dir", d])).ok();
    assert_eq!(std::fs::read(&witness).unwrap(), b"an older file", "the checkpoint was written in place");
    let saved = tch::Tensor::read_safetensors(&final_name).expect("a whole checkpoint under the final name");
    assert!(!saved.is_empty());
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["mlp-sgd-lr0.1-step0.safetensors", "mlp-sgd-lr0.1-step3.safetensors", "witness"]);
    // A final name that is a symbolic link: its target gets the checkpoint, the link stays.
    let (link, target) = (dir.join("mlp-sgd-lr0.1-step3.safetensors"), dir.join("elsewhere"));
    std::fs::remove_file(&link).unwrap();
    std::fs::write(&target, b"old").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    nn_train(&with(SMALL, &["--lr", "0.1", "--save-at", "1", "--save-dir", d])).ok();
    assert!(link.is_symlink(), "the link was replaced by a file");
    tch::Tensor::read_safetensors(&target).expect("the checkpoint in the link's target");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_rate_given_twice_is_refused() {
    nn_train(&with(SMALL, &["--lr-grid", "0.1,0.2,0.1"]))
        .fails_with(2, &["--lr-grid has the rate 0.1 twice (positions 1 and 3)", "named by it"]);
}

#[test]
fn threads_and_sizes_are_bounded_and_threads_recorded() {
    nn_train(&with(&small_with("--threads", "100000"), &["--lr", "0.1"]))
        .fails_with(2, &["--threads 100000 is more than 1024"]);
    nn_train(&with(&small_with("--synthetic-examples", "1000000000000"), &["--lr", "0.1"])).fails_with(
        1,
        &["--synthetic-examples 1000000000000 (the training and held-out sets) needs at least", "available"],
    );
    let out = nn_train(&with(SMALL, &["--lr", "0.1"])).ok();
    assert_eq!(records(&out.stdout, "run")[0]["threads"], 1, "{}", out.stdout);
}

#[test]
fn a_diverged_step_leaves_its_held_out_loss_out_rather_than_null() {
    // The first update throws the weights to 1e300: its held-out loss is not finite.
    let out = nn_train(&with(SMALL, &["--lr", "1e300", "--eval-every", "1"])).fails_with(1, &["NaN or infinite"]);
    assert!(!out.stdout.contains("null"), "{}", out.stdout);
    let steps = records(&out.stdout, "step");
    assert!(steps.iter().all(|s| s.get("heldout_loss").is_none_or(|l| l.as_f64().is_some_and(f64::is_finite))));
    assert_eq!(records(&out.stdout, "summary")[0]["diverged_at"], 1, "{}", out.stdout);
}

#[test]
fn negative_values_are_refused_by_range_not_by_a_wrong_tip() {
    let out = nn_train(&with(SMALL, &["--lr", "-0.1"]))
        .fails_with(2, &["learning rates must be positive and finite, got -0.1"]);
    assert!(!out.stderr.contains("use '-- -0.1'"), "{}", out.stderr);
    let out = nn_train(&with(SMALL, &["--lr", "0.1", "--clip", "-1"])).fails_with(2, &["--clip must be positive"]);
    assert!(!out.stderr.contains("use '-- -1'"), "{}", out.stderr);
}

#[test]
fn a_module_without_trainable_parameters_is_named_in_training_terms() {
    let (pt, batch) = (fixture("frozen-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    let out =
        nn_train(&["--torchscript", &pt, "--inputs", &batch, "--optimizer", "sgd", "--lr", "0.1", "--steps", "1"])
            .fails_with(1, &["no parameters that require grad"]);
    assert!(!out.stderr.contains("Hessian"), "{}", out.stderr);
}

#[test]
fn class_targets_out_of_range_are_named_not_a_libtorch_panic() {
    let dir = scratch("targets");
    let pt = fixture("tiny-mlp.pt");
    let file = dir.join("batch.safetensors");
    let name = file.display().to_string();
    for (bad, index) in [(99i64, 3), (-5, 6)] {
        let mut targets = vec![0i64, 1, 2, 0, 1, 2, 0, 1];
        targets[index] = bad;
        let input = tch::Tensor::zeros([8, 10], (tch::Kind::Double, tch::Device::Cpu));
        tch::Tensor::write_safetensors(&[("input", input), ("target", tch::Tensor::from_slice(&targets))], &file)
            .unwrap();
        let args = ["--torchscript", &pt, "--inputs", &name, "--optimizer", "sgd", "--lr", "0.1", "--steps", "1"];
        nn_train(&with(&args, &["--batch-size", "4", "--threads", "1"])).fails_with(
            1,
            &[&format!("target {bad} of example {index}"), "the output's 3", &format!("--inputs {name}")],
        );
    }
    // The flags that choose a data set's examples do not apply to --inputs.
    let batch = fixture("tiny-mlp.batch.safetensors");
    nn_train(&[
        "--torchscript",
        &pt,
        "--inputs",
        &batch,
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--steps",
        "1",
        "--data-seed",
        "3",
    ])
    .fails_with(2, &["'--inputs <FILE>' cannot be used with", "--data-seed"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_data_sets_labels_beyond_a_modules_classes_are_refused_before_work() {
    let dir = scratch("classes");
    // Five classes of labels, 2 x 5 pixels (tiny-mlp's 10 features); tiny-mlp has three outputs.
    tch::Tensor::zeros([8, 2, 5], (tch::Kind::Uint8, tch::Device::Cpu)).write_npy(dir.join("images.npy")).unwrap();
    tch::Tensor::from_slice(&[0i64, 0, 0, 0, 0, 0, 1, 4]).write_npy(dir.join("labels.npy")).unwrap();
    let pt = fixture("tiny-mlp.pt");
    let args = ["--torchscript", &pt, "--data", "npy", "--data-path", dir.to_str().unwrap(), "--reads", "features"];
    nn_train(&with(
        &args,
        &["--optimizer", "sgd", "--lr", "0.1", "--steps", "2", "--batch-size", "1", "--threads", "1"],
    ))
    .fails_with(1, &["the data's labels run from 0 to 4 (5 classes), but the module's output has 3 classes"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn labels_of_a_users_data_are_checked_where_they_are_read() {
    let dir = scratch("labels");
    let images = tch::Tensor::zeros([4, 6, 6], (tch::Kind::Uint8, tch::Device::Cpu));
    images.write_npy(dir.join("images.npy")).unwrap();
    tch::Tensor::from_slice(&[0i64, 1, 1 << 40, 1]).write_npy(dir.join("labels.npy")).unwrap();
    let d = dir.to_str().unwrap();
    let args =
        ["--model", "mlp", "--widths", "4", "--data", "npy", "--data-path", d, "--optimizer", "sgd", "--lr", "0.1"];
    nn_train(&with(&args, &["--steps", "1", "--batch-size", "2"])).fails_with(
        1,
        &[&format!("{}: label 1099511627776 at index 2 is not a class index", dir.join("labels.npy").display())],
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_later_batchs_targets_beyond_the_modules_output_name_the_update_not_a_divergence() {
    // tiny-lm predicts 8 tokens. The text's first window ("aaaa", token 0)
    // passes the check made before work; its 16 distinct characters give
    // training windows with tokens 8..15, which every update must refuse
    // (once read as NaN: "diverged at update 1 (--lr 0.1)").
    let dir = scratch("later-targets");
    let text = dir.join("text.txt");
    std::fs::write(&text, format!("{}{}", "a".repeat(300), "abcdefghijklmnop".repeat(30))).unwrap();
    let pt = fixture("tiny-lm.pt");
    let args = ["--torchscript", &pt, "--data", "text", "--data-path", text.to_str().unwrap(), "--reads", "tokens"];
    let out = nn_train(&with(
        &args,
        &["--seq-len", "4", "--optimizer", "sgd", "--lr", "0.1", "--steps", "3", "--batch-size", "2", "--threads", "1"],
    ))
    .fails_with(1, &["update 1: the training batch: target 8 of example", "is not a class of the output's 8"]);
    assert!(!out.stderr.contains("NaN"), "{}", out.stderr);
    assert!(records(&out.stdout, "summary").is_empty(), "no summary claims a divergence: {}", out.stdout);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_gradient_rule_file_that_does_not_fit_the_model_is_refused_naming_what_and_where() {
    // --lr-scale-from FILE --lr-scale-rule gradient reads hvp-dump's
    // `gradient` records; each misfit is a usage error (exit 2) naming the
    // file, the line or the block, before any training.
    let dir = scratch("gradient-rule");
    let line = |block: &str, dim: u64, norm: f64| {
        format!(
            "{{\"type\":\"gradient\",\"model\":\"mlp\",\"block\":\"{block}\",\"dim\":{dim},\"norm\":{norm},\"weights\":[1.0],\"gram\":[{}]}}\n",
            norm * norm
        )
    };
    let file = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_string_lossy().into_owned()
    };
    let base = with(SMALL, &["--lr", "0.1", "--lr-scale-rule", "gradient", "--lr-scale-from"]);
    let refuse = |path: &str, needles: &[&str]| nn_train(&with(&base, &[path])).fails_with(2, needles);
    let good = format!("{}{}", line("fc1.weight", 4, 6.0), line("fc2.*", 4, 2.0));
    // Only densities (hvp-dump without --gradients): none for this rule.
    let density =
        "{\"type\":\"density\",\"model\":\"mlp\",\"block\":\"fc1.weight\",\"dim\":4,\"probes\":1,\"nodes\":[1.0],\
\"weights\":[1.0],\"node_probe\":[0],\"axis\":\"linear\",\"scale\":1.0,\"sigma\":0.1,\"sigma_mode\":\"absolute\",\
\"grid\":[0.0],\"density\":[1.0],\"lambda_min\":0.0,\"lambda_max\":1.0,\"trace\":1.0}\n";
    let only_density = file("density.jsonl", density);
    refuse(
        &only_density,
        &["density.jsonl", "no `gradient` records", "--lr-scale-rule gradient", "hvp-dump --gradients"],
    );
    // Blocks of another model's parameters.
    let other = file("other.jsonl", &good.replace("fc1.weight", "conv1.weight"));
    refuse(&other, &["`conv1.weight`", "--lr-scale-from", "other.jsonl"]);
    // A zero or non-finite norm, a zero dim, a block twice, a broken line.
    let zero = file("zero.jsonl", &format!("{}{}", line("fc1.weight", 4, 0.0), line("fc2.*", 4, 2.0)));
    refuse(&zero, &["zero.jsonl:1", "block `fc1.weight`", "gradient norm 0", "positive and finite"]);
    let no_dim = file("dim.jsonl", &format!("{}{}", line("fc1.weight", 4, 6.0), line("fc2.*", 0, 2.0)));
    refuse(&no_dim, &["dim.jsonl:2", "block `fc2.*` has dim 0"]);
    let twice = file("twice.jsonl", &format!("{good}{}", line("fc2.*", 4, 1.0)));
    refuse(&twice, &["twice.jsonl:3", "block `fc2.*` has a second `gradient` record"]);
    let broken = file("broken.jsonl", &format!("{good}{{\"type\":\"gradient\",\n"));
    refuse(&broken, &["broken.jsonl:3"]);
    // The rule without a file, and a rule that is not one.
    nn_train(&with(SMALL, &["--lr", "0.1", "--lr-scale-rule", "gradient"])).fails_with(2, &["--lr-scale-from"]);
    let good = file("good.jsonl", &good);
    nn_train(&with(SMALL, &["--lr", "0.1", "--lr-scale-from", &good, "--lr-scale-rule", "hessian"]))
        .fails_with(2, &["hessian", "curvature", "gradient"]);
    std::fs::remove_dir_all(&dir).ok();
}
