//! The model zoo. Parameters are created under the reference code's paths
//! (nanoGPT for the GPT family, torchvision for ResNet18 and VGG16, timm for
//! ViT, the paper's blog code for BERT), so block names, checkpoint keys and
//! the paper's labels agree without a renaming table.
//!
//! To add a family: a config struct with a `param_count()` computed from
//! shapes, an [`Arch`] variant, a [`Net`] implementation and rows in [`ZOO`].

use tch::nn::{Init, Path, VarStore};
use tch::{Device, Kind, Tensor};

pub use crate::cnn::{BnMode, ResNetConfig, VggConfig};
use crate::data::{Batch, DataKind, Input};
pub use crate::encoders::{BertConfig, VitConfig};
use crate::{Error, Result};

/// A network whose loss on a batch can be differentiated twice.
pub trait Net {
    /// Mean cross-entropy over the batch's examples (tokens for language
    /// models), computed in the network's dtype (no f32 shortcut).
    fn loss(&self, batch: &Batch) -> Tensor;
    /// Whether the batch has the shape the network reads (checked once,
    /// before any work, so that bad data is an error and not a crash).
    fn check(&self, _batch: &Batch) -> Result<()> {
        Ok(())
    }
    /// The network's output (logits) on the batch, where it has one apart
    /// from the loss.
    fn output(&self, _batch: &Batch) -> Option<Tensor> {
        None
    }
}

/// Which architecture, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Arch {
    Mlp(MlpConfig),
    Gpt(GptConfig),
    ResNet(ResNetConfig),
    Vgg(VggConfig),
    Vit(VitConfig),
    Bert(BertConfig),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MlpConfig {
    pub input: i64,
    /// Hidden widths; the output layer (classes) comes after them.
    pub widths: Vec<i64>,
    pub classes: i64,
    /// Each layer's output is multiplied by this (paper Section 2.4, Table 3).
    pub layer_scale: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GptConfig {
    pub n_layer: i64,
    pub n_head: i64,
    pub n_embd: i64,
    /// MLP hidden width (4 * n_embd in GPT-2).
    pub n_hidden: i64,
    /// Context length.
    pub block_size: i64,
    pub vocab_size: i64,
    /// LayerNorms (ln_1, ln_2, ln_f); the tiny transformer has none.
    pub layer_norm: bool,
}

/// One entry of the zoo.
#[derive(Debug, Clone)]
pub struct ZooEntry {
    pub name: &'static str,
    pub about: &'static str,
    pub default_data: DataKind,
    /// Default Hessian batch: examples (mlp) or sequences (transformers).
    pub default_batch: i64,
}

pub const ZOO: &[ZooEntry] = &[
    ZooEntry {
        name: "mlp",
        about: "MLP with ReLU, widths --widths (default 300,128,64: the paper's 4-layer MLP), --layer-scale c",
        default_data: DataKind::Mnist,
        default_batch: 1024,
    },
    ZooEntry {
        name: "tiny-transformer",
        about: "decoder, context 2, 2 heads, embedding 4, MLP width 4, no LayerNorm, --layers 1-4 (paper App. C.2)",
        default_data: DataKind::Synthetic,
        default_batch: 64,
    },
    ZooEntry {
        name: "gpt2-small",
        about: "nanoGPT GPT-2, 2 layers, 2 heads, 32 wide, context 32: the whole pipeline in about a minute on 2 cores",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
    },
    ZooEntry {
        name: "gpt2-nano",
        about: "nanoGPT GPT-2, 6 layers, 6 heads, 384 wide, context 256 (the paper's GPT2-nano)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 8,
    },
    ZooEntry {
        name: "gpt2",
        about: "nanoGPT GPT-2 124M: 12 layers, 12 heads, 768 wide, context 1024, vocab 50304",
        default_data: DataKind::ShakespeareBpe,
        default_batch: 4,
    },
    ZooEntry {
        name: "resnet18-narrow",
        about: "torchvision ResNet18 at width 8 (8-16-32-64 channels), 32x32 images, --bn running|batch",
        default_data: DataKind::Mnist,
        default_batch: 32,
    },
    ZooEntry {
        name: "resnet18",
        about: "torchvision ResNet18 (11.69M with 1000 classes), 224x224 images, --bn running|batch",
        default_data: DataKind::Mnist,
        default_batch: 64,
    },
    ZooEntry {
        name: "vgg-small",
        about: "torchvision VGG16 layout at 1/8 width (8-16-32-64-64), classifier 64 wide, 1x1 pool, 32x32 images",
        default_data: DataKind::Mnist,
        default_batch: 32,
    },
    ZooEntry {
        name: "vgg16",
        about: "torchvision VGG16 without BatchNorm (138.36M with 1000 classes), 224x224 images, no dropout",
        default_data: DataKind::Mnist,
        default_batch: 32,
    },
    ZooEntry {
        name: "vit-small",
        about: "timm ViT layout, 32x32 images, patch 8, 2 blocks, 2 heads, 32 wide (not timm's ViT-S)",
        default_data: DataKind::Mnist,
        default_batch: 32,
    },
    ZooEntry {
        name: "vit-base",
        about: "timm ViT-B/16 (86.57M with 1000 classes): 224x224, 12 blocks, 12 heads, 768 wide",
        default_data: DataKind::Mnist,
        default_batch: 32,
    },
    ZooEntry {
        name: "bert-small",
        about: "the paper's BERT layout, 2 layers, 2 heads, 32 wide, 32 tokens, masked-LM + next sentence",
        default_data: DataKind::ShakespeareChar,
        default_batch: 16,
    },
    ZooEntry {
        name: "bert",
        about: "the paper's BERT: 2 layers, 12 heads, 768 wide, 64 tokens (37.7M + MLM head at vocab 30522)",
        default_data: DataKind::ShakespeareChar,
        default_batch: 32,
    },
];

pub fn zoo_entry(name: &str) -> Result<&'static ZooEntry> {
    ZOO.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<&str> = ZOO.iter().map(|e| e.name).collect();
        Error::usage(format!(
            "unknown model `{name}` (known: {})",
            names.join(", ")
        ))
    })
}

