//! ResNet18, VGG16, ViT and BERT: parameter counts against the reference
//! implementations (computed from shapes, nothing allocated for the paper
//! sizes), names, output shapes, block HVPs against finite differences on
//! tiny configurations (f64), BatchNorm modes, and the data they read.

mod common;

use common::*;
use lanczos::SymmetricOperator;
use nets::data::{self, Batch, BatchSpec, DataKind, Input, Shape};
use nets::hvp::{BlockHessian, HessianBatch};
use nets::layers::BnMode;
use nets::models::{build, Arch, BertConfig, Built, ResNetConfig, VggConfig, VitConfig};
use nets::params::named_parameters;
use nets::zoo::{arch, ModelOptions};
use rng::SplitMix;
use tch::{Device, Kind, Tensor};

fn count(name: &str, classes: i64) -> i64 {
    arch(name, &ModelOptions::default(), 0, classes).unwrap().param_count()
}

#[test]
fn paper_sizes_equal_the_reference_parameter_counts() {
    // torchvision.models.resnet18(), vgg16() and timm's vit_base_patch16_224,
    // all with 1000 classes.
    assert_eq!(count("resnet18", 1000), 11_689_512);
    assert_eq!(count("vgg16", 1000), 138_357_544);
    assert_eq!(count("vit-base", 1000), 86_567_656);
    // The paper's BERT with the blog's vocabulary (bert-base-uncased,
    // 30522): 37.6M without the masked-LM head (the paper's "40M"), plus
    // the head's 23.5M.
    let bert = count("bert", 30522);
    let head = 768 * 30522 + 30522;
    assert_eq!(bert - head, 37_666_562);
    assert_eq!(bert, 61_137_980);
}

#[test]
fn small_configs_count_what_they_build_and_buffers_are_not_parameters() {
    for name in ["resnet18-narrow", "vgg-small", "vit-small", "bert-small"] {
        let a = arch(name, &ModelOptions::default(), 0, 10).unwrap();
        let m = build(&a, Kind::Float, Device::Cpu, 0);
        let n: i64 = named_parameters(&m.vs).iter().map(|(_, t)| t.numel() as i64).sum();
        assert_eq!(n, a.param_count(), "{name}");
    }
    // torchvision / timm / blog names.
    let names = |name: &str| -> Vec<String> {
        let a = arch(name, &ModelOptions::default(), 0, 10).unwrap();
        let m = build(&a, Kind::Float, Device::Cpu, 0);
        named_parameters(&m.vs).into_iter().map(|(n, _)| n).collect()
    };
    let r = names("resnet18-narrow");
    for n in [
        "conv1.weight",
        "bn1.weight",
        "layer1.0.conv1.weight",
        "layer1.1.bn2.bias",
        "layer2.0.downsample.0.weight",
        "layer4.0.downsample.1.weight",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(r.contains(&n.to_string()), "{n} missing in {r:?}");
    }
    assert_eq!(r.len(), 62);
    assert!(!r.iter().any(|n| n.contains("running")));
    let v = names("vgg-small");
    for n in [
        "features.0.weight",
        "features.2.bias",
        "features.28.weight",
        "classifier.0.weight",
        "classifier.3.weight",
        "classifier.6.bias",
    ] {
        assert!(v.contains(&n.to_string()), "{n} missing in {v:?}");
    }
    assert_eq!(v.len(), 32);
    let t = names("vit-small");
    for n in [
        "patch_embed.proj.weight",
        "cls_token",
        "pos_embed",
        "blocks.0.norm1.weight",
        "blocks.1.attn.qkv.weight",
        "blocks.1.attn.proj.bias",
        "blocks.0.mlp.fc1.weight",
        "blocks.0.mlp.fc2.weight",
        "norm.weight",
        "head.weight",
    ] {
        assert!(t.contains(&n.to_string()), "{n} missing in {t:?}");
    }
    let b = names("bert-small");
    for n in [
        "embedding.token.weight",
        "embedding.segment.weight",
        "embedding.position.weight",
        "encoder.0.query.weight",
        "encoder.1.key.bias",
        "encoder.0.value.weight",
        "encoder.0.output_linear.weight",
        "encoder.0.fc1.weight",
        "encoder.0.fc2.weight",
        "encoder.0.layernorm.weight",
        "next_sentence.linear.weight",
        "mask_lm.linear.weight",
    ] {
        assert!(b.contains(&n.to_string()), "{n} missing in {b:?}");
    }
}

