//! Tokenizers: one token per character, or GPT-2's BPE (tiktoken `r50k_base`).

use crate::error::{Error, Result};

/// A token stream with its vocabulary size.
pub struct Tokens {
    pub ids: Vec<i64>,
    pub vocab: i64,
    /// For characters: the vocabulary, sorted.
    pub chars: Option<Vec<char>>,
}

pub fn char_tokens(text: &str) -> Tokens {
    let mut chars: Vec<char> = text.chars().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    chars.sort();
    let index: std::collections::HashMap<char, i64> = chars.iter().enumerate().map(|(i, c)| (*c, i as i64)).collect();
    let ids = text.chars().map(|c| index[&c]).collect();
    Tokens { ids, vocab: chars.len() as i64, chars: Some(chars) }
}

/// GPT-2 BPE vocabulary size, and the padded size nanoGPT uses for models
/// trained from scratch (a multiple of 64).
pub const GPT2_VOCAB: i64 = 50257;
pub const GPT2_VOCAB_PADDED: i64 = 50304;

pub fn bpe_tokens(text: &str) -> Result<Tokens> {
    let bpe = tiktoken_rs::r50k_base().map_err(|e| Error::invalid(format!("GPT-2 BPE tables: {e}")))?;
    let ids = bpe.encode_ordinary(text).into_iter().map(|t| t as i64).collect();
    Ok(Tokens { ids, vocab: GPT2_VOCAB_PADDED, chars: None })
}
