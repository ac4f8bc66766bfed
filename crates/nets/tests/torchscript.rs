//! TorchScript modules against code no one here wrote: torchvision's
//! ResNet18 against our zoo's ResNet18 on the same weights (HVPs equal to
//! 1e-10 in f64, both BatchNorm modes), and HuggingFace's GPT-2 (HVPs
//! against central finite differences of its gradient).

use std::path::{Path, PathBuf};
use std::process::Command;

use lanczos::SymmetricOperator;
use nets::blocks::{select, units, units_of, Block, Grouping};
use nets::data::Batch;
use nets::hvp::{dense, perturb, BlockHessian, HessianBatch};
use nets::layers::BnMode;
use nets::models::{Arch, Loss, ResNetConfig, TorchScript};
use nets::net::Net;
use rng::SplitMix;
use tch::{Device, Kind, Tensor};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("testdata/torchscript").join(name)
}

fn block(candidates: &[Block], name: &str) -> Block {
    select(candidates, &[name.to_string()], Grouping::PerPattern).unwrap().remove(0)
}

fn hvp(net: &dyn Net, b: &Block, batch: &Batch, v: &[f64]) -> Vec<f64> {
    let mut op = BlockHessian::new(net, b, HessianBatch::whole(batch)).unwrap();
    let mut out = vec![0.0; v.len()];
    op.apply(v, &mut out).unwrap();
    out
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    max_abs(&d) / max_abs(b)
}

