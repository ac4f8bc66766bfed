//! nanoGPT's GPT under its names (`transformer.wte`, `transformer.h.N.attn.c_attn`, ...),
//! and the paper's tiny transformer (the same decoder without LayerNorm).

use tch::nn::{Init, Path};
use tch::{Device, Kind, Tensor};

use crate::data::Batch;
use crate::layers::{attention, cross_entropy, LayerNorm, Linear};
use crate::net::Net;

/// LayerNorm epsilon (PyTorch's default, as nanoGPT).
const LN_EPS: f64 = 1e-5;

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

impl GptConfig {
    /// nanoGPT's layout: MLP 4 x wider than the embedding, LayerNorms.
    pub fn nanogpt(n_layer: i64, n_head: i64, n_embd: i64, block_size: i64, vocab_size: i64) -> Self {
        GptConfig { n_layer, n_head, n_embd, n_hidden: 4 * n_embd, block_size, vocab_size, layer_norm: true }
    }
    /// 2 layers, 2 heads, 32 wide, context 32.
    pub fn gpt2_small(vocab_size: i64) -> Self {
        Self::nanogpt(2, 2, 32, 32, vocab_size)
    }
    /// The paper's GPT2-nano: 6 layers, 6 heads, 384 wide, context 256.
    pub fn gpt2_nano(vocab_size: i64) -> Self {
        Self::nanogpt(6, 6, 384, 256, vocab_size)
    }
    /// GPT-2 124M: 12 layers, 12 heads, 768 wide, context 1024.
    pub fn gpt2(vocab_size: i64) -> Self {
        Self::nanogpt(12, 12, 768, 1024, vocab_size)
    }
    /// The paper's tiny transformer (App. C.2): context 2, 2 heads,
    /// embedding 4, MLP width 4, no LayerNorm.
    pub fn tiny_transformer(n_layer: i64, vocab_size: i64) -> Self {
        GptConfig { n_layer, n_head: 2, n_embd: 4, n_hidden: 4, block_size: 2, vocab_size, layer_norm: false }
    }
    /// The tiny transformer with GPT-2's LayerNorms (ln_1, ln_2, ln_f) put
    /// back: the study's control for what LayerNorm does to heterogeneity.
    pub fn tiny_transformer_ln(n_layer: i64, vocab_size: i64) -> Self {
        GptConfig { layer_norm: true, ..Self::tiny_transformer(n_layer, vocab_size) }
    }
    /// 4 layers, 4 heads, 64 wide, context 64 (about 0.2M parameters with
    /// Shakespeare's 65 characters): the study's middle GPT.
    pub fn gpt2_4x64(vocab_size: i64) -> Self {
        Self::nanogpt(4, 4, 64, 64, vocab_size)
    }
    /// 4 layers, 4 heads, 128 wide, context 64 (about 0.8M parameters with
    /// 65 characters): the study's largest GPT.
    pub fn gpt2_4x128(vocab_size: i64) -> Self {
        Self::nanogpt(4, 4, 128, 64, vocab_size)
    }

    pub fn param_count(&self) -> i64 {
        let (v, t, e, h, l) = (self.vocab_size, self.block_size, self.n_embd, self.n_hidden, self.n_layer);
        let ln = if self.layer_norm { 2 * e } else { 0 };
        let per_layer = 2 * ln + (e * 3 * e + 3 * e) + (e * e + e) + (e * h + h) + (h * e + e);
        v * e + t * e + l * per_layer + ln
    }
}

struct Block {
    ln_1: Option<LayerNorm>,
    c_attn: Linear,
    attn_proj: Linear,
    ln_2: Option<LayerNorm>,
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
    ln_f: Option<LayerNorm>,
    mask: Tensor,
}

impl Gpt {
    pub fn new(p: &Path, c: &GptConfig) -> Self {
        let t = p / "transformer";
        let normal = Init::Randn { mean: 0.0, stdev: 0.02 };
        let proj = Init::Randn { mean: 0.0, stdev: 0.02 / ((2 * c.n_layer) as f64).sqrt() };
        let zero = Init::Const(0.0);
        let e = c.n_embd;
        let wte = (&t / "wte").var("weight", &[c.vocab_size, e], normal);
        let wpe = (&t / "wpe").var("weight", &[c.block_size, e], normal);
        let h = (0..c.n_layer)
            .map(|i| {
                let b = &t / "h" / i;
                Block {
                    ln_1: c.layer_norm.then(|| LayerNorm::new(&(&b / "ln_1"), e, LN_EPS)),
                    c_attn: Linear::new(&(&b / "attn" / "c_attn"), e, 3 * e, normal, zero),
                    attn_proj: Linear::new(&(&b / "attn" / "c_proj"), e, e, proj, zero),
                    ln_2: c.layer_norm.then(|| LayerNorm::new(&(&b / "ln_2"), e, LN_EPS)),
                    c_fc: Linear::new(&(&b / "mlp" / "c_fc"), e, c.n_hidden, normal, zero),
                    mlp_proj: Linear::new(&(&b / "mlp" / "c_proj"), c.n_hidden, e, proj, zero),
                }
            })
            .collect();
        let ln_f = c.layer_norm.then(|| LayerNorm::new(&(&t / "ln_f"), e, LN_EPS));
        let mask = Tensor::ones([c.block_size, c.block_size], (Kind::Bool, Device::Cpu)).tril(0).logical_not();
        Gpt { cfg: c.clone(), wte, wpe, h, ln_f, mask }
    }

    fn ln(x: &Tensor, norm: &Option<LayerNorm>) -> Tensor {
        match norm {
            Some(n) => n.forward(x),
            None => x.shallow_clone(),
        }
    }

    fn attention(&self, blk: &Block, x: &Tensor) -> Tensor {
        let t = x.size()[1];
        let e = self.cfg.n_embd;
        let qkv = blk.c_attn.forward(x).split(e, 2);
        let mask = self.mask.narrow(0, 0, t).narrow(1, 0, t).to_device(x.device());
        let y = attention(&qkv[0], &qkv[1], &qkv[2], self.cfg.n_head, Some(&mask));
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
        let tok = self.wte.index_select(0, &batch.x.view([-1])).view([b, t, e]);
        let mut x = tok + self.wpe.index_select(0, &pos);
        for blk in &self.h {
            x = &x + self.attention(blk, &Self::ln(&x, &blk.ln_1));
            let m = blk.c_fc.forward(&Self::ln(&x, &blk.ln_2)).gelu("none");
            x = &x + blk.mlp_proj.forward(&m);
        }
        let x = Self::ln(&x, &self.ln_f);
        let logits = x.matmul(&self.wte.tr());
        cross_entropy(&logits.view([b * t, self.cfg.vocab_size]), &batch.y.view([b * t]))
    }
}
