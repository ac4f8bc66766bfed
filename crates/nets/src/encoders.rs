//! Transformer encoders: timm's Vision Transformer and the paper's BERT.
//! Attention is written plainly (matmul, softmax, matmul): fused attention
//! has no double backward on the CPU. No dropout anywhere.
//!
//! * ViT under timm's names (`patch_embed.proj`, `cls_token`, `pos_embed`,
//!   `blocks.N.norm1`, `blocks.N.attn.qkv`, `blocks.N.attn.proj`,
//!   `blocks.N.norm2`, `blocks.N.mlp.fc1`, `blocks.N.mlp.fc2`, `norm`,
//!   `head`), timm's default init: Linear weights normal(0, 0.02) (timm's
//!   truncation at +-2 is 100 standard deviations away, so never reached),
//!   biases 0; `pos_embed` normal(0, 0.02); `cls_token` normal(0, 1e-6); the
//!   patch convolution PyTorch's default (uniform +-1/sqrt(fan_in)); LayerNorm
//!   (eps 1e-6) weight 1, bias 0; pre-norm blocks, exact GELU, class-token
//!   pooling.
//! * BERT as in the blog the paper's code base follows ("Complete guide to
//!   building BERT model from scratch"): `embedding.token`,
//!   `embedding.segment` (3 rows: padding, sentence A, sentence B),
//!   `embedding.position`; post-norm encoder layers `encoder.N` with
//!   `query`, `key`, `value`, `output_linear`, `fc1`, `fc2` and one
//!   `layernorm` applied after both the attention and the feed-forward
//!   sub-layer (the blog's layer shares it); heads `next_sentence.linear`
//!   (2 classes, on the first token) and `mask_lm.linear`. The loss is the
//!   blog's: next-sentence NLL plus masked-LM NLL averaged over the masked
//!   positions. PyTorch's default init (Embedding normal(0, 1) with row 0,
//!   the padding row, zero; Linear uniform +-1/sqrt(fan_in); LayerNorm 1, 0).
//!   One deviation, stated: the blog's position table is fixed sinusoids; here
//!   it is a learned table (as in Devlin et al.), so that it is a block.

use tch::nn::{Init, Path};
use tch::{Kind, Tensor};

use crate::data::Batch;
use crate::models::{cross_entropy, Linear, Net};
use crate::{Error, Result};

/// Multi-head self-attention on [B, T, D] from q, k, v of the same shape.
fn attend(q: &Tensor, k: &Tensor, v: &Tensor, heads: i64) -> Tensor {
    let (b, t, d) = q.size3().unwrap();
    let hd = d / heads;
    let split = |z: &Tensor| z.view([b, t, heads, hd]).transpose(1, 2);
    let (q, k, v) = (split(q), split(k), split(v));
    let att = q.matmul(&k.transpose(-2, -1)) * (1.0 / (hd as f64).sqrt());
    let att = att.softmax(-1, att.kind());
    att.matmul(&v).transpose(1, 2).contiguous().view([b, t, d])
}

struct Norm {
    w: Tensor,
    b: Tensor,
    eps: f64,
}

impl Norm {
    fn new(p: &Path, d: i64, eps: f64) -> Self {
        Norm {
            w: p.var("weight", &[d], Init::Const(1.0)),
            b: p.var("bias", &[d], Init::Const(0.0)),
            eps,
        }
    }
    fn forward(&self, x: &Tensor) -> Tensor {
        let d = *x.size().last().unwrap();
        x.layer_norm([d], Some(&self.w), Some(&self.b), self.eps, false)
    }
}

// ---------------------------------------------------------------------------

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

struct VitBlock {
    norm1: Norm,
    qkv: Linear,
    proj: Linear,
    norm2: Norm,
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
    norm: Norm,
    head: Linear,
}

