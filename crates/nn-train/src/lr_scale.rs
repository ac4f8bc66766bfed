//! `--lr-scale GLOB=FACTOR` and `--lr-scale-from FILE`: per-parameter
//! learning-rate factors, resolved against the trainee's parameters by
//! `nets::train::scale`.

use std::path::Path;

use cli::{Error, Result};
use nets::train::{scale, LrFactor};
use records::Density;
use tch::Tensor;

use crate::messages::from_nets;

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

/// The factors the flags (--lr-scale-from `from`, --lr-scale `rules`) give
/// `params` (none without the flags).
pub fn factors(from: Option<&Path>, rules: &[(String, f64)], params: &[(String, Tensor)]) -> Result<Vec<LrFactor>> {
    if let Some(path) = from {
        let blocks = read_densities(path)?;
        let hint =
            format!("--lr-scale-from {}: `density` records of hvp-dump | slq-density for this model", path.display());
        return scale::by_curvature(params, &blocks).map_err(|e| from_nets(e).with_hint(&hint));
    }
    scale::by_pattern(params, rules)
        .map_err(|e| from_nets(e).with_hint("--lr-scale PATTERN=FACTOR matches parameters as hvp-dump --block does"))
}

/// Each `density` record's (block, lambda_max), in file order; other
/// records are skipped. A bad file is a usage error naming its line.
fn read_densities(path: &Path) -> Result<Vec<(String, f64)>> {
    let name = path.display();
    let bad = |e: records::Error| Error::usage(format!("--lr-scale-from: {e}"));
    let mut blocks: Vec<(String, f64)> = Vec::new();
    let mut model: Option<(String, String)> = None;
    for line in records::open_inputs(&[path.to_path_buf()]).map_err(bad)? {
        let line = line.map_err(bad)?;
        if line.kind != "density" {
            continue;
        }
        let d: Density = line.parse().map_err(bad)?;
        if !(d.lambda_max.is_finite() && d.lambda_max > 0.0) {
            return Err(bad(line.error(
                Some("lambda_max"),
                format!("block `{}` has lambda_max {}: a factor needs it positive and finite", d.block, d.lambda_max),
            )));
        }
        match &model {
            Some((m, first)) if *m != d.model => {
                return Err(bad(line.error(
                    Some("model"),
                    format!("model `{}` here, `{m}` at {first}: give the densities of one model", d.model),
                )))
            }
            Some(_) => {}
            None => model = Some((d.model.clone(), line.location())),
        }
        if blocks.iter().any(|(b, _)| *b == d.block) {
            return Err(bad(line.error(Some("block"), format!("block `{}` has a second density", d.block))));
        }
        blocks.push((d.block, d.lambda_max));
    }
    if blocks.is_empty() {
        return Err(Error::usage(format!(
            "--lr-scale-from {name}: no `density` records (expected the output of hvp-dump | slq-density)"
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