#[test]
fn reference_initializations() {
    let std = |m: &Built, n: &str| {
        let vars = m.vs.variables();
        f64::try_from(vars[n].to_kind(Kind::Double).std(true)).unwrap()
    };
    let a = arch("resnet18-narrow", &ModelOptions::default(), 0, 10).unwrap();
    let m = build(&a, Kind::Double, Device::Cpu, 0);
    // Kaiming normal, fan_out: sqrt(2 / (64 * 9)) for layer4's 3x3 convolutions.
    let s = std(&m, "layer4.1.conv2.weight");
    assert!((s / (2.0f64 / 576.0).sqrt() - 1.0).abs() < 0.05, "{s}");
    let vars = m.vs.variables();
    assert!(!vars["layer1.0.bn1.running_var"].requires_grad());
    let a = arch("vit-small", &ModelOptions::default(), 0, 10).unwrap();
    let m = build(&a, Kind::Double, Device::Cpu, 0);
    assert!((std(&m, "blocks.0.mlp.fc1.weight") - 0.02).abs() < 0.002);
    assert!(std(&m, "cls_token") < 1e-5);
    let a = arch("bert-small", &ModelOptions::default(), 0, 20).unwrap();
    let m = build(&a, Kind::Double, Device::Cpu, 0);
    let tok = &m.vs.variables()["embedding.token.weight"];
    assert_eq!(f64::try_from(tok.get(0).abs().sum(Kind::Double)).unwrap(), 0.0);
    assert!((std(&m, "embedding.position.weight") - 1.0).abs() < 0.1);
}

fn synthetic(input: Input, n: i64, seq_len: i64, vocab: i64, kind: Kind) -> data::Loaded {
    data::load(
        &BatchSpec {
            kind: DataKind::Synthetic,
            dir: "/nonexistent".into(),
            batch_size: n,
            seq_len,
            seed: 1,
            synthetic_vocab: vocab,
            input,
            paths: vec![],
            class_zipf: 0.0,
        },
        kind,
    )
    .unwrap()
}

#[test]
fn forward_output_shapes() {
    for (name, expect) in [("resnet18-narrow", vec![2, 10]), ("vgg-small", vec![2, 10]), ("vit-small", vec![2, 10])] {
        let a = arch(name, &ModelOptions::default(), 0, 10).unwrap();
        let m = build(&a, Kind::Float, Device::Cpu, 0);
        let l = synthetic(a.input(), 2, 0, 0, Kind::Float);
        assert_eq!(l.batch.x.size(), [2, 3, 32, 32]);
        m.net.check(&l.batch).unwrap();
        assert_eq!(m.net.output(&l.batch).unwrap().size(), expect, "{name}");
        assert!(f64::try_from(m.net.loss(&l.batch)).unwrap().is_finite());
    }
    let l = synthetic(Input::MaskedLm, 3, 32, 16, Kind::Float);
    assert_eq!(l.shape, Shape::Tokens { vocab: 20 });
    let a = arch("bert-small", &ModelOptions::default(), 0, 20).unwrap();
    let m = build(&a, Kind::Float, Device::Cpu, 0);
    m.net.check(&l.batch).unwrap();
    assert_eq!(m.net.output(&l.batch).unwrap().size(), [3, 32, 20]);
    assert!(f64::try_from(m.net.loss(&l.batch)).unwrap().is_finite());
    // The wrong images are an error, not a crash.
    let wrong = synthetic(Input::Image { size: 16 }, 2, 0, 0, Kind::Float);
    let a = arch("vit-small", &ModelOptions::default(), 0, 10).unwrap();
    let m = build(&a, Kind::Float, Device::Cpu, 0);
    assert!(m.net.check(&wrong.batch).is_err());
}

