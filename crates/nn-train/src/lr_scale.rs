//! `--lr-scale GLOB=FACTOR` and `--lr-scale-from FILE` (with
//! `--lr-scale-rule`): per-parameter learning-rate factors, the rule's
//! arithmetic in `predictors::rates`, resolved against the trainee's
//! parameters by `nets::train::scale`.

use std::path::{Path, PathBuf};

use cli::{Error, Result};
use nets::train::{scale, LrFactor};
use predictors::rates::{rms, Rule};
use records::{Density, Gradient};
use tch::Tensor;

use crate::messages::from_nets;

/// --lr-scale-from: hvp-dump's blocks in a file, read by a rule.
pub struct ScaleFrom {
    pub path: PathBuf,
    pub rule: Rule,
}

/// `GLOB=FACTOR` as its two halves (the factor's range is checked with the
/// other flags).
pub fn parse_rule(text: &str) -> std::result::Result<(String, f64), String> {
    let (glob, factor) =
        text.rsplit_once('=').ok_or_else(|| format!("`{text}`: expected PATTERN=FACTOR, e.g. 'fc1.*=0.5'"))?;
    if glob.is_empty() {
        return Err(format!("`{text}`: the pattern before `=` is empty"));
    }
    let factor: f64 = factor.trim().parse().map_err(|_| format!("`{text}`: `{factor}` is not a number"))?;
    Ok((glob.to_string(), factor))
}

/// Every --lr-scale factor positive and finite.
pub fn check_rules(rules: &[(String, f64)]) -> Result<()> {
    match rules.iter().find(|(_, f)| !(f.is_finite() && *f > 0.0)) {
        Some((glob, f)) => Err(Error::usage(format!("--lr-scale {glob}={f}: the factor must be positive and finite"))),
        None => Ok(()),
    }
}

/// The factors the flags (--lr-scale-from `from` by its rule, --lr-scale
/// `rules`) give `params` (none without the flags).
pub fn factors(
    from: Option<&ScaleFrom>,
    rules: &[(String, f64)],
    params: &[(String, Tensor)],
) -> Result<Vec<LrFactor>> {
    if let Some(ScaleFrom { path, rule }) = from {
        let rule = *rule;
        let blocks = read_blocks(path, rule)?;
        let names: Vec<&str> = blocks.iter().map(|(b, _)| b.as_str()).collect();
        let values: Vec<f64> = blocks.iter().map(|(_, v)| *v).collect();
        // Each value was checked positive and finite as it was read.
        let factors = predictors::rates::equalizing_factors(&names, &values)
            .map_err(|e| Error::usage(format!("--lr-scale-from {}: {e}", path.display())))?;
        let per_block: Vec<(String, f64)> = names.iter().map(|n| n.to_string()).zip(factors).collect();
        let hint = format!(
            "--lr-scale-from {}: `{}` records of hvp-dump (| slq-density) for this model and its blocks",
            path.display(),
            rule.record()
        );
        return scale::by_blocks(params, &per_block).map_err(|e| from_nets(e).with_hint(&hint));
    }
    scale::by_pattern(params, rules)
        .map_err(|e| from_nets(e).with_hint("--lr-scale PATTERN=FACTOR matches parameters as hvp-dump --block does"))
}

/// Each block's (name, v) for `rule`, in file order, from its `density`
/// (v = lambda_max) or `gradient` (v = norm / sqrt(dim)) records; other
/// records are skipped. A bad file is a usage error naming its line.
fn read_blocks(path: &Path, rule: Rule) -> Result<Vec<(String, f64)>> {
    let name = path.display();
    let kind = rule.record();
    let bad = |e: records::Error| Error::usage(format!("--lr-scale-from: {e}"));
    let mut blocks: Vec<(String, f64)> = Vec::new();
    let mut model: Option<(String, String)> = None;
    for line in records::open_inputs(&[path.to_path_buf()]).map_err(bad)? {
        let line = line.map_err(bad)?;
        if line.kind != kind {
            continue;
        }
        let (block, of_model, field, value, what) = match rule {
            Rule::Curvature => {
                let d: Density = line.parse().map_err(bad)?;
                (d.block, d.model, "lambda_max", d.lambda_max, format!("lambda_max {}", d.lambda_max))
            }
            Rule::Gradient => {
                let g: Gradient = line.parse().map_err(bad)?;
                if g.dim == 0 {
                    return Err(bad(line.error(Some("dim"), format!("block `{}` has dim 0", g.block))));
                }
                (g.block, g.model, "norm", rms(g.norm, g.dim), format!("gradient norm {}", g.norm))
            }
        };
        if !(value.is_finite() && value > 0.0) {
            return Err(bad(
                line.error(Some(field), format!("block `{block}` has {what}: a factor needs it positive and finite"))
            ));
        }
        match &model {
            Some((m, first)) if *m != of_model => {
                return Err(bad(line.error(
                    Some("model"),
                    format!("model `{of_model}` here, `{m}` at {first}: give the blocks of one model"),
                )))
            }
            Some(_) => {}
            None => model = Some((of_model, line.location())),
        }
        if blocks.iter().any(|(b, _)| *b == block) {
            return Err(bad(line.error(Some("block"), format!("block `{block}` has a second `{kind}` record"))));
        }
        blocks.push((block, value));
    }
    if blocks.is_empty() {
        let from = match rule {
            Rule::Curvature => "the output of hvp-dump | slq-density",
            Rule::Gradient => "the output of hvp-dump --gradients, alone or through slq-density",
        };
        return Err(Error::usage(format!(
            "--lr-scale-from {name}: no `{kind}` records for --lr-scale-rule {} (expected {from})",
            rule.name()
        )));
    }
    Ok(blocks)
}

/// The factors as the `run` record lists them.
pub fn record(factors: &[LrFactor]) -> Option<Vec<records::LrScale>> {
    (!factors.is_empty()).then(|| {
        factors
            .iter()
            .map(|f| records::LrScale { parameter: f.param.clone(), block: f.block.clone(), factor: f.factor })
            .collect()
    })
}

/// The rule of --lr-scale-from, as the `run` record names it.
pub fn rule_name(from: Option<&ScaleFrom>) -> Option<String> {
    from.map(|f| f.rule.name().to_string())
}