/// torchvision's resnet18(weights=None, num_classes=10), scripted (so that
/// train mode reaches its BatchNorm), in f64, with a batch of four 32x32
/// images and its state_dict, written by scripts/export-torchscript.
fn export_resnet18(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (pt, batch, weights) =
        (dir.join("resnet18.pt"), dir.join("batch.safetensors"), dir.join("weights.safetensors"));
    let status = Command::new(repo().join("scripts/export-torchscript"))
        .args(["torchvision.models:resnet18", "--kwargs", r#"{"weights": null, "num_classes": 10}"#, "--script"])
        .args(["--input", "4,3,32,32", "--target", "4:int:10", "--dtype", "float64", "--seed", "3"])
        .arg("--save-batch")
        .arg(&batch)
        .arg("--state-dict")
        .arg(&weights)
        .arg("--out")
        .arg(&pt)
        .status()
        .expect("runs scripts/export-torchscript");
    assert!(
        status.success(),
        "export-torchscript of torchvision's resnet18 failed (scripts/setup installs torchvision)"
    );
    (pt, batch, weights)
}

#[test]
fn torchvision_resnet18_and_our_zoo_resnet18_give_the_same_hvps() {
    tch::set_num_threads(1);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("torchscript-resnet18");
    std::fs::create_dir_all(&dir).unwrap();
    let (pt, batch_file, weights) = export_resnet18(&dir);
    // Deep, middle and last blocks, BatchNorm and convolution weights.
    let names = ["fc.bias", "fc.weight", "layer4.1.bn2.weight", "layer2.0.downsample.0.weight", "bn1.bias"];
    for bn in [BnMode::Running, BnMode::Batch] {
        let mut ts = TorchScript::load(&pt, Device::Cpu, None, Loss::CrossEntropy, bn == BnMode::Batch).unwrap();
        assert_eq!(ts.kind(), Kind::Double);
        let batch = ts.batch_from(Tensor::read_safetensors(&batch_file).unwrap(), "batch").unwrap();
        ts.check(&batch).unwrap();
        let theirs = units_of(ts.named_parameters(), false);

        let cfg = ResNetConfig { image: 32, ..ResNetConfig::resnet18(10, bn) };
        let zoo = nets::models::build(&Arch::ResNet(cfg), Kind::Double, Device::Cpu, 0);
        nets::checkpoint::load(&zoo.vs, &weights).unwrap();
        let ours = units(&zoo.vs, false);
        // Same parameter names, same shapes (ours are in natural order).
        let mut a: Vec<(String, Vec<i64>)> = theirs.iter().map(|b| (b.name.clone(), b.shape())).collect();
        let mut b: Vec<(String, Vec<i64>)> = ours.iter().map(|b| (b.name.clone(), b.shape())).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        // The same logits first.
        let (lt, lo) = (ts.output(&batch).unwrap(), zoo.net.output(&batch).unwrap());
        let dl = f64::try_from((&lt - &lo).abs().max()).unwrap();
        assert!(dl < 1e-12, "{bn:?}: logits differ by {dl}");

        for name in names {
            let (bt, bo) = (block(&theirs, name), block(&ours, name));
            for seed in [1, 2] {
                let v = lanczos::Probe::Gaussian.vector(bt.dim(), &mut SplitMix::new(seed));
                let (ht, ho) = (hvp(&ts, &bt, &batch, &v), hvp(zoo.net.as_ref(), &bo, &batch, &v));
                assert!(max_abs(&ho) > 1e-8, "{bn:?} {name}: H v is zero, the test would prove nothing");
                let e = rel_err(&ht, &ho);
                eprintln!("{bn:?} {name} probe {seed}: relative difference {e:.2e}");
                assert!(e < 1e-10, "{bn:?} {name}: torchvision and zoo HVPs differ, relative {e:e}");
            }
        }
    }
}

/// Dense Hessian of the block by HVPs and by central differences of the
/// gradient (step eps), as (hvp, fd).
fn hessians(net: &dyn Net, b: &Block, batch: &Batch, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let one = || HessianBatch::whole(batch);
    let h = dense(&mut BlockHessian::new(net, b, one()).unwrap(), |_| {}).unwrap();
    let grad = || BlockHessian::new(net, b, one()).unwrap().gradient().unwrap();
    let n = b.dim();
    let mut fd = vec![0.0; n * n];
    let mut e = vec![0.0; n];
    for j in 0..n {
        e[j] = eps;
        perturb(b, &e);
        let gp = grad();
        e[j] = -2.0 * eps;
        perturb(b, &e);
        let gm = grad();
        e[j] = eps;
        perturb(b, &e);
        e[j] = 0.0;
        for i in 0..n {
            fd[i * n + j] = (gp[i] - gm[i]) / (2.0 * eps);
        }
    }
    (h, fd)
}

#[test]
fn huggingface_gpt2_hvps_match_finite_differences() {
    tch::set_num_threads(1);
    let mut ts = TorchScript::load(&fixture("gpt2-tiny.pt"), Device::Cpu, None, Loss::CrossEntropy, false).unwrap();
    let batch =
        ts.batch_from(Tensor::read_safetensors(fixture("gpt2-tiny.batch.safetensors")).unwrap(), "batch").unwrap();
    ts.check(&batch).unwrap();
    let candidates = units_of(ts.named_parameters(), true);
    // A generic point: at HuggingFace's initialization (std 0.02) attention
    // has almost no curvature.
    let all = block(&candidates, "all");
    let d: Vec<f64> =
        lanczos::Probe::Gaussian.vector(all.dim(), &mut SplitMix::new(7)).iter().map(|x| x * 0.3).collect();
    perturb(&all, &d);
    // --split-qkv works on HuggingFace's names too (Conv1D: [C, 3C], so the
    // split is along rows only where rows are 3C: here the bias).
    assert!(candidates.iter().any(|b| b.name == "transformer.h.0.attn.bq"));
    for name in ["transformer.h.0.attn.bq", "transformer.h.1.ln_2.weight", "transformer.ln_f.bias"] {
        let b = block(&candidates, name);
        let (h, fd) = hessians(&ts, &b, &batch, 1e-4);
        assert!(max_abs(&h) > 1e-6, "{name}: Hessian is zero, the test would prove nothing");
        let e = rel_err(&fd, &h);
        eprintln!("{name}: finite differences against HVPs, relative {e:.2e}");
        assert!(e < 1e-6, "{name}: HVPs and finite differences differ, relative {e:e}");
    }
}