impl Vit {
    pub fn new(p: &Path, c: &VitConfig) -> Self {
        let d = c.dim;
        let pp = p / "patch_embed" / "proj";
        let fan_in = 3 * c.patch * c.patch;
        let bound = 1.0 / (fan_in as f64).sqrt();
        let u = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let patch_w = pp.var("weight", &[d, 3, c.patch, c.patch], u);
        let patch_b = pp.var("bias", &[d], u);
        let cls_token = p.var(
            "cls_token",
            &[1, 1, d],
            Init::Randn {
                mean: 0.0,
                stdev: 1e-6,
            },
        );
        let normal = Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let zero = Init::Const(0.0);
        let pos_embed = p.var("pos_embed", &[1, c.tokens(), d], normal);
        let blocks = (0..c.depth)
            .map(|i| {
                let b = p / "blocks" / i;
                VitBlock {
                    norm1: Norm::new(&(&b / "norm1"), d, 1e-6),
                    qkv: Linear::new(&(&b / "attn" / "qkv"), d, 3 * d, normal, zero),
                    proj: Linear::new(&(&b / "attn" / "proj"), d, d, normal, zero),
                    norm2: Norm::new(&(&b / "norm2"), d, 1e-6),
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
            norm: Norm::new(&(p / "norm"), d, 1e-6),
            head: Linear::new(&(p / "head"), d, c.classes, normal, zero),
        }
    }

    pub fn logits(&self, x: &Tensor) -> Tensor {
        let c = &self.cfg;
        let n = x.size()[0];
        let h = x
            .conv2d(
                &self.patch_w,
                Some(&self.patch_b),
                [c.patch, c.patch],
                [0, 0],
                [1, 1],
                1,
            )
            .flatten(2, -1)
            .transpose(1, 2);
        let cls = self.cls_token.expand([n, 1, c.dim], false);
        let mut h = Tensor::cat(&[cls, h], 1) + &self.pos_embed;
        for b in &self.blocks {
            let y = b.qkv.forward(&b.norm1.forward(&h));
            let qkv = y.split(c.dim, 2);
            h = &h + b.proj.forward(&attend(&qkv[0], &qkv[1], &qkv[2], c.heads));
            let m = b.fc1.forward(&b.norm2.forward(&h)).gelu("none");
            h = &h + b.fc2.forward(&m);
        }
        let h = self.norm.forward(&h).select(1, 0);
        self.head.forward(&h)
    }
}

impl Net for Vit {
    fn loss(&self, batch: &Batch) -> Tensor {
        cross_entropy(&self.logits(&batch.x), &batch.y)
    }
    fn check(&self, batch: &Batch) -> Result<()> {
        let s = batch.x.size();
        let i = self.cfg.image;
        if s.len() != 4 || s[1] != 3 || s[2] != i || s[3] != i {
            return Err(Error::invalid(format!(
                "expected images [N, 3, {i}, {i}], got {s:?}"
            )));
        }
        Ok(())
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        Some(self.logits(&batch.x))
    }
}

// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Token vocabulary, special tokens included (see `data::BERT_SPECIALS`).
    pub vocab: i64,
    pub dim: i64,
    pub layers: i64,
    pub heads: i64,
    /// Feed-forward hidden width (4 * dim in the blog).
    pub ff: i64,
    /// Sequence length (rows of the position table).
    pub seq_len: i64,
}

impl BertConfig {
    pub fn param_count(&self) -> i64 {
        let (v, d, f) = (self.vocab, self.dim, self.ff);
        let layer = 4 * (d * d + d) + 2 * d + (d * f + f) + (f * d + d);
        v * d + 3 * d + self.seq_len * d + self.layers * layer + (d * 2 + 2) + (d * v + v)
    }
}

struct EncoderLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    output_linear: Linear,
    layernorm: Norm,
    fc1: Linear,
    fc2: Linear,
}

pub struct Bert {
    cfg: BertConfig,
    token: Tensor,
    segment: Tensor,
    position: Tensor,
    encoder: Vec<EncoderLayer>,
    next_sentence: Linear,
    mask_lm: Linear,
}

/// An Embedding table with PyTorch's init: normal(0, 1), row 0 (padding) zero.
fn embedding(p: &Path, rows: i64, d: i64, padding: bool) -> Tensor {
    let t = p.var(
        "weight",
        &[rows, d],
        Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        },
    );
    if padding {
        let _g = tch::no_grad_guard();
        let _ = t.get(0).fill_(0.0);
    }
    t
}

