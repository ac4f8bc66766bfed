//! Convolutional networks under torchvision's parameter names: ResNet18
//! (`conv1`, `bn1`, `layer1.0.conv1`, ..., `layer2.0.downsample.0`, `fc`) and
//! VGG16 without BatchNorm (`features.N`, `classifier.N`, N the index of the
//! layer in torchvision's `nn.Sequential`, ReLU and pooling layers counted).
//!
//! Initialization as torchvision: convolutions Kaiming normal with
//! `mode="fan_out"`, ReLU gain (std sqrt(2 / (out * k * k))), no bias in
//! ResNet and zero bias in VGG; BatchNorm weight 1, bias 0, running mean 0,
//! running variance 1; ResNet's `fc` PyTorch's default Linear init, VGG's
//! classifier normal(0, 0.01) with zero bias. VGG's dropout layers are left
//! out (their indices 2 and 5 stay unused, as in the reference names).
//!
//! BatchNorm is written out (mean, variance, affine) rather than called, so
//! that both modes are plainly twice differentiable and nothing is updated
//! in place during a Hessian computation.

use tch::nn::{Init, Path};
use tch::Tensor;

use crate::data::Batch;
use crate::models::{cross_entropy, Linear, Net};
use crate::{Error, Result};

/// Which statistics BatchNorm normalizes with while the Hessian is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BnMode {
    /// The stored running mean and variance (PyTorch's `model.eval()`): each
    /// example's loss depends on that example only, so the Hessian is the
    /// same whatever the micro-batch split, and it is what the authors' code
    /// computes (it calls `model.eval()` before its Hessian-vector
    /// products). At initialization the running statistics are 0 and 1.
    #[default]
    Running,
    /// The batch's own mean and (biased) variance (PyTorch's `model.train()`
    /// forward, without updating the running statistics). Deterministic for
    /// a fixed batch, but the examples are coupled: with --micro-batch each
    /// micro-batch is normalized by its own statistics, which changes the
    /// Hessian.
    Batch,
}

impl BnMode {
    pub fn name(self) -> &'static str {
        match self {
            BnMode::Running => "running",
            BnMode::Batch => "batch",
        }
    }
}

impl std::str::FromStr for BnMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "running" | "eval" => Ok(BnMode::Running),
            "batch" | "train" => Ok(BnMode::Batch),
            _ => Err(format!(
                "unknown BatchNorm mode `{s}` (expected running or batch)"
            )),
        }
    }
}

/// BatchNorm epsilon (PyTorch's default).
const BN_EPS: f64 = 1e-5;

struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

impl BatchNorm {
    fn new(p: &Path, c: i64) -> Self {
        let buffer =
            |name: &str, v: f64| p.add(name, Tensor::full([c], v, (p.kind(), p.device())), false);
        BatchNorm {
            weight: p.var("weight", &[c], Init::Const(1.0)),
            bias: p.var("bias", &[c], Init::Const(0.0)),
            running_mean: buffer("running_mean", 0.0),
            running_var: buffer("running_var", 1.0),
        }
    }

    fn forward(&self, x: &Tensor, mode: BnMode) -> Tensor {
        let shape = [1, -1, 1, 1];
        let (mean, var) = match mode {
            BnMode::Running => (
                self.running_mean.to_kind(x.kind()).view(shape),
                self.running_var.to_kind(x.kind()).view(shape),
            ),
            BnMode::Batch => {
                let mean = x.mean_dim([0i64, 2, 3].as_slice(), true, x.kind());
                let var = (x - &mean)
                    .square()
                    .mean_dim([0i64, 2, 3].as_slice(), true, x.kind());
                (mean, var)
            }
        };
        (x - mean) * (var + BN_EPS).rsqrt() * self.weight.view(shape) + self.bias.view(shape)
    }
}

fn params(c: i64) -> i64 {
    2 * c
}

/// A convolution weight [out, in, k, k] with torchvision's init (Kaiming
/// normal, fan_out, ReLU gain).
fn conv_weight(p: &Path, cin: i64, cout: i64, k: i64) -> Tensor {
    let std = (2.0 / (cout * k * k) as f64).sqrt();
    p.var(
        "weight",
        &[cout, cin, k, k],
        Init::Randn {
            mean: 0.0,
            stdev: std,
        },
    )
}

