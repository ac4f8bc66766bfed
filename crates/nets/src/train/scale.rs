//! Per-parameter learning rates: a parameter's rate at an update is the
//! scheduled base rate times its factor (1 unless set). Factors are set on
//! whole parameter tensors, by patterns read as hvp-dump reads its blocks
//! ([`crate::blocks::select`]), or per block as hvp-dump named them (the
//! factors of a rule such as max lambda_max / lambda_max_b, computed by the
//! caller). Each distinct factor is a parameter group of libtorch's
//! optimizer, whose rules use the group's rate throughout (AdamW's
//! decoupled decay too: p <- p (1 - lr_group wd)).

use tch::Tensor;

use crate::blocks::{select, units_of, Grouping};
use crate::error::{Error, Result};

/// One parameter's learning-rate factor and the pattern or block that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct LrFactor {
    pub param: String,
    pub block: String,
    pub factor: f64,
}

/// Whether `factor` can multiply a learning rate.
pub fn check_factor(factor: f64) -> Result<()> {
    match factor.is_finite() && factor > 0.0 {
        true => Ok(()),
        false => Err(Error::mismatch(format!("a learning-rate factor must be positive and finite, got {factor}"))),
    }
}

fn shallow(params: &[(String, Tensor)]) -> Vec<(String, Tensor)> {
    params.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect()
}

/// The parameters one pattern covers, as hvp-dump's `--block` (with
/// `--merge`) would make them one block: a name, an abbreviation, a glob or
/// `all`. A block of part of a tensor (`--split-qkv`'s query, key, value
/// thirds) is refused: a rate applies to a whole tensor.
fn covered(params: &[(String, Tensor)], pattern: &str) -> Result<Vec<String>> {
    let whole = select(&units_of(shallow(params), false), &[pattern.to_string()], Grouping::PerPattern);
    let block = match whole {
        Ok(mut blocks) => blocks.remove(0),
        Err(e) => {
            let split = select(&units_of(shallow(params), true), &[pattern.to_string()], Grouping::PerPattern);
            let first = split.ok().and_then(|b| b.into_iter().next()).and_then(|b| b.parts.into_iter().next());
            if let Some(part) = first.filter(|p| p.rows.is_some()) {
                return Err(Error::mismatch(format!(
                    "block `{pattern}` is part of the tensor `{}` (the query, key and value thirds of \
                     split attention): a learning rate applies to whole tensors",
                    part.param
                )));
            }
            return Err(e);
        }
    };
    let mut names: Vec<String> = Vec::new();
    for part in block.parts {
        if !names.contains(&part.param) {
            names.push(part.param);
        }
    }
    Ok(names)
}

/// The factors `rules` (pattern, factor) give the parameters they match,
/// in the parameters' order. Every pattern must match a parameter, no
/// parameter may be matched by two patterns, every factor must be positive
/// and finite.
pub fn by_pattern(params: &[(String, Tensor)], rules: &[(String, f64)]) -> Result<Vec<LrFactor>> {
    let mut set: Vec<Option<LrFactor>> = vec![None; params.len()];
    for (pattern, factor) in rules {
        check_factor(*factor).map_err(|e| Error::mismatch(format!("`{pattern}`: {e}")))?;
        for name in covered(params, pattern)? {
            // Blocks are made of these parameters: every name is found.
            let Some(i) = params.iter().position(|(n, _)| *n == name) else { continue };
            if let Some(earlier) = &set[i] {
                return Err(Error::mismatch(format!(
                    "parameter `{name}` is matched by both `{}` and `{pattern}`: give each parameter one factor",
                    earlier.block
                )));
            }
            set[i] = Some(LrFactor { param: name, block: pattern.clone(), factor: *factor });
        }
    }
    Ok(set.into_iter().flatten().collect())
}

/// The factors of blocks as hvp-dump named them (a parameter, a --merge
/// pattern, `all`, or one of --split-qkv's query, key and value thirds of
/// a tensor), each given to the whole tensors the block covers. A tensor
/// covered by several blocks (the thirds of one attention matrix) takes
/// the smallest of their factors: the rate its stiffest part allows. Each
/// block named once, every factor positive and finite.
pub fn by_blocks(params: &[(String, Tensor)], blocks: &[(String, f64)]) -> Result<Vec<LrFactor>> {
    if blocks.is_empty() {
        return Err(Error::mismatch("no blocks to take learning-rate factors from"));
    }
    let mut set: Vec<Option<LrFactor>> = vec![None; params.len()];
    for (i, (block, factor)) in blocks.iter().enumerate() {
        check_factor(*factor).map_err(|e| Error::mismatch(format!("block `{block}`: {e}")))?;
        if blocks[..i].iter().any(|(b, _)| b == block) {
            return Err(Error::mismatch(format!("block `{block}` is given twice")));
        }
        let names = match covered(params, block) {
            Ok(names) => names,
            Err(e) => match select(&units_of(shallow(params), true), std::slice::from_ref(block), Grouping::PerPattern)
            {
                Ok(split) => split.into_iter().flat_map(|b| b.parts).map(|p| p.param).collect(),
                Err(_) => return Err(e),
            },
        };
        for name in names {
            let Some(k) = params.iter().position(|(n, _)| *n == name) else { continue };
            if set[k].as_ref().is_some_and(|f| f.factor <= *factor) {
                continue;
            }
            set[k] = Some(LrFactor { param: name, block: block.clone(), factor: *factor });
        }
    }
    Ok(set.into_iter().flatten().collect())
}

