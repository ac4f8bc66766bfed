//! BERT as in the blog the paper's code base follows ("Complete guide to
//! building BERT model from scratch"): `embedding.token`,
//! `embedding.segment` (3 rows: padding, sentence A, sentence B),
//! `embedding.position`; post-norm encoder layers `encoder.N` with `query`,
//! `key`, `value`, `output_linear`, `fc1`, `fc2` and one `layernorm` applied
//! after both the attention and the feed-forward sub-layer (the blog's layer
//! shares it); heads `next_sentence.linear` (2 classes, on the first token)
//! and `mask_lm.linear`. The loss is the blog's: next-sentence NLL plus
//! masked-LM NLL averaged over the masked positions. PyTorch's default init
//! (Embedding normal(0, 1) with row 0, the padding row, zero; Linear uniform
//! +-1/sqrt(fan_in); LayerNorm 1, 0). One deviation, stated: the blog's
//! position table is fixed sinusoids; here it is a learned table (as in
//! Devlin et al.), so that it is a block. No dropout.

use tch::nn::{Init, Path};
use tch::{Kind, Tensor};

use crate::data::Batch;
use crate::error::{Error, Result};
use crate::layers::{attention, cross_entropy, LayerNorm, Linear};
use crate::net::Net;

#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Token vocabulary, special tokens included (see `crate::data::BERT_SPECIALS`).
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

impl BertConfig {
    /// The paper's BERT: 2 layers, 12 heads, 768 wide, 64 tokens.
    pub fn bert(vocab: i64) -> Self {
        BertConfig { vocab, dim: 768, layers: 2, heads: 12, ff: 4 * 768, seq_len: 64 }
    }
    /// A small BERT: 2 layers, 2 heads, 32 wide, 32 tokens.
    pub fn bert_small(vocab: i64) -> Self {
        BertConfig { vocab, dim: 32, layers: 2, heads: 2, ff: 4 * 32, seq_len: 32 }
    }
    /// The study's larger BERT: 4 layers, 4 heads, 64 wide, 32 tokens.
    pub fn bert_4x64(vocab: i64) -> Self {
        BertConfig { vocab, dim: 64, layers: 4, heads: 4, ff: 4 * 64, seq_len: 32 }
    }
}

struct EncoderLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    output_linear: Linear,
    layernorm: LayerNorm,
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
    let t = p.var("weight", &[rows, d], Init::Randn { mean: 0.0, stdev: 1.0 });
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
                    layernorm: LayerNorm::new(&(&l / "layernorm"), d, 1e-5),
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
            let a = attention(&l.query.forward(&h), &l.key.forward(&h), &l.value.forward(&h), heads, None);
            h = l.layernorm.forward(&(l.output_linear.forward(&a) + &h));
            let f = l.fc2.forward(&l.fc1.forward(&h).gelu("none"));
            h = l.layernorm.forward(&(f + &h));
        }
        (self.next_sentence.forward(&h.select(1, 0)), self.mask_lm.forward(&h))
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
            return Err(Error::invalid(format!("expected BERT inputs [N, 2, T <= {}], got {s:?}", self.cfg.seq_len)));
        }
        let y = batch.y.size();
        if y != [s[0], s[2] + 1] {
            return Err(Error::invalid(format!("expected BERT targets [{}, {}], got {y:?}", s[0], s[2] + 1)));
        }
        Ok(())
    }
    fn output(&self, batch: &Batch) -> Option<Tensor> {
        Some(self.logits(&batch.x).1)
    }
}
