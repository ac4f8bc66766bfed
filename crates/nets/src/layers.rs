//! The layers every model family is built from, each written once: Linear,
//! LayerNorm, BatchNorm, convolution weights, multi-head attention and the
//! cross-entropy loss. Parameters are created under PyTorch's names
//! (`weight`, `bias`, `running_mean`, `running_var`) in the order PyTorch
//! creates them, so that a seed gives the reference initialization.

use tch::nn::{Init, Path};
use tch::Tensor;

/// PyTorch's `nn.Linear` layout: weight [out, in], bias [out].
pub struct Linear {
    w: Tensor,
    b: Tensor,
}

impl Linear {
    pub fn new(p: &Path, fan_in: i64, fan_out: i64, w_init: Init, b_init: Init) -> Self {
        Linear { w: p.var("weight", &[fan_out, fan_in], w_init), b: p.var("bias", &[fan_out], b_init) }
    }
    /// PyTorch's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    pub fn torch_default(p: &Path, fan_in: i64, fan_out: i64) -> Self {
        let b = 1.0 / (fan_in as f64).sqrt();
        let u = Init::Uniform { lo: -b, up: b };
        Self::new(p, fan_in, fan_out, u, u)
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.w.tr()) + &self.b
    }
}

/// LayerNorm over the last dimension: weight 1, bias 0.
pub struct LayerNorm {
    w: Tensor,
    b: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn new(p: &Path, d: i64, eps: f64) -> Self {
        LayerNorm { w: p.var("weight", &[d], Init::Const(1.0)), b: p.var("bias", &[d], Init::Const(0.0)), eps }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let d = x.size().last().copied().unwrap_or(0);
        x.layer_norm([d], Some(&self.w), Some(&self.b), self.eps, false)
    }
}

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
    /// a fixed batch, but the examples are coupled: with micro-batches each
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
            _ => Err(format!("unknown BatchNorm mode `{s}` (expected running or batch)")),
        }
    }
}

/// BatchNorm epsilon (PyTorch's default).
const BN_EPS: f64 = 1e-5;

/// BatchNorm2d written out (mean, variance, affine) rather than called, so
/// that both modes are plainly twice differentiable and nothing is updated
/// in place during a Hessian computation.
pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
}

impl BatchNorm {
    pub fn new(p: &Path, c: i64) -> Self {
        let buffer = |name: &str, v: f64| p.add(name, Tensor::full([c], v, (p.kind(), p.device())), false);
        BatchNorm {
            weight: p.var("weight", &[c], Init::Const(1.0)),
            bias: p.var("bias", &[c], Init::Const(0.0)),
            running_mean: buffer("running_mean", 0.0),
            running_var: buffer("running_var", 1.0),
        }
    }

    /// Parameters of a BatchNorm over `c` channels (buffers not counted).
    pub fn param_count(c: i64) -> i64 {
        2 * c
    }

    pub fn forward(&self, x: &Tensor, mode: BnMode) -> Tensor {
        let shape = [1, -1, 1, 1];
        let (mean, var) = match mode {
            BnMode::Running => {
                (self.running_mean.to_kind(x.kind()).view(shape), self.running_var.to_kind(x.kind()).view(shape))
            }
            BnMode::Batch => {
                let mean = x.mean_dim([0i64, 2, 3].as_slice(), true, x.kind());
                let var = (x - &mean).square().mean_dim([0i64, 2, 3].as_slice(), true, x.kind());
                (mean, var)
            }
        };
        (x - mean) * (var + BN_EPS).rsqrt() * self.weight.view(shape) + self.bias.view(shape)
    }
}

/// A convolution weight [out, in, k, k] with torchvision's init (Kaiming
/// normal, fan_out, ReLU gain).
pub fn conv_weight(p: &Path, cin: i64, cout: i64, k: i64) -> Tensor {
    let std = (2.0 / (cout * k * k) as f64).sqrt();
    p.var("weight", &[cout, cin, k, k], Init::Randn { mean: 0.0, stdev: std })
}

/// A square 2-D convolution with equal stride and padding on both axes.
pub fn conv(x: &Tensor, w: &Tensor, b: Option<&Tensor>, stride: i64, pad: i64) -> Tensor {
    x.conv2d(w, b, [stride, stride], [pad, pad], [1, 1], 1)
}

/// Multi-head attention on [B, T, D] from q, k, v of the same shape, written
/// plainly (matmul, softmax, matmul) because fused attention has no double
/// backward on the CPU. `mask` ([T, T], true where a query may not look) is
/// filled with -inf before the softmax.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, heads: i64, mask: Option<&Tensor>) -> Tensor {
    let (b, t, d) = q.size3().expect("attention reads [B, T, D]");
    let hd = d / heads;
    let split = |z: &Tensor| z.view([b, t, heads, hd]).transpose(1, 2);
    let (q, k, v) = (split(q), split(k), split(v));
    let att = q.matmul(&k.transpose(-2, -1)) * (1.0 / (hd as f64).sqrt());
    let att = match mask {
        Some(m) => att.masked_fill(m, f64::NEG_INFINITY).softmax(-1, att.kind()),
        None => att.softmax(-1, att.kind()),
    };
    att.matmul(&v).transpose(1, 2).contiguous().view([b, t, d])
}

/// Mean cross-entropy from logits [N, C] and targets [N], in the logits'
/// kind; targets -100 are ignored.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Tensor {
    logits.log_softmax(-1, logits.kind()).g_nll_loss::<Tensor>(targets, None, tch::Reduction::Mean, -100)
}