/// Each parameter's factor (1 where none is set), in the order of `params`;
/// every factor must name one of `params`.
pub fn per_param(params: &[(String, Tensor)], factors: &[LrFactor]) -> Result<Vec<f64>> {
    let mut out = vec![1.0; params.len()];
    for f in factors {
        check_factor(f.factor)?;
        let Some(i) = params.iter().position(|(n, _)| *n == f.param) else {
            return Err(Error::mismatch(format!("a learning-rate factor names `{}`, not a parameter here", f.param)));
        };
        out[i] = f.factor;
    }
    Ok(out)
}

/// The distinct factors in order of first appearance (a group each), and
/// each parameter's group.
pub fn groups(factors: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut distinct: Vec<f64> = Vec::new();
    let mut group = Vec::with_capacity(factors.len());
    for f in factors {
        let g = match distinct.iter().position(|d| d.to_bits() == f.to_bits()) {
            Some(g) => g,
            None => {
                distinct.push(*f);
                distinct.len() - 1
            }
        };
        group.push(g);
    }
    if distinct.is_empty() {
        distinct.push(1.0);
    }
    (distinct, group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(names: &[&str]) -> Vec<(String, Tensor)> {
        names.iter().map(|n| (n.to_string(), Tensor::zeros([6], (tch::Kind::Float, tch::Device::Cpu)))).collect()
    }

    #[test]
    fn patterns_set_factors_in_parameter_order_and_refuse_overlaps_and_misses() {
        let p = params(&["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
        let f = by_pattern(&p, &[("fc2.*".into(), 0.5), ("fc1.weight".into(), 2.0)]).unwrap();
        let got: Vec<(&str, &str, f64)> = f.iter().map(|f| (f.param.as_str(), f.block.as_str(), f.factor)).collect();
        assert_eq!(got, [("fc1.weight", "fc1.weight", 2.0), ("fc2.weight", "fc2.*", 0.5), ("fc2.bias", "fc2.*", 0.5)]);
        assert_eq!(per_param(&p, &f).unwrap(), [2.0, 1.0, 0.5, 0.5]);
        assert_eq!(groups(&[2.0, 1.0, 0.5, 0.5]), (vec![2.0, 1.0, 0.5], vec![0, 1, 2, 2]));
        let twice = by_pattern(&p, &[("fc2.*".into(), 0.5), ("*.bias".into(), 3.0)]).unwrap_err().to_string();
        assert!(twice.contains("`fc2.bias`") && twice.contains("`fc2.*`") && twice.contains("`*.bias`"), "{twice}");
        let none = by_pattern(&p, &[("conv*".into(), 0.5)]).unwrap_err().to_string();
        assert!(none.contains("`conv*`"), "{none}");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(by_pattern(&p, &[("fc1.*".into(), bad)]).is_err());
        }
    }

    #[test]
    fn block_factors_cover_whole_tensors_and_thirds_take_the_smallest() {
        let p = params(&["fc1.weight", "fc1.bias", "fc2.weight"]);
        let f = by_blocks(&p, &[("fc1.weight".into(), 2.5), ("fc2.weight".into(), 1.0)]).unwrap();
        assert_eq!(per_param(&p, &f).unwrap(), [2.5, 1.0, 1.0]);
        let e = by_blocks(&p, &[("fc1.weight".into(), 0.0)]).unwrap_err().to_string();
        assert!(e.contains("`fc1.weight`") && e.contains("positive and finite"), "{e}");
        assert!(by_blocks(&p, &[]).is_err());
        let twice = by_blocks(&p, &[("fc1.weight".into(), 1.0), ("fc1.weight".into(), 2.0)]).unwrap_err();
        assert!(twice.to_string().contains("given twice"), "{twice}");
        assert!(by_blocks(&p, &[("conv1.weight".into(), 1.0)]).unwrap_err().to_string().contains("`conv1.weight`"));
        // Query, key and value thirds of one tensor: the tensor takes the smallest.
        let attn = params(&["h.0.attn.c_attn.weight", "h.0.mlp.c_fc.weight"]);
        let thirds = [("h.0.attn.wq".into(), 9.0), ("h.0.attn.wk".into(), 3.0), ("h.0.attn.wv".into(), 4.0)];
        let f = by_blocks(&attn, &thirds).unwrap();
        assert_eq!(per_param(&attn, &f).unwrap(), [3.0, 1.0]);
        assert_eq!(f[0].block, "h.0.attn.wk");
    }
}