fn image_batch(n: usize, size: i64, classes: u64, seed: u64) -> Batch {
    let mut r = SplitMix::new(seed);
    let s = size as usize;
    let x: Vec<f64> = (0..n * 3 * s * s).map(|_| r.normal()).collect();
    let y: Vec<i64> = (0..n).map(|_| r.below(classes) as i64).collect();
    Batch { x: Tensor::from_slice(&x).view([n as i64, 3, size, size]), y: Tensor::from_slice(&y) }
}

fn tiny_resnet(bn: BnMode) -> Built {
    let a = Arch::ResNet(ResNetConfig { width: 2, blocks: [1, 1, 1, 1], classes: 3, image: 16, bn });
    build(&a, Kind::Double, Device::Cpu, 5)
}

#[test]
fn resnet_hvp_equals_finite_differences_in_both_batchnorm_modes() {
    let batch = image_batch(4, 16, 3, 31);
    for bn in [BnMode::Running, BnMode::Batch] {
        let m = tiny_resnet(bn);
        // A convolution and a BatchNorm of the same stage, and the head.
        // ReLU and max-pool kinks: steps small enough not to cross one
        // (batch statistics move every pre-activation at once: smaller).
        let (eps, h) = match bn {
            BnMode::Running => (1e-3, 1e-4),
            BnMode::Batch => (2e-4, 2e-5),
        };
        for pat in ["layer2.0.conv1.weight", "layer2.0.bn1.*", "fc.weight"] {
            let b = block(&m, pat, false);
            check_against_finite_differences(&m, &b, &batch, eps, h);
        }
    }
}

#[test]
fn batchnorm_modes_and_micro_batches() {
    let batch = image_batch(6, 16, 3, 32);
    let v_for = |b: &nets::blocks::Block| lanczos::Probe::Gaussian.vector(b.dim(), &mut SplitMix::new(3));
    let apply = |m: &Built, size: i64| {
        let b = block(m, "layer3.0.conv1.weight", false);
        let v = v_for(&b);
        let mut hv = vec![0.0; b.dim()];
        BlockHessian::new(m.net.as_ref(), &b, HessianBatch::Held { batch: &batch, micro: Some(size) })
            .unwrap()
            .apply(&v, &mut hv)
            .unwrap();
        hv
    };
    // Running statistics: examples are independent, micro-batches agree.
    let m = tiny_resnet(BnMode::Running);
    assert!(rel_err(&apply(&m, 2), &apply(&m, 6)) < 1e-12);
    // Batch statistics: they do not (and the two modes differ).
    let mb = tiny_resnet(BnMode::Batch);
    assert!(rel_err(&apply(&mb, 2), &apply(&mb, 6)) > 1e-3);
    assert!(rel_err(&apply(&mb, 6), &apply(&m, 6)) > 1e-3);
}

#[test]
fn vgg_hvp_equals_finite_differences() {
    let a = Arch::Vgg(VggConfig {
        widths: [4, 4, 4, 4, 4],
        repeats: [1, 1, 1, 1, 1],
        hidden: 8,
        pool: 1,
        classes: 3,
        image: 32,
    });
    let m = build(&a, Kind::Double, Device::Cpu, 6);
    // VGG's classifier starts at std 0.01: its Hessian is ~1e-12 at init.
    randomize(&m, 0.3, 11);
    let batch = image_batch(4, 32, 3, 33);
    for pat in ["features.6.*", "classifier.3.weight"] {
        let b = block(&m, pat, false);
        check_against_finite_differences(&m, &b, &batch, 1e-3, 1e-4);
    }
}

#[test]
fn vit_hvp_equals_finite_differences() {
    let a = Arch::Vit(VitConfig { image: 8, patch: 4, dim: 4, depth: 1, heads: 2, mlp: 8, classes: 3 });
    let m = build(&a, Kind::Double, Device::Cpu, 7);
    randomize(&m, 0.5, 8);
    let batch = image_batch(3, 8, 3, 34);
    for pat in ["blocks.0.attn.*", "pos_embed"] {
        let b = block(&m, pat, false);
        check_against_finite_differences(&m, &b, &batch, 1e-2, 1e-4);
    }
}

