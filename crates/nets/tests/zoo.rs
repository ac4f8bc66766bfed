//! Model zoo, block selection and data sets. The data tests assume
//! `scripts/setup` has run (the README's test command runs it first): a
//! missing data set fails them loudly rather than skipping.

use nets::blocks::{glob, select, units, Grouping};
use nets::data::{self, BatchSpec, DataKind, Shape};
use nets::models::build;
use nets::params::natural_cmp;
use nets::zoo::{arch, ModelOptions, ZOO};
use tch::{Device, Kind};

#[test]
fn parameter_counts_match_the_built_models() {
    let big = ["gpt2", "gpt2-nano", "resnet18", "vgg16", "vit-base", "bert"];
    for e in ZOO.iter().filter(|e| !big.contains(&e.name)) {
        let a = arch(e.name, &ModelOptions::default(), 784, 65).unwrap();
        let m = build(&a, Kind::Float, Device::Cpu, 0);
        let n: i64 = nets::params::named_parameters(&m.vs).iter().map(|(_, t)| t.numel() as i64).sum();
        assert_eq!(n, a.param_count(), "{}", e.name);
    }
    // The paper's sizes: GPT2-nano ~11M, GPT-2 124M (nanoGPT vocabulary 50304).
    let nano = arch("gpt2-nano", &ModelOptions::default(), 0, 65).unwrap().param_count();
    assert!((10_000_000..11_500_000).contains(&nano), "{nano}");
    assert_eq!(arch("gpt2", &ModelOptions::default(), 0, 50304).unwrap().param_count(), 124_475_904);
    // The study's presets, counted from nanoGPT's layout by hand (65 characters):
    // wte + wpe + per layer (2 LayerNorms, c_attn, c_proj, c_fc, mlp.c_proj) + ln_f.
    assert_eq!(arch("gpt2-4x64", &ModelOptions::default(), 0, 65).unwrap().param_count(), 208_320);
    assert_eq!(arch("gpt2-4x128", &ModelOptions::default(), 0, 65).unwrap().param_count(), 809_856);
    // LayerNorms put back into the one-layer tiny transformer: 3 x (4 + 4) more.
    let tiny = |name| arch(name, &ModelOptions::default(), 0, 65).unwrap().param_count();
    assert_eq!((tiny("tiny-transformer"), tiny("tiny-transformer-ln")), (388, 412));
    // The paper's MLP 784-300-128-64-10.
    assert_eq!(arch("mlp", &ModelOptions::default(), 784, 10).unwrap().param_count(), 282_934);
}

#[test]
fn nanogpt_names_and_init() {
    let a = arch("gpt2-small", &ModelOptions::default(), 0, 65).unwrap();
    let m = build(&a, Kind::Double, Device::Cpu, 0);
    let vars = m.vs.variables();
    for n in [
        "transformer.wte.weight",
        "transformer.wpe.weight",
        "transformer.h.0.ln_1.weight",
        "transformer.h.1.attn.c_attn.weight",
        "transformer.h.1.attn.c_proj.bias",
        "transformer.h.0.mlp.c_fc.weight",
        "transformer.h.0.mlp.c_proj.weight",
        "transformer.ln_f.bias",
    ] {
        assert!(vars.contains_key(n), "{n} missing");
    }
    let std = |n: &str| f64::try_from(vars[n].std(true)).unwrap();
    assert!((std("transformer.h.0.mlp.c_fc.weight") - 0.02).abs() < 0.002);
    // Residual projections: 0.02 / sqrt(2 * n_layer) = 0.01 for 2 layers.
    assert!((std("transformer.h.0.mlp.c_proj.weight") - 0.01).abs() < 0.001);
    assert_eq!(f64::try_from(vars["transformer.h.0.attn.c_attn.bias"].abs().sum(Kind::Double)).unwrap(), 0.0);
    // Same seed, same weights.
    let m2 = build(&a, Kind::Double, Device::Cpu, 0);
    assert!(m2.vs.variables()["transformer.wte.weight"].equal(&vars["transformer.wte.weight"]));
}