/// Options that shape a zoo model beyond its name.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// MLP hidden widths (None: 300,128,64).
    pub widths: Option<Vec<i64>>,
    pub layer_scale: f64,
    /// Tiny transformer layers (1-4), or GPT / ViT / BERT layers override.
    pub layers: Option<i64>,
    /// BatchNorm statistics (ResNet only); None: [`BnMode::default`].
    pub bn: Option<BnMode>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            widths: None,
            layer_scale: 1.0,
            layers: None,
            bn: None,
        }
    }
}

/// The architecture of zoo model `name` for data with `input` features
/// (MLP) or `vocab` tokens (transformers).
pub fn arch(name: &str, opts: &ModelOptions, input: i64, classes_or_vocab: i64) -> Result<Arch> {
    zoo_entry(name)?;
    if name != "mlp" && (opts.widths.is_some() || opts.layer_scale != 1.0) {
        return Err(Error::usage(
            "--widths and --layer-scale apply to --model mlp only",
        ));
    }
    if opts.bn.is_some() && !name.starts_with("resnet") {
        return Err(Error::usage("--bn applies to the ResNet models only"));
    }
    if opts.layers.is_some() && (name.starts_with("resnet") || name.starts_with("vgg")) {
        return Err(Error::usage(format!("--layers does not apply to {name}")));
    }
    let classes = classes_or_vocab;
    let resnet = |width: i64, image: i64| {
        Arch::ResNet(ResNetConfig {
            width,
            blocks: [2, 2, 2, 2],
            classes,
            image,
            bn: opts.bn.unwrap_or_default(),
        })
    };
    let vit = |image, patch, dim, depth: i64, heads| {
        Arch::Vit(VitConfig {
            image,
            patch,
            dim,
            depth: opts.layers.unwrap_or(depth),
            heads,
            mlp: 4 * dim,
            classes,
        })
    };
    let bert = |dim, layers: i64, heads, seq_len| {
        Arch::Bert(BertConfig {
            vocab: classes,
            dim,
            layers: opts.layers.unwrap_or(layers),
            heads,
            ff: 4 * dim,
            seq_len,
        })
    };
    let gpt = |n_layer: i64, n_head: i64, n_embd: i64, block_size: i64| {
        Arch::Gpt(GptConfig {
            n_layer: opts.layers.unwrap_or(n_layer),
            n_head,
            n_embd,
            n_hidden: 4 * n_embd,
            block_size,
            vocab_size: classes_or_vocab,
            layer_norm: true,
        })
    };
    let a = match name {
        "mlp" => {
            if opts.layers.is_some() {
                return Err(Error::usage(
                    "--layers does not apply to mlp (use --widths)",
                ));
            }
            let widths = opts.widths.clone().unwrap_or_else(|| vec![300, 128, 64]);
            if widths.iter().any(|w| *w <= 0) {
                return Err(Error::usage("--widths must be positive"));
            }
            if !(opts.layer_scale.is_finite() && opts.layer_scale > 0.0) {
                return Err(Error::usage(format!(
                    "--layer-scale must be positive, got {}",
                    opts.layer_scale
                )));
            }
            Arch::Mlp(MlpConfig {
                input,
                widths,
                classes: classes_or_vocab,
                layer_scale: opts.layer_scale,
            })
        }
        "tiny-transformer" => {
            let l = opts.layers.unwrap_or(1);
            if !(1..=4).contains(&l) {
                return Err(Error::usage(format!(
                    "tiny-transformer has 1 to 4 layers, not {l}"
                )));
            }
            Arch::Gpt(GptConfig {
                n_layer: l,
                n_head: 2,
                n_embd: 4,
                n_hidden: 4,
                block_size: 2,
                vocab_size: classes_or_vocab,
                layer_norm: false,
            })
        }
        "gpt2-small" => gpt(2, 2, 32, 32),
        "gpt2-nano" => gpt(6, 6, 384, 256),
        "gpt2" => gpt(12, 12, 768, 1024),
        "resnet18-narrow" => resnet(8, 32),
        "resnet18" => resnet(64, 224),
        "vgg-small" => Arch::Vgg(VggConfig {
            widths: [8, 16, 32, 64, 64],
            repeats: [2, 2, 3, 3, 3],
            hidden: 64,
            pool: 1,
            classes,
            image: 32,
        }),
        "vgg16" => Arch::Vgg(VggConfig {
            widths: [64, 128, 256, 512, 512],
            repeats: [2, 2, 3, 3, 3],
            hidden: 4096,
            pool: 7,
            classes,
            image: 224,
        }),
        "vit-small" => vit(32, 8, 32, 2, 2),
        "vit-base" => vit(224, 16, 768, 12, 12),
        "bert-small" => bert(32, 2, 2, 32),
        "bert" => bert(768, 2, 12, 64),
        _ => unreachable!(),
    };
    if let Some(l) = opts.layers {
        if l < 1 {
            return Err(Error::usage("--layers must be at least 1"));
        }
    }
    Ok(a)
}