fn conv(x: &Tensor, w: &Tensor, b: Option<&Tensor>, stride: i64, pad: i64) -> Tensor {
    x.conv2d(w, b, [stride, stride], [pad, pad], [1, 1], 1)
}

fn check_images(batch: &Batch, image: i64) -> Result<()> {
    let s = batch.x.size();
    if s.len() != 4 || s[1] != 3 || s[2] != image || s[3] != image {
        return Err(Error::invalid(format!(
            "expected images [N, 3, {image}, {image}], got {s:?}"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct ResNetConfig {
    /// Channels of the stem and of layer1 (64 in ResNet18); layer k has
    /// width * 2^(k-1).
    pub width: i64,
    /// BasicBlocks per stage ([2, 2, 2, 2] in ResNet18).
    pub blocks: [i64; 4],
    pub classes: i64,
    /// Input images are [N, 3, image, image].
    pub image: i64,
    pub bn: BnMode,
}

impl ResNetConfig {
    pub fn param_count(&self) -> i64 {
        let w = self.width;
        let mut n = 3 * w * 49 + params(w);
        let mut cin = w;
        for (s, &nb) in self.blocks.iter().enumerate() {
            let planes = w << s;
            for b in 0..nb {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                n += cin * planes * 9 + params(planes) + planes * planes * 9 + params(planes);
                if b == 0 && (stride != 1 || cin != planes) {
                    n += cin * planes + params(planes);
                }
                cin = planes;
            }
        }
        n + cin * self.classes + self.classes
    }
}

struct BasicBlock {
    conv1: Tensor,
    bn1: BatchNorm,
    conv2: Tensor,
    bn2: BatchNorm,
    downsample: Option<(Tensor, BatchNorm)>,
    stride: i64,
}

/// torchvision's ResNet with BasicBlocks (ResNet18 for [2, 2, 2, 2], width 64).
pub struct ResNet {
    cfg: ResNetConfig,
    conv1: Tensor,
    bn1: BatchNorm,
    layers: Vec<Vec<BasicBlock>>,
    fc: Linear,
}

impl ResNet {
    pub fn new(p: &Path, c: &ResNetConfig) -> Self {
        let w = c.width;
        let conv1 = conv_weight(&(p / "conv1"), 3, w, 7);
        let bn1 = BatchNorm::new(&(p / "bn1"), w);
        let mut cin = w;
        let mut layers = Vec::new();
        for (s, &nb) in c.blocks.iter().enumerate() {
            let planes = w << s;
            let lp = p / format!("layer{}", s + 1);
            let mut blocks = Vec::new();
            for b in 0..nb {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                let bp = &lp / b;
                let block = BasicBlock {
                    conv1: conv_weight(&(&bp / "conv1"), cin, planes, 3),
                    bn1: BatchNorm::new(&(&bp / "bn1"), planes),
                    conv2: conv_weight(&(&bp / "conv2"), planes, planes, 3),
                    bn2: BatchNorm::new(&(&bp / "bn2"), planes),
                    downsample: (b == 0 && (stride != 1 || cin != planes)).then(|| {
                        (
                            conv_weight(&(&bp / "downsample" / 0), cin, planes, 1),
                            BatchNorm::new(&(&bp / "downsample" / 1), planes),
                        )
                    }),
                    stride,
                };
                blocks.push(block);
                cin = planes;
            }
            layers.push(blocks);
        }
        let fc = Linear::torch_default(&(p / "fc"), cin, c.classes);
        ResNet {
            cfg: c.clone(),
            conv1,
            bn1,
            layers,
            fc,
        }
    }

    /// Logits [N, classes] of images [N, 3, S, S].
    pub fn logits(&self, x: &Tensor) -> Tensor {
        let m = self.cfg.bn;
        let mut h = self
            .bn1
            .forward(&conv(x, &self.conv1, None, 2, 3), m)
            .relu()
            .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        for stage in &self.layers {
            for b in stage {
                let y = b
                    .bn1
                    .forward(&conv(&h, &b.conv1, None, b.stride, 1), m)
                    .relu();
                let y = b.bn2.forward(&conv(&y, &b.conv2, None, 1, 1), m);
                let skip = match &b.downsample {
                    Some((w, bn)) => bn.forward(&conv(&h, w, None, b.stride, 0), m),
                    None => h.shallow_clone(),
                };
                h = (y + skip).relu();
            }
        }
        let h = h.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        self.fc.forward(&h)
    }
}

impl Net for ResNet {
    fn loss(&self, batch: &Batch) -> Tensor {
        cross_entropy(&self.logits(&batch.x), &batch.y)
    }
    fn check(&self, batch: &Batch) -> Result<()> {
        check_images(batch, self.cfg.image)
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        Some(self.logits(&batch.x))
    }
}

// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct VggConfig {
    /// Channels of the five stages (64, 128, 256, 512, 512 in VGG16).
    pub widths: [i64; 5],
    /// Convolutions per stage (2, 2, 3, 3, 3 in VGG16: configuration "D").
    pub repeats: [i64; 5],
    /// Width of the two hidden classifier layers (4096).
    pub hidden: i64,
    /// Side of the adaptive average pool before the classifier (7).
    pub pool: i64,
    pub classes: i64,
    pub image: i64,
}

impl VggConfig {
    pub fn param_count(&self) -> i64 {
        let mut n = 0;
        let mut cin = 3;
        for (w, r) in self.widths.iter().zip(&self.repeats) {
            for _ in 0..*r {
                n += cin * w * 9 + w;
                cin = *w;
            }
        }
        let f = cin * self.pool * self.pool;
        n + f * self.hidden
            + self.hidden
            + self.hidden * self.hidden
            + self.hidden
            + self.hidden * self.classes
            + self.classes
    }
}

enum Layer {
    Conv(Tensor, Tensor),
    Pool,
}

/// torchvision's VGG (no BatchNorm), configuration "D" for VGG16.
pub struct Vgg {
    cfg: VggConfig,
    features: Vec<Layer>,
    classifier: [Linear; 3],
}

impl Vgg {
    pub fn new(p: &Path, c: &VggConfig) -> Self {
        let fp = p / "features";
        let mut features = Vec::new();
        let mut idx = 0;
        let mut cin = 3;
        for (w, r) in c.widths.iter().zip(&c.repeats) {
            for _ in 0..*r {
                let lp = &fp / idx;
                let weight = conv_weight(&lp, cin, *w, 3);
                let bias = lp.var("bias", &[*w], Init::Const(0.0));
                features.push(Layer::Conv(weight, bias));
                idx += 2; // conv, ReLU
                cin = *w;
            }
            features.push(Layer::Pool);
            idx += 1;
        }
        let cp = p / "classifier";
        let normal = Init::Randn {
            mean: 0.0,
            stdev: 0.01,
        };
        let zero = Init::Const(0.0);
        let f = cin * c.pool * c.pool;
        let classifier = [
            Linear::new(&(&cp / 0), f, c.hidden, normal, zero),
            Linear::new(&(&cp / 3), c.hidden, c.hidden, normal, zero),
            Linear::new(&(&cp / 6), c.hidden, c.classes, normal, zero),
        ];
        Vgg {
            cfg: c.clone(),
            features,
            classifier,
        }
    }

    pub fn logits(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for l in &self.features {
            h = match l {
                Layer::Conv(w, b) => conv(&h, w, Some(b), 1, 1).relu(),
                Layer::Pool => h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            };
        }
        let p = self.cfg.pool;
        let h = h.adaptive_avg_pool2d([p, p]).flatten(1, -1);
        let h = self.classifier[0].forward(&h).relu();
        let h = self.classifier[1].forward(&h).relu();
        self.classifier[2].forward(&h)
    }
}

impl Net for Vgg {
    fn loss(&self, batch: &Batch) -> Tensor {
        cross_entropy(&self.logits(&batch.x), &batch.y)
    }
    fn check(&self, batch: &Batch) -> Result<()> {
        if self.cfg.image < 32 {
            return Err(Error::invalid("VGG needs images of at least 32 x 32"));
        }
        check_images(batch, self.cfg.image)
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        Some(self.logits(&batch.x))
    }
}
