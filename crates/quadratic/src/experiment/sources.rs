//! Where the blocks' eigenvalues come from: the cluster cases, or densities
//! sampled and rescaled into [1, kappa].

use records::Density;
use rng::{derive_seed, SplitMix};

use super::ExperimentConfig;
use crate::cases;
use crate::error::{Error, Result};

/// Block dimension of the cluster cases (3 and 4) unless configured.
pub const CLUSTER_BLOCK_DIM: usize = 3;
/// Number of blocks of the cluster cases unless configured.
pub const CLUSTER_BLOCKS: usize = 3;
/// Eigenvalues sampled per block from a density unless configured.
pub const SPECTRA_BLOCK_DIM: usize = 100;

/// The `density` records of one spectra file, checked as they are added.
#[derive(Debug, Clone)]
pub struct SpectraFile {
    /// Where the records came from (a path), for messages and the `source` field.
    pub label: String,
    /// (model/block, density) in file order.
    blocks: Vec<(String, Density)>,
}

impl SpectraFile {
    pub fn new(label: impl Into<String>) -> SpectraFile {
        SpectraFile { label: label.into(), blocks: Vec::new() }
    }

    /// Add one record; Err names the offending field and why (the record is
    /// malformed, or its model/block is already in the file).
    pub fn add(&mut self, d: Density) -> std::result::Result<(), (&'static str, String)> {
        d.validate()?;
        let name = format!("{}/{}", d.model, d.block);
        if self.blocks.iter().any(|(n, _)| *n == name) {
            return Err(("block", format!("block `{name}` appears twice in {}", self.label)));
        }
        self.blocks.push((name, d));
        Ok(())
    }

    /// How many blocks the file holds.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The blocks named in `picks` (`block` or `model/block`), in that
    /// order; all blocks when `picks` is empty.
    fn pick(&self, picks: &[String]) -> Result<Vec<&(String, Density)>> {
        if self.blocks.is_empty() {
            return Err(Error::Invalid(format!("{}: no `density` records", self.label)));
        }
        if picks.is_empty() {
            return Ok(self.blocks.iter().collect());
        }
        picks
            .iter()
            .map(|want| {
                self.blocks.iter().find(|(n, d)| n == want || d.block == *want).ok_or_else(|| {
                    let have: Vec<&str> = self.blocks.iter().map(|(n, _)| n.as_str()).collect();
                    Error::setting(
                        "spectra_block",
                        format!("`{want}` is not in {} (it has: {})", self.label, have.join(", ")),
                    )
                })
            })
            .collect()
    }
}

/// Where the blocks' eigenvalues come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Case 3: block l gets cluster l of [`cases::clustered_set`].
    Heterogeneous,
    /// Case 4: the clusters dealt round-robin.
    Homogeneous,
    /// Sampled from the pooled quadrature measure of densities (cases 1 and
    /// 2, or a custom problem when `case` is None), then rescaled together into
    /// [1, kappa]. `picks` chooses blocks (all when empty).
    Spectra { case: Option<u8>, file: SpectraFile, picks: Vec<String> },
}

/// The requested eigenvalues of every block, their names, and where they came from.
pub(super) struct Eigen {
    pub(super) case: String,
    pub(super) source: String,
    pub(super) names: Vec<String>,
    pub(super) values: Vec<Vec<f64>>,
}

pub(super) fn eigenvalues(config: &ExperimentConfig) -> Result<Eigen> {
    let kappa = config.kappa;
    match &config.source {
        Source::Heterogeneous | Source::Homogeneous => {
            let homogeneous = matches!(config.source, Source::Homogeneous);
            let blocks = config.blocks.unwrap_or(CLUSTER_BLOCKS);
            let dim = config.block_dim.unwrap_or(CLUSTER_BLOCK_DIM);
            let clusters = cases::clustered_set(blocks, dim, kappa)?;
            let paper = blocks == 3 && dim == 3;
            Ok(Eigen {
                case: if homogeneous { "4" } else { "3" }.to_string(),
                source: format!(
                    "{} ({}), kappa {kappa}",
                    if homogeneous { "homogeneous round-robin of the clusters" } else { "heterogeneous clusters" },
                    if paper { "the paper's values" } else { "generalised: unit-spaced clusters at geometric levels" },
                ),
                names: cases::block_names(blocks),
                values: if homogeneous { cases::homogeneous(&clusters) } else { cases::heterogeneous(&clusters) },
            })
        }
        Source::Spectra { case, file, picks } => {
            let mut chosen = file.pick(picks)?;
            if let Some(n) = config.blocks {
                if n > chosen.len() {
                    return Err(Error::setting(
                        "blocks",
                        format!("{n} but only {} density blocks are available from {}", chosen.len(), file.label),
                    ));
                }
                chosen.truncate(n);
            }
            let dim = config.block_dim.unwrap_or(SPECTRA_BLOCK_DIM);
            let mut rng = SplitMix::new(derive_seed(config.seed, &[b"spectra"]));
            let mut values = Vec::new();
            for (name, d) in &chosen {
                values.push(
                    cases::sample_discrete(&d.nodes, &d.weights, dim, &mut rng)
                        .map_err(|e| Error::Invalid(format!("{}: block `{name}`: {e}", file.label)))?,
                );
            }
            cases::rescale_to_kappa(&mut values, kappa).map_err(|e| Error::Invalid(format!("{}: {e}", file.label)))?;
            let names: Vec<String> = chosen.iter().map(|(n, _)| n.clone()).collect();
            Ok(Eigen {
                case: case.map_or("custom".to_string(), |c| c.to_string()),
                source: format!(
                    "{dim} eigenvalues per block sampled from the pooled quadrature measure of {} ({}), \
                     then shifted and scaled together into [1, {kappa}]",
                    file.label,
                    names.join(", "),
                ),
                names,
                values,
            })
        }
    }
}