impl Arch {
    /// Number of parameters, computed from the configuration.
    pub fn param_count(&self) -> i64 {
        match self {
            Arch::Mlp(c) => {
                let mut dims = vec![c.input];
                dims.extend(&c.widths);
                dims.push(c.classes);
                dims.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
            }
            Arch::Gpt(c) => {
                let (v, t, e, h, l) = (c.vocab_size, c.block_size, c.n_embd, c.n_hidden, c.n_layer);
                let ln = if c.layer_norm { 2 * e } else { 0 };
                let per_layer =
                    2 * ln + (e * 3 * e + 3 * e) + (e * e + e) + (e * h + h) + (h * e + e);
                v * e + t * e + l * per_layer + ln
            }
            Arch::ResNet(c) => c.param_count(),
            Arch::Vgg(c) => c.param_count(),
            Arch::Vit(c) => c.param_count(),
            Arch::Bert(c) => c.param_count(),
        }
    }

    /// Context length (GPT, BERT) or None.
    pub fn block_size(&self) -> Option<i64> {
        match self {
            Arch::Gpt(c) => Some(c.block_size),
            Arch::Bert(c) => Some(c.seq_len),
            _ => None,
        }
    }

    /// What the network reads, so that the data can be prepared for it.
    pub fn input(&self) -> Input {
        match self {
            Arch::Mlp(_) => Input::Features,
            Arch::Gpt(_) => Input::Tokens,
            Arch::ResNet(ResNetConfig { image, .. })
            | Arch::Vgg(VggConfig { image, .. })
            | Arch::Vit(VitConfig { image, .. }) => Input::Image { size: *image },
            Arch::Bert(_) => Input::MaskedLm,
        }
    }

    /// Build the network's parameters under `vs` (whose kind must already be
    /// set), initialized from libtorch's global RNG.
    pub fn build(&self, p: &Path) -> Box<dyn Net> {
        match self {
            Arch::Mlp(c) => Box::new(Mlp::new(p, c)),
            Arch::Gpt(c) => Box::new(Gpt::new(p, c)),
            Arch::ResNet(c) => Box::new(crate::cnn::ResNet::new(p, c)),
            Arch::Vgg(c) => Box::new(crate::cnn::Vgg::new(p, c)),
            Arch::Vit(c) => Box::new(crate::encoders::Vit::new(p, c)),
            Arch::Bert(c) => Box::new(crate::encoders::Bert::new(p, c)),
        }
    }
}

