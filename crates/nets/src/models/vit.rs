//! timm's Vision Transformer under its names (`patch_embed.proj`,
//! `cls_token`, `pos_embed`, `blocks.N.norm1`, `blocks.N.attn.qkv`,
//! `blocks.N.attn.proj`, `blocks.N.norm2`, `blocks.N.mlp.fc1`,
//! `blocks.N.mlp.fc2`, `norm`, `head`), timm's default init: Linear weights
//! normal(0, 0.02) (timm's truncation at +-2 is 100 standard deviations
//! away, so never reached), biases 0; `pos_embed` normal(0, 0.02);
//! `cls_token` normal(0, 1e-6); the patch convolution PyTorch's default
//! (uniform +-1/sqrt(fan_in)); LayerNorm (eps 1e-6) weight 1, bias 0;
//! pre-norm blocks, exact GELU, class-token pooling. No dropout.

use tch::nn::{Init, Path};
use tch::Tensor;

use crate::data::Batch;
use crate::error::Result;
use crate::layers::{attention, LayerNorm, Linear};
use crate::net::{check_images, Classifier};

#[derive(Debug, Clone, PartialEq)]
pub struct VitConfig {
    pub image: i64,
    pub patch: i64,
    pub dim: i64,
    pub depth: i64,
    pub heads: i64,
    /// MLP hidden width (4 * dim in ViT-B).
    pub mlp: i64,
    pub classes: i64,
}

impl VitConfig {
    pub fn tokens(&self) -> i64 {
        (self.image / self.patch).pow(2) + 1
    }
    pub fn param_count(&self) -> i64 {
        let (d, h) = (self.dim, self.mlp);
        let block = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * h + h) + (h * d + d);
        3 * self.patch * self.patch * d
            + d
            + d
            + self.tokens() * d
            + self.depth * block
            + 2 * d
            + d * self.classes
            + self.classes
    }
}

impl VitConfig {
    /// timm's ViT-B/16: 224 x 224 images, 12 blocks, 12 heads, 768 wide.
    pub fn vit_base(classes: i64) -> Self {
        VitConfig { image: 224, patch: 16, dim: 768, depth: 12, heads: 12, mlp: 4 * 768, classes }
    }
    /// A small ViT: 32 x 32 images, patch 8, 2 blocks, 2 heads, 32 wide.
    pub fn vit_small(classes: i64) -> Self {
        VitConfig { image: 32, patch: 8, dim: 32, depth: 2, heads: 2, mlp: 4 * 32, classes }
    }
    /// The study's larger ViT: 32 x 32 images, patch 8, 4 blocks, 4 heads, 64 wide.
    pub fn vit_4x64(classes: i64) -> Self {
        VitConfig { image: 32, patch: 8, dim: 64, depth: 4, heads: 4, mlp: 4 * 64, classes }
    }
}

struct VitBlock {
    norm1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

pub struct Vit {
    cfg: VitConfig,
    patch_w: Tensor,
    patch_b: Tensor,
    cls_token: Tensor,
    pos_embed: Tensor,
    blocks: Vec<VitBlock>,
    norm: LayerNorm,
    head: Linear,
}

impl Vit {
    pub fn new(p: &Path, c: &VitConfig) -> Self {
        let d = c.dim;
        let pp = p / "patch_embed" / "proj";
        let fan_in = 3 * c.patch * c.patch;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let u = Init::Uniform { lo: -bound, up: bound };
        let patch_w = pp.var("weight", &[d, 3, c.patch, c.patch], u);
        let patch_b = pp.var("bias", &[d], u);
        let cls_token = p.var("cls_token", &[1, 1, d], Init::Randn { mean: 0.0, stdev: 1e-6 });
        let normal = Init::Randn { mean: 0.0, stdev: 0.02 };
        let zero = Init::Const(0.0);
        let pos_embed = p.var("pos_embed", &[1, c.tokens(), d], normal);
        let blocks = (0..c.depth)
            .map(|i| {
                let b = p / "blocks" / i;
                VitBlock {
                    norm1: LayerNorm::new(&(&b / "norm1"), d, 1e-6),
                    qkv: Linear::new(&(&b / "attn" / "qkv"), d, 3 * d, normal, zero),
                    proj: Linear::new(&(&b / "attn" / "proj"), d, d, normal, zero),
                    norm2: LayerNorm::new(&(&b / "norm2"), d, 1e-6),
                    fc1: Linear::new(&(&b / "mlp" / "fc1"), d, c.mlp, normal, zero),
                    fc2: Linear::new(&(&b / "mlp" / "fc2"), c.mlp, d, normal, zero),
                }
            })
            .collect();
        Vit {
            cfg: c.clone(),
            patch_w,
            patch_b,
            cls_token,
            pos_embed,
            blocks,
            norm: LayerNorm::new(&(p / "norm"), d, 1e-6),
            head: Linear::new(&(p / "head"), d, c.classes, normal, zero),
        }
    }

    pub fn logits(&self, x: &Tensor) -> Tensor {
        let c = &self.cfg;
        let n = x.size()[0];
        let h = x
            .conv2d(&self.patch_w, Some(&self.patch_b), [c.patch, c.patch], [0, 0], [1, 1], 1)
            .flatten(2, -1)
            .transpose(1, 2);
        let cls = self.cls_token.expand([n, 1, c.dim], false);
        let mut h = Tensor::cat(&[cls, h], 1) + &self.pos_embed;
        for b in &self.blocks {
            let y = b.qkv.forward(&b.norm1.forward(&h));
            let qkv = y.split(c.dim, 2);
            h = &h + b.proj.forward(&attention(&qkv[0], &qkv[1], &qkv[2], c.heads, None));
            let m = b.fc1.forward(&b.norm2.forward(&h)).gelu("none");
            h = &h + b.fc2.forward(&m);
        }
        let h = self.norm.forward(&h).select(1, 0);
        self.head.forward(&h)
    }
}

impl Classifier for Vit {
    fn logits(&self, x: &Tensor) -> Tensor {
        Vit::logits(self, x)
    }
    fn check_inputs(&self, batch: &Batch) -> Result<()> {
        check_images(batch, self.cfg.image)
    }
}
