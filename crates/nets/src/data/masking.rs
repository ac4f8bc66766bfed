//! BERT's masked-LM and next-sentence batches.

use rng::SplitMix;
use tch::Tensor;

use super::batch::{Batch, TRAIN_FRACTION};
use super::spec::BatchSpec;
use crate::error::{Error, Result};

/// BERT's special tokens, ahead of the characters: `[PAD]` 0, `[CLS]` 1,
/// `[SEP]` 2, `[MASK]` 3; character i is token i + 4.
pub const BERT_SPECIALS: i64 = 4;
pub const BERT_CLS: i64 = 1;
pub const BERT_SEP: i64 = 2;
pub const BERT_MASK: i64 = 3;

/// BERT's pre-training batch from a token stream of `vocab` tokens (ids
/// from 0), as the paper's blog code builds it, every choice drawn from
/// `rng`: sentence A is `(T-3)/2` tokens at a random offset in the training
/// part, sentence B the tokens that follow (next-sentence label 1) or, with
/// probability 1/2, tokens from another random offset (label 0); segments 1
/// for `[CLS] A [SEP]`, 2 for `B [SEP]`. Each non-special position is masked
/// with probability 0.15 (then replaced by `[MASK]` with probability 0.8, a
/// random character 0.1, left 0.1); a sequence with no masked position gets
/// its first A token masked, so that the masked-LM mean is defined.
pub fn masked_lm(ids: &[i64], vocab: i64, spec: &BatchSpec, rng: &mut SplitMix) -> Result<Batch> {
    let t = spec.seq_len as usize;
    if t < 5 {
        return Err(Error::BertSequenceTooShort { seq_len: t });
    }
    let (la, lb) = ((t - 3) / 2, t - 3 - (t - 3) / 2);
    let train = ((ids.len() as f64) * TRAIN_FRACTION) as usize;
    if train < la + lb + 2 {
        return Err(Error::invalid(format!("corpus too short ({train} training tokens) for sequences of {t}")));
    }
    let b = spec.batch_size as usize;
    let (mut x, mut seg, mut y) =
        (Vec::with_capacity(b * t), Vec::with_capacity(b * t), Vec::with_capacity(b * (t + 1)));
    for _ in 0..b {
        let o = rng.below((train - la - lb) as u64) as usize;
        let is_next = rng.below(2) == 1;
        let ob = if is_next { o + la } else { rng.below((train - lb) as u64) as usize };
        let mut tok = vec![BERT_CLS];
        tok.extend(ids[o..o + la].iter().map(|c| c + BERT_SPECIALS));
        tok.push(BERT_SEP);
        tok.extend(ids[ob..ob + lb].iter().map(|c| c + BERT_SPECIALS));
        tok.push(BERT_SEP);
        seg.extend((0..t).map(|i| if i < la + 2 { 1i64 } else { 2 }));
        let mut label = vec![-100i64; t];
        let mut any = false;
        for i in 0..t {
            if tok[i] < BERT_SPECIALS || rng.uniform() >= 0.15 {
                continue;
            }
            label[i] = tok[i];
            any = true;
            let r = rng.uniform();
            if r < 0.8 {
                tok[i] = BERT_MASK;
            } else if r < 0.9 {
                tok[i] = BERT_SPECIALS + rng.below(vocab as u64) as i64;
            }
        }
        if !any {
            label[1] = tok[1];
            tok[1] = BERT_MASK;
        }
        x.extend_from_slice(&tok);
        y.extend_from_slice(&label);
        y.push(is_next as i64);
    }
    let (n, t) = (spec.batch_size, spec.seq_len);
    let x = Tensor::stack(&[Tensor::from_slice(&x).view([n, t]), Tensor::from_slice(&seg).view([n, t])], 1);
    Ok(Batch { x, y: Tensor::from_slice(&y).view([n, t + 1]) })
}