/// A model built on a device: its variables and its forward pass.
pub struct Built {
    pub arch: Arch,
    pub vs: VarStore,
    pub net: Box<dyn Net>,
}

/// Build `arch` with weights drawn from `init_seed` on the CPU in `kind`,
/// then move them to `device`: the same seed gives the same weights on every
/// device.
pub fn build(arch: &Arch, kind: Kind, device: Device, init_seed: u64) -> Built {
    tch::manual_seed(init_seed as i64);
    let mut vs = VarStore::new(Device::Cpu);
    vs.set_kind(kind);
    let net = arch.build(&vs.root());
    if device != Device::Cpu {
        vs.set_device(device);
    }
    Built {
        arch: arch.clone(),
        vs,
        net,
    }
}

/// Named trainable parameters in natural order (h.2 before h.10): the
/// candidates for Hessian blocks. Buffers (BatchNorm running statistics)
/// are not parameters.
pub fn named_parameters(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = named_variables(vs)
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    v.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    v
}

/// Every tensor of the model, buffers included (PyTorch's `state_dict`),
/// in natural order: what checkpoints hold.
pub fn named_variables(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    v
}

/// Compare strings with embedded numbers by value: `h.2` < `h.10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let o = match (x.0, y.0) {
            (true, true) => {
                x.1.parse::<u128>()
                    .unwrap_or(0)
                    .cmp(&y.1.parse::<u128>().unwrap_or(0))
                    .then(x.1.cmp(y.1))
            }
            _ => x.1.cmp(y.1),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

/// Mean cross-entropy from logits [N, C] and targets [N], in the logits' kind.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Tensor {
    logits.log_softmax(-1, logits.kind()).g_nll_loss::<Tensor>(
        targets,
        None,
        tch::Reduction::Mean,
        -100,
    )
}

// ---------------------------------------------------------------------------

/// PyTorch's `nn.Linear` layout: weight [out, in], bias [out].
pub(crate) struct Linear {
    w: Tensor,
    b: Tensor,
}

impl Linear {
    pub(crate) fn new(p: &Path, fan_in: i64, fan_out: i64, w_init: Init, b_init: Init) -> Self {
        Linear {
            w: p.var("weight", &[fan_out, fan_in], w_init),
            b: p.var("bias", &[fan_out], b_init),
        }
    }
    /// PyTorch's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    pub(crate) fn torch_default(p: &Path, fan_in: i64, fan_out: i64) -> Self {
        let b = 1.0 / (fan_in as f64).sqrt();
        let u = Init::Uniform { lo: -b, up: b };
        Self::new(p, fan_in, fan_out, u, u)
    }
    pub(crate) fn forward(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.w.tr()) + &self.b
    }
}

/// The paper's MLP: Linear-ReLU stacks named `fc1`, `fc2`, ..., PyTorch's
/// default initialization, each layer's output scaled by `layer_scale`.
pub struct Mlp {
    layers: Vec<Linear>,
    scale: f64,
}

impl Mlp {
    fn new(p: &Path, c: &MlpConfig) -> Self {
        let mut dims = vec![c.input];
        dims.extend(&c.widths);
        dims.push(c.classes);
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::torch_default(&(p / format!("fc{}", i + 1)), w[0], w[1]))
            .collect();
        Mlp {
            layers,
            scale: c.layer_scale,
        }
    }
}

impl Net for Mlp {
    fn loss(&self, batch: &Batch) -> Tensor {
        let mut h = batch.x.shallow_clone();
        let n = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h);
            if self.scale != 1.0 {
                h = &h * self.scale;
            }
            if i + 1 < n {
                h = h.relu();
            }
        }
        cross_entropy(&h, &batch.y)
    }
}

struct Block {
    ln_1: Option<(Tensor, Tensor)>,
    c_attn: Linear,
    attn_proj: Linear,
    ln_2: Option<(Tensor, Tensor)>,
    c_fc: Linear,
    mlp_proj: Linear,
}

/// nanoGPT's GPT: token and position embeddings, pre-LayerNorm blocks with
/// plain (unfused) causal attention and exact GELU, final LayerNorm, output
/// head tied to `transformer.wte`. Initialization as nanoGPT: weights
/// normal(0, 0.02), residual projections (`c_proj`) normal(0, 0.02 /
/// sqrt(2 n_layer)), biases 0, LayerNorm weight 1. No dropout.
pub struct Gpt {
    cfg: GptConfig,
    wte: Tensor,
    wpe: Tensor,
    h: Vec<Block>,
    ln_f: Option<(Tensor, Tensor)>,
    mask: Tensor,
}

