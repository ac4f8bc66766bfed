//! Parameter blocks: which entries of the parameter vector a Hessian block
//! covers. A block is a list of parts, each a parameter tensor or a range of
//! its rows (the query/key/value thirds of a fused attention weight with
//! `--split-qkv`).

use tch::Tensor;

use crate::error::{Error, Result};
use crate::params::named_parameters;

/// A piece of one parameter tensor: rows [start, start+len) of dim 0, or all.
#[derive(Debug)]
pub struct Part {
    /// Name of the parameter tensor.
    pub param: String,
    pub tensor: Tensor,
    pub rows: Option<(i64, i64)>,
}

impl Part {
    pub fn shape(&self) -> Vec<i64> {
        let mut s = self.tensor.size();
        if let Some((_, len)) = self.rows {
            s[0] = len;
        }
        s
    }
    pub fn numel(&self) -> usize {
        self.shape().iter().product::<i64>() as usize
    }
    /// The part of a tensor shaped like the whole parameter.
    pub fn select(&self, t: &Tensor) -> Tensor {
        match self.rows {
            Some((s, l)) => t.narrow(0, s, l),
            None => t.shallow_clone(),
        }
    }
}

/// A Hessian block: a name and the parameter entries it covers.
#[derive(Debug)]
pub struct Block {
    pub name: String,
    pub parts: Vec<Part>,
}

impl Block {
    pub fn dim(&self) -> usize {
        self.parts.iter().map(Part::numel).sum()
    }
    /// Shape, for listing: the part's shape for one-part blocks.
    pub fn shape(&self) -> Vec<i64> {
        match self.parts.as_slice() {
            [p] => p.shape(),
            _ => vec![self.dim() as i64],
        }
    }
    fn shallow(&self) -> Block {
        Block {
            name: self.name.clone(),
            parts: self
                .parts
                .iter()
                .map(|p| Part { param: p.param.clone(), tensor: p.tensor.shallow_clone(), rows: p.rows })
                .collect(),
        }
    }
}

/// The candidate blocks of a model: one per parameter tensor, in natural
/// name order, except that with `split_qkv` each fused `attn.c_attn.weight`
/// ([3C, C], rows q|k|v as in nanoGPT) becomes `attn.wq`, `attn.wk`,
/// `attn.wv`, and its bias `attn.bq`, `attn.bk`, `attn.bv`.
pub fn units(vs: &tch::nn::VarStore, split_qkv: bool) -> Vec<Block> {
    units_of(named_parameters(vs), split_qkv)
}

/// [`units`] of any named parameter tensors (a loaded TorchScript module's),
/// in the order given.
pub fn units_of(named: Vec<(String, Tensor)>, split_qkv: bool) -> Vec<Block> {
    let mut out = Vec::new();
    for (name, t) in named {
        let split = split_qkv
            && (name.ends_with("attn.c_attn.weight") || name.ends_with("attn.c_attn.bias"))
            && t.size()[0] % 3 == 0;
        if split {
            let c = t.size()[0] / 3;
            let stem = name.trim_end_matches(".c_attn.weight").trim_end_matches(".c_attn.bias");
            let prefix = if name.ends_with("weight") { "w" } else { "b" };
            for (i, s) in ["q", "k", "v"].iter().enumerate() {
                out.push(Block {
                    name: format!("{stem}.{prefix}{s}"),
                    parts: vec![Part { param: name.clone(), tensor: t.shallow_clone(), rows: Some((i as i64 * c, c)) }],
                });
            }
        } else {
            out.push(Block { name: name.clone(), parts: vec![Part { param: name, tensor: t, rows: None }] });
        }
    }
    out
}

/// Glob match where `*` matches any run of characters (dots included) and
/// `?` any one character.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does `pattern` match `name`, allowing a leading path and a trailing
/// `.weight` to be left out (`wte` matches `transformer.wte.weight`)?
pub fn matches(pattern: &str, name: &str) -> bool {
    glob(pattern, name)
        || glob(&format!("*.{pattern}"), name)
        || glob(&format!("{pattern}.weight"), name)
        || glob(&format!("*.{pattern}.weight"), name)
}

fn is_glob(p: &str) -> bool {
    p.contains('*') || p.contains('?')
}

/// How patterns turn into blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Every matching tensor (or q/k/v third) is its own block.
    EachTensor,
    /// Each pattern's matches together form one block, named by the pattern.
    PerPattern,
}

fn listing(units: &[Block]) -> String {
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    let shown = names.len().min(40);
    let mut s = names[..shown].join(", ");
    if shown < names.len() {
        s.push_str(&format!(", ... ({} in all)", names.len()));
    }
    s
}

/// Resolve `--block` patterns against the candidate blocks.
///
/// * `all`: one block `all` holding every parameter (the full Hessian);
/// * a pattern with `*` or `?`: every candidate it matches (see [`matches`]);
/// * a plain name: the candidate of that exact name, else the single
///   candidate it abbreviates (`wte`, `h.0.attn.c_proj`); several
///   candidates fail with the list.
///
/// Every pattern must match something. Duplicates keep their first place.
pub fn select(units: &[Block], patterns: &[String], grouping: Grouping) -> Result<Vec<Block>> {
    let mut out: Vec<Block> = Vec::new();
    let push = |b: Block, out: &mut Vec<Block>| {
        if !out.iter().any(|x| x.name == b.name) {
            out.push(b);
        }
    };
    for pat in patterns {
        if pat == "all" {
            // Whole tensors, each once (split thirds are merged back).
            let mut parts: Vec<Part> = Vec::new();
            for u in units {
                for p in &u.parts {
                    if !parts.iter().any(|q| q.param == p.param) {
                        parts.push(Part { param: p.param.clone(), tensor: p.tensor.shallow_clone(), rows: None });
                    }
                }
            }
            push(Block { name: "all".into(), parts }, &mut out);
            continue;
        }
        let found: Vec<&Block> = if is_glob(pat) {
            units.iter().filter(|u| matches(pat, &u.name)).collect()
        } else if let Some(u) = units.iter().find(|u| u.name == *pat) {
            vec![u]
        } else {
            let c: Vec<&Block> = units.iter().filter(|u| matches(pat, &u.name)).collect();
            if c.len() > 1 {
                let names: Vec<&str> = c.iter().map(|u| u.name.as_str()).collect();
                return Err(Error::mismatch(format!(
                    "block `{pat}` is ambiguous: it matches {} (give more of the name, or a glob such as `*{pat}*`)",
                    names.join(", ")
                )));
            }
            c
        };
        if found.is_empty() {
            return Err(Error::mismatch(format!("no block matches `{pat}`; blocks are: {}", listing(units))));
        }
        match grouping {
            Grouping::EachTensor => {
                for u in found {
                    push(u.shallow(), &mut out);
                }
            }
            Grouping::PerPattern => {
                let parts = found.iter().flat_map(|u| u.shallow().parts).collect();
                push(Block { name: pat.clone(), parts }, &mut out);
            }
        }
    }
    Ok(out)
}