#[test]
fn globs_and_short_names() {
    assert!(glob("h.*.attn.*", "h.0.attn.c_attn.weight"));
    assert!(glob("*wte*", "transformer.wte.weight"));
    assert!(!glob("h.?.mlp", "h.10.mlp"));
    assert!(natural_cmp("h.2.x", "h.10.x").is_lt());
    let a = arch("tiny-transformer", &ModelOptions { layers: Some(2), ..Default::default() }, 0, 7).unwrap();
    let m = build(&a, Kind::Float, Device::Cpu, 0);
    let u = units(&m.vs, true);
    let names = |pats: &[&str], g| -> Vec<String> {
        let pats: Vec<String> = pats.iter().map(|s| s.to_string()).collect();
        select(&u, &pats, g).unwrap().into_iter().map(|b| b.name).collect()
    };
    assert_eq!(names(&["wte"], Grouping::EachTensor), ["transformer.wte.weight"]);
    assert_eq!(names(&["h.*.attn.wq"], Grouping::EachTensor), ["transformer.h.0.attn.wq", "transformer.h.1.attn.wq"]);
    assert_eq!(names(&["h.1.mlp.c_fc"], Grouping::EachTensor), ["transformer.h.1.mlp.c_fc.weight"]);
    assert_eq!(names(&["h.*.attn.wq"], Grouping::PerPattern), ["h.*.attn.wq"]);
    let all = select(&u, &["all".to_string()], Grouping::EachTensor).unwrap();
    assert_eq!(all[0].dim() as i64, a.param_count());
    let e = select(&u, &["c_proj.weight".to_string()], Grouping::EachTensor).unwrap_err().to_string();
    assert!(e.contains("ambiguous") && e.contains("transformer.h.1.mlp.c_proj.weight"), "{e}");
}

fn spec(kind: DataKind, tokens: bool, dir: std::path::PathBuf) -> BatchSpec {
    BatchSpec {
        kind,
        dir,
        batch_size: 4,
        seq_len: 16,
        seed: 3,
        synthetic_vocab: 16,
        input: if tokens { data::Input::Tokens } else { data::Input::Features },
        paths: vec![],
        class_zipf: 0.0,
    }
}

#[test]
fn missing_data_names_the_setup_script() {
    for (k, t) in [(DataKind::Mnist, false), (DataKind::ShakespeareChar, true), (DataKind::ShakespeareBpe, true)] {
        let e = data::load(&spec(k, t, "/nonexistent/data".into()), Kind::Float).err().expect("must fail").to_string();
        assert!(e.contains("scripts/setup") && e.contains("/nonexistent/data"), "{e}");
    }
}

#[test]
fn mnist_is_installed_and_standardized() {
    let m = data::load_mnist(&data::default_data_dir()).expect("MNIST: run scripts/setup first");
    assert_eq!(m.n, 60_000);
    assert_eq!(m.images.len(), 60_000 * 784);
    assert!(m.labels.iter().all(|l| *l < 10));
    let l = data::load(&spec(DataKind::Mnist, false, data::default_data_dir()), Kind::Double).unwrap();
    assert_eq!(l.shape, Shape::Classes { features: 784, classes: 10 });
    assert_eq!(l.batch.x.size(), [4, 784]);
    let again = data::load(&spec(DataKind::Mnist, false, data::default_data_dir()), Kind::Double).unwrap();
    assert!(l.batch.x.equal(&again.batch.x));
}

#[test]
fn shakespeare_characters_and_bpe() {
    let text = data::load_shakespeare(&data::default_data_dir()).expect("Shakespeare: run scripts/setup first");
    assert!(text.len() > 4_000_000, "{}", text.len());
    assert!(text.contains("To be, or not to be"));
    let c = data::char_tokens(&text);
    assert!((60..100).contains(&c.vocab), "{}", c.vocab);
    let l = data::load(&spec(DataKind::ShakespeareChar, true, data::default_data_dir()), Kind::Float).unwrap();
    assert_eq!(l.shape, Shape::Tokens { vocab: c.vocab });
    // Targets are the inputs shifted by one.
    let (x, y) = (l.batch.x, l.batch.y);
    assert!(x.narrow(1, 1, 15).equal(&y.narrow(1, 0, 15)));
    let bpe = data::bpe_tokens("To be, or not to be").unwrap();
    assert_eq!(bpe.ids, [2514, 307, 11, 393, 407, 284, 307]);
}

#[test]
fn every_row_declares_what_its_architecture_reads() {
    for e in nets::zoo::ZOO {
        let a = e.arch(&nets::zoo::ModelOptions::default(), 784, 10).unwrap();
        assert_eq!(a.input(), e.input, "{}: input", e.name);
        assert_eq!(a.block_size(), e.context, "{}: context", e.name);
    }
}