#[test]
fn bert_hvp_equals_finite_differences() {
    let a = Arch::Bert(BertConfig { vocab: 6 + data::BERT_SPECIALS, dim: 4, layers: 1, heads: 2, ff: 8, seq_len: 7 });
    let m = build(&a, Kind::Double, Device::Cpu, 9);
    randomize(&m, 0.3, 10);
    let l = synthetic(Input::MaskedLm, 3, 7, 6, Kind::Double);
    for pat in ["encoder.0.query.weight", "encoder.0.layernorm.*", "embedding.segment"] {
        let b = block(&m, pat, false);
        check_against_finite_differences(&m, &b, &l.batch, 1e-2, 2e-4);
    }
}

#[test]
fn bert_batches_are_deterministic_and_well_formed() {
    let ids: Vec<i64> = (0..5000).map(|i| (i * 7 % 13) as i64).collect();
    let spec = |seed| BatchSpec {
        kind: DataKind::Synthetic,
        dir: "/nonexistent".into(),
        batch_size: 8,
        seq_len: 21,
        seed,
        synthetic_vocab: 13,
        input: Input::MaskedLm,
        paths: vec![],
        class_zipf: 0.0,
    };
    let b1 = data::masked_lm(&ids, 13, &spec(1), &mut SplitMix::new(1)).unwrap();
    let b2 = data::masked_lm(&ids, 13, &spec(1), &mut SplitMix::new(1)).unwrap();
    assert!(b1.x.equal(&b2.x) && b1.y.equal(&b2.y));
    assert_eq!(b1.x.size(), [8, 2, 21]);
    assert_eq!(b1.y.size(), [8, 22]);
    let tok = b1.x.select(1, 0);
    assert!(tok.select(1, 0).eq(data::BERT_CLS).all().int64_value(&[]) == 1);
    assert!(tok.select(1, 20).eq(data::BERT_SEP).all().int64_value(&[]) == 1);
    assert!(tok.select(1, 10).eq(data::BERT_SEP).all().int64_value(&[]) == 1);
    // Every sequence has a masked position; labels are tokens or -100.
    let mlm = b1.y.narrow(1, 0, 21);
    assert!(mlm.ne(-100).sum_dim_intlist(1, false, Kind::Int64).min().int64_value(&[]) >= 1);
    let nsp = b1.y.select(1, 21);
    assert!(nsp.ge(0).logical_and(&nsp.le(1)).all().int64_value(&[]) == 1);
}

#[test]
fn images_are_replicated_resized_and_deterministic() {
    let dir = data::default_data_dir();
    let spec = |kind, input| BatchSpec {
        kind,
        dir: dir.clone(),
        batch_size: 3,
        seq_len: 0,
        seed: 2,
        synthetic_vocab: 16,
        input,
        paths: vec![],
        class_zipf: 0.0,
    };
    let a = data::load(&spec(DataKind::Mnist, Input::Image { size: 32 }), Kind::Double).unwrap();
    assert_eq!(a.batch.x.size(), [3, 3, 32, 32]);
    let x = &a.batch.x;
    assert!(x.select(1, 0).equal(&x.select(1, 2)));
    let b = data::load(&spec(DataKind::Mnist, Input::Image { size: 32 }), Kind::Double).unwrap();
    assert!(a.batch.x.equal(&b.batch.x));
    // The same images as the MLP's features, resized.
    let f = data::load(&spec(DataKind::Mnist, Input::Features), Kind::Double).unwrap();
    assert!(f.batch.y.equal(&a.batch.y));
    let back = f.batch.x.view([3, 1, 28, 28]).upsample_bilinear2d([32, 32], false, None, None);
    assert!(back.equal(&x.narrow(1, 0, 1)));
    let fm = data::load(&spec(DataKind::FashionMnist, Input::Image { size: 32 }), Kind::Float)
        .expect("Fashion-MNIST: install dataset-fashion-mnist (scripts/setup)");
    assert_eq!(fm.batch.x.size(), [3, 3, 32, 32]);
    assert_eq!(fm.shape, Shape::Classes { features: 3 * 32 * 32, classes: 10 });
}
