//! `hvp-dump --torchscript`: a user's module end to end (HuggingFace's
//! GPT-2 through slq-density and block-js), its batch from safetensors with
//! one or several inputs, each loss, and each error the issue names.

use testkit::{all_records, floats, records, run, through, Output};

fn fixture(name: &str) -> String {
    format!("{}/../../testdata/torchscript/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn hvp_dump(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_hvp-dump"), args, "")
}

/// `--torchscript NAME.pt --inputs NAME.batch.safetensors` plus `more`.
fn module(name: &str, more: &[&str]) -> Output {
    let (pt, batch) = (fixture(&format!("{name}.pt")), fixture(&format!("{name}.batch.safetensors")));
    let mut args = vec!["--torchscript", &pt, "--inputs", &batch, "--device", "cpu", "--threads", "1"];
    args.extend(more);
    hvp_dump(&args)
}

#[test]
fn huggingface_gpt2_runs_through_the_pipeline_with_its_own_names() {
    let list = module("gpt2-tiny", &["--list-blocks", "--split-qkv", "--block", "h.0.attn.*"]).ok().stdout;
    let names: Vec<&str> = list.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "transformer.h.0.attn.c_attn.weight",
            "transformer.h.0.attn.bq",
            "transformer.h.0.attn.bk",
            "transformer.h.0.attn.bv",
            "transformer.h.0.attn.c_proj.weight",
            "transformer.h.0.attn.c_proj.bias"
        ]
    );
    let args = ["--block", "wte", "--block", "h.*.mlp.c_fc.weight", "--block", "ln_f.weight", "--probes", "2"];
    let dump = module("gpt2-tiny", &[&args[..], &["--steps", "12"]].concat()).ok().stdout;
    let run_rec = &all_records(&dump)[0];
    assert_eq!(run_rec["model"], "gpt2-tiny");
    assert_eq!(run_rec["dtype"], "f64");
    let tri = records(&dump, "tridiag");
    assert_eq!(tri.len(), 4 * 2);
    assert_eq!(tri[0]["block"], "transformer.wte.weight");
    assert_eq!(tri[0]["dim"], 64 * 16);
    // Same arguments, same bytes.
    assert_eq!(module("gpt2-tiny", &[&args[..], &["--steps", "12"]].concat()).ok().stdout, dump);
    let js = through("block-js", &[], &through("slq-density", &[], &dump));
    let het = records(&js, "heterogeneity");
    assert_eq!(het.len(), 1);
    let v = het[0]["value"].as_f64().unwrap();
    assert!(v > 0.0 && v <= 1.0, "JS0 {v}");
}

fn exact(out: &Output) -> Vec<Vec<f64>> {
    records(&out.stdout, "hessian").iter().map(|r| floats(&r["values"])).collect()
}

#[test]
fn several_inputs_are_sliced_together_into_micro_batches() {
    // Two arguments (input.0, input.1), mse; the Hessian of the mean loss is
    // the same whether the 5 examples go in one batch or in micro-batches.
    let whole = exact(&module("two-inputs", &["--loss", "mse", "--block", "all", "--exact"]).ok());
    let split =
        exact(&module("two-inputs", &["--loss", "mse", "--block", "all", "--exact", "--micro-batch", "2"]).ok());
    assert_eq!(whole.len(), 15);
    let mut big: f64 = 0.0;
    for (a, b) in whole.iter().zip(&split) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-13, "{x} vs {y}");
            big = big.max(x.abs());
        }
    }
    assert!(big > 1e-3, "the Hessian is zero: the test would prove nothing");
}

#[test]
fn a_module_that_returns_its_own_loss() {
    let out = module("with-loss", &["--loss", "module", "--block", "lin.bias", "--exact"]).ok();
    let h = exact(&out);
    // lin.bias has 2 entries: a symmetric 2 x 2 with a positive diagonal
    // (mean squared error of tanh outputs near the origin).
    assert_eq!(h.len(), 2);
    assert!((h[0][1] - h[1][0]).abs() < 1e-14 && h[0][0] > 0.0 && h[1][1] > 0.0, "{h:?}");
}

#[test]
fn cross_entropy_over_class_targets() {
    let out = module("tiny-mlp", &["--block", "out.bias", "--exact"]).ok();
    let h = exact(&out);
    // Softmax cross-entropy in the output bias: H = mean of diag(p) - p p^T,
    // whose rows sum to zero.
    for row in &h {
        assert!(row.iter().sum::<f64>().abs() < 1e-14, "{row:?}");
    }
    assert!(h[0][0] > 0.0);
}