impl Bert {
    pub fn new(p: &Path, c: &BertConfig) -> Self {
        let d = c.dim;
        let e = p / "embedding";
        let encoder = (0..c.layers)
            .map(|i| {
                let l = p / "encoder" / i;
                EncoderLayer {
                    query: Linear::torch_default(&(&l / "query"), d, d),
                    key: Linear::torch_default(&(&l / "key"), d, d),
                    value: Linear::torch_default(&(&l / "value"), d, d),
                    output_linear: Linear::torch_default(&(&l / "output_linear"), d, d),
                    layernorm: Norm::new(&(&l / "layernorm"), d, 1e-5),
                    fc1: Linear::torch_default(&(&l / "fc1"), d, c.ff),
                    fc2: Linear::torch_default(&(&l / "fc2"), c.ff, d),
                }
            })
            .collect();
        Bert {
            cfg: c.clone(),
            token: embedding(&(&e / "token"), c.vocab, d, true),
            segment: embedding(&(&e / "segment"), 3, d, true),
            position: embedding(&(&e / "position"), c.seq_len, d, false),
            encoder,
            next_sentence: Linear::torch_default(&(p / "next_sentence" / "linear"), d, 2),
            mask_lm: Linear::torch_default(&(p / "mask_lm" / "linear"), d, c.vocab),
        }
    }

    /// Next-sentence logits [N, 2] and masked-LM logits [N, T, vocab] of
    /// inputs [N, 2, T] (token ids, segment ids).
    pub fn logits(&self, x: &Tensor) -> (Tensor, Tensor) {
        let (n, _, t) = x.size3().unwrap();
        let d = self.cfg.dim;
        let tok = x.select(1, 0).reshape([-1]);
        let seg = x.select(1, 1).reshape([-1]);
        let pos = Tensor::arange(t, (Kind::Int64, x.device()));
        let mut h = self.token.index_select(0, &tok).view([n, t, d])
            + self.segment.index_select(0, &seg).view([n, t, d])
            + self.position.index_select(0, &pos);
        let heads = self.cfg.heads;
        for l in &self.encoder {
            let a = attend(
                &l.query.forward(&h),
                &l.key.forward(&h),
                &l.value.forward(&h),
                heads,
            );
            h = l.layernorm.forward(&(l.output_linear.forward(&a) + &h));
            let f = l.fc2.forward(&l.fc1.forward(&h).gelu("none"));
            h = l.layernorm.forward(&(f + &h));
        }
        (
            self.next_sentence.forward(&h.select(1, 0)),
            self.mask_lm.forward(&h),
        )
    }
}

impl Net for Bert {
    /// Next-sentence cross-entropy plus masked-LM cross-entropy over the
    /// masked positions. `batch.y` is [N, T + 1]: the masked-LM targets
    /// (-100 where not masked), then the next-sentence label.
    fn loss(&self, batch: &Batch) -> Tensor {
        let (nsp, mlm) = self.logits(&batch.x);
        let t = batch.x.size()[2];
        let v = self.cfg.vocab;
        let mlm_y = batch.y.narrow(1, 0, t).reshape([-1]);
        let nsp_y = batch.y.select(1, t);
        cross_entropy(&nsp, &nsp_y) + cross_entropy(&mlm.reshape([-1, v]), &mlm_y)
    }
    fn check(&self, batch: &Batch) -> Result<()> {
        let s = batch.x.size();
        if s.len() != 3 || s[1] != 2 || s[2] > self.cfg.seq_len {
            return Err(Error::invalid(format!(
                "expected BERT inputs [N, 2, T <= {}], got {s:?}",
                self.cfg.seq_len
            )));
        }
        let y = batch.y.size();
        if y != [s[0], s[2] + 1] {
            return Err(Error::invalid(format!(
                "expected BERT targets [{}, {}], got {y:?}",
                s[0],
                s[2] + 1
            )));
        }
        Ok(())
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        Some(self.logits(&batch.x).1)
    }
}
