//! Per-parameter learning rates: a parameter's rate at an update is the
//! scheduled base rate times its factor (1 unless set). Factors are set on
//! whole parameter tensors, by patterns read as hvp-dump reads its blocks
//! ([`crate::blocks::select`]), or from the blocks' largest Hessian
//! eigenvalues so that every block's rate times its curvature is the same.
//! Each distinct factor is a parameter group of libtorch's optimizer, whose
//! rules use the group's rate throughout (AdamW's decoupled decay too:
//! p <- p (1 - lr_group wd)).

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

/// The factors that equalize the blocks' learning rate times curvature:
/// block b (a name as hvp-dump wrote it, with its largest Hessian
/// eigenvalue lambda_b) gets max_c lambda_c / lambda_b, so the stiffest
/// block keeps the base rate. Blocks are resolved as [`by_pattern`]
/// resolves patterns; every lambda must be positive and finite, each block
/// named once.
pub fn by_curvature(params: &[(String, Tensor)], blocks: &[(String, f64)]) -> Result<Vec<LrFactor>> {
    if blocks.is_empty() {
        return Err(Error::mismatch("no blocks to take learning-rate factors from"));
    }
    for (i, (block, lambda)) in blocks.iter().enumerate() {
        if !(lambda.is_finite() && *lambda > 0.0) {
            return Err(Error::mismatch(format!(
                "block `{block}` has largest eigenvalue {lambda}: a learning-rate factor needs it positive and finite"
            )));
        }
        if blocks[..i].iter().any(|(b, _)| b == block) {
            return Err(Error::mismatch(format!("block `{block}` is given twice")));
        }
    }
    let stiffest = blocks.iter().map(|(_, l)| *l).fold(f64::NEG_INFINITY, f64::max);
    let rules: Vec<(String, f64)> = blocks.iter().map(|(b, l)| (b.clone(), stiffest / l)).collect();
    by_pattern(params, &rules)
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
    fn curvature_gives_the_stiffest_block_the_base_rate() {
        let p = params(&["fc1.weight", "fc1.bias", "fc2.weight"]);
        let f = by_curvature(&p, &[("fc1.weight".into(), 4.0), ("fc2.weight".into(), 10.0)]).unwrap();
        assert_eq!(per_param(&p, &f).unwrap(), [2.5, 1.0, 1.0]);
        assert!(by_curvature(&p, &[("fc1.weight".into(), 0.0)]).unwrap_err().to_string().contains("`fc1.weight`"));
        assert!(by_curvature(&p, &[]).is_err());
        let split = params(&["h.0.attn.c_attn.weight"]);
        let e = by_curvature(&split, &[("h.0.attn.wq".into(), 1.0)]).unwrap_err().to_string();
        assert!(e.contains("part of the tensor `h.0.attn.c_attn.weight`"), "{e}");
    }
}