#[test]
fn a_file_that_is_not_torchscript() {
    let batch = fixture("tiny-mlp.batch.safetensors");
    hvp_dump(&["--torchscript", &fixture("examples.py"), "--inputs", &batch])
        .fails_with(1, &["examples.py is not a TorchScript module", "scripts/export-torchscript"]);
    hvp_dump(&["--torchscript", &fixture("no-such.pt"), "--inputs", &batch]).fails_with(1, &["no such file"]);
}

#[test]
fn token_reads_need_a_sequence_length_and_zoo_models_their_context() {
    let pt = fixture("tiny-mlp.pt");
    hvp_dump(&["--torchscript", &pt, "--data", "shakespeare-char", "--reads", "tokens"])
        .fails_with(2, &["--reads tokens needs --seq-len"]);
    hvp_dump(&["--model", "gpt2-small", "--seq-len", "33", "--block", "wte"])
        .fails_with(2, &["--seq-len 33 exceeds the model's context 32"]);
}

#[test]
fn a_forward_whose_signature_does_not_fit_the_inputs() {
    // tiny-mlp's forward(x) given input.0 and input.1.
    let pt = fixture("tiny-mlp.pt");
    hvp_dump(&["--torchscript", &pt, "--inputs", &fixture("two-inputs.batch.safetensors"), "--loss", "mse"])
        .fails_with(1, &["forward does not accept the batch (2 argument(s)", "Declaration: forward("]);
    // A batch whose tensors are not named input / target.
    hvp_dump(&["--torchscript", &pt, "--inputs", &fixture("../quad/README.md")])
        .fails_with(1, &["--inputs", "not a readable safetensors file"]);
}

#[test]
fn a_loss_that_does_not_fit_the_output() {
    module("tiny-mlp", &["--loss", "mse"]).fails_with(2, &["loss `mse`", "[8, 3]", "same shape", "--loss picks"]);
    // Float targets [5, 3] for logits [5, 3].
    module("two-inputs", &["--loss", "cross-entropy"])
        .fails_with(2, &["loss `cross-entropy`", "logits", "Double [5, 3]"]);
    // A loss module run as if it returned logits: its forward wants the target.
    module("with-loss", &["--loss", "cross-entropy"]).fails_with(1, &["missing value for argument 'target'"]);
    module("two-inputs", &["--loss", "module"]).fails_with(1, &["forward does not accept the batch (3 argument(s)"]);
}

#[test]
fn a_module_with_no_parameters_requiring_grad() {
    let (pt, batch) = (fixture("frozen-mlp.pt"), fixture("tiny-mlp.batch.safetensors"));
    hvp_dump(&["--torchscript", &pt, "--inputs", &batch]).fails_with(1, &["no parameters that require grad"]);
}

#[test]
fn an_op_without_double_backward_is_named() {
    let (pt, batch) = (fixture("cdist.pt"), fixture("tiny-mlp.batch.safetensors"));
    hvp_dump(&["--torchscript", &pt, "--inputs", &batch, "--probes", "1", "--steps", "3"])
        .fails_with(1, &["block `centers`", "double backward", "_cdist_backward"]);
}

#[test]
fn a_module_needs_a_batch_and_zoo_flags_do_not_apply() {
    let pt = fixture("tiny-mlp.pt");
    hvp_dump(&["--torchscript", &pt]).fails_with(2, &["needs a Hessian batch", "--inputs", "--reads"]);
    hvp_dump(&["--torchscript", &pt, "--reads", "features"]).fails_with(2, &["--reads needs --data"]);
    hvp_dump(&["--torchscript", &pt, "--model", "mlp"]).fails_with(2, &["--model"]);
    hvp_dump(&["--torchscript", &pt, "--reads", "image:0"]).fails_with(2, &["image size must be positive"]);
    hvp_dump(&["--model", "mlp", "--loss", "mse"]).fails_with(2, &["apply to --torchscript only"]);
    hvp_dump(&["--model", "mlp", "--inputs", "x"]).fails_with(2, &["apply to --torchscript only"]);
}

#[test]
fn the_data_flags_feed_a_module_too() {
    // tiny-mlp reads 10 features: synthetic features of that size do not
    // exist, so the mismatch is reported as the forward's, before any work.
    let pt = fixture("tiny-mlp.pt");
    let out = hvp_dump(&["--torchscript", &pt, "--data", "synthetic", "--reads", "image:4", "--batch-size", "3"]);
    out.fails_with(1, &["forward does not accept the batch", "[3, 3, 4, 4]"]);
}