fn layer_norm_vars(p: &Path, e: i64) -> (Tensor, Tensor) {
    (
        p.var("weight", &[e], Init::Const(1.0)),
        p.var("bias", &[e], Init::Const(0.0)),
    )
}

impl Gpt {
    fn new(p: &Path, c: &GptConfig) -> Self {
        let t = p / "transformer";
        let normal = Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let proj = Init::Randn {
            mean: 0.0,
            stdev: 0.02 / ((2 * c.n_layer) as f64).sqrt(),
        };
        let zero = Init::Const(0.0);
        let e = c.n_embd;
        let wte = (&t / "wte").var("weight", &[c.vocab_size, e], normal);
        let wpe = (&t / "wpe").var("weight", &[c.block_size, e], normal);
        let h = (0..c.n_layer)
            .map(|i| {
                let b = &t / "h" / i;
                Block {
                    ln_1: c.layer_norm.then(|| layer_norm_vars(&(&b / "ln_1"), e)),
                    c_attn: Linear::new(&(&b / "attn" / "c_attn"), e, 3 * e, normal, zero),
                    attn_proj: Linear::new(&(&b / "attn" / "c_proj"), e, e, proj, zero),
                    ln_2: c.layer_norm.then(|| layer_norm_vars(&(&b / "ln_2"), e)),
                    c_fc: Linear::new(&(&b / "mlp" / "c_fc"), e, c.n_hidden, normal, zero),
                    mlp_proj: Linear::new(&(&b / "mlp" / "c_proj"), c.n_hidden, e, proj, zero),
                }
            })
            .collect();
        let ln_f = c.layer_norm.then(|| layer_norm_vars(&(&t / "ln_f"), e));
        let mask = Tensor::ones([c.block_size, c.block_size], (Kind::Bool, Device::Cpu))
            .tril(0)
            .logical_not();
        Gpt {
            cfg: c.clone(),
            wte,
            wpe,
            h,
            ln_f,
            mask,
        }
    }

    fn ln(x: &Tensor, w: &Option<(Tensor, Tensor)>) -> Tensor {
        match w {
            Some((w, b)) => x.layer_norm([x.size()[2]], Some(w), Some(b), 1e-5, false),
            None => x.shallow_clone(),
        }
    }

    fn attention(&self, blk: &Block, x: &Tensor) -> Tensor {
        let (b, t, e) = x.size3().unwrap();
        let nh = self.cfg.n_head;
        let hd = e / nh;
        let qkv = blk.c_attn.forward(x);
        let parts = qkv.split(e, 2);
        let heads = |z: &Tensor| z.view([b, t, nh, hd]).transpose(1, 2);
        let (q, k, v) = (heads(&parts[0]), heads(&parts[1]), heads(&parts[2]));
        let att = q.matmul(&k.transpose(-2, -1)) * (1.0 / (hd as f64).sqrt());
        let mask = self
            .mask
            .narrow(0, 0, t)
            .narrow(1, 0, t)
            .to_device(x.device());
        let att = att
            .masked_fill(&mask, f64::NEG_INFINITY)
            .softmax(-1, att.kind());
        let y = att.matmul(&v).transpose(1, 2).contiguous().view([b, t, e]);
        blk.attn_proj.forward(&y)
    }
}

impl Net for Gpt {
    fn loss(&self, batch: &Batch) -> Tensor {
        let (b, t) = batch.x.size2().unwrap();
        let pos = Tensor::arange(t, (Kind::Int64, batch.x.device()));
        // index_select rather than embedding: its double backward is another
        // index_select/index_add, while embedding's was ~15x slower on CPU.
        let e = self.cfg.n_embd;
        let tok = self
            .wte
            .index_select(0, &batch.x.view([-1]))
            .view([b, t, e]);
        let mut x = tok + self.wpe.index_select(0, &pos);
        for blk in &self.h {
            x = &x + self.attention(blk, &Self::ln(&x, &blk.ln_1));
            let m = blk.c_fc.forward(&Self::ln(&x, &blk.ln_2)).gelu("none");
            x = &x + blk.mlp_proj.forward(&m);
        }
        let x = Self::ln(&x, &self.ln_f);
        let logits = x.matmul(&self.wte.tr());
        cross_entropy(
            &logits.view([b * t, self.cfg.vocab_size]),
            &batch.y.view([b * t]),
        )
    }
}
