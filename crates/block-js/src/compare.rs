//! The distances between every pair of a model's blocks, their mean, and
//! their bootstrap spread, with the size checks made before any work.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use cli::{Error, Result};
use records::{Density, Distance, Heterogeneity, Uncertainty};
use rng::SplitMix;
use spectra::bootstrap::{resample, summarize};
use spectra::density::record_mixture;
use spectra::divergence::{distance, Metric};
use spectra::mixture::Mixture;

use crate::ordered;

/// The blocks of one model, in input order.
pub struct Model {
    pub name: String,
    pub blocks: Vec<Density>,
    pub first: String,
}

/// A model's distances and their mean.
pub struct ModelResult {
    pub distances: Vec<Distance>,
    pub heterogeneity: Heterogeneity,
}

/// Most pairs of blocks of one model (about 4500 blocks).
const MAX_PAIRS: u128 = 10_000_000;
/// Most bootstrap resample counts (replicates x blocks x probes) held at once.
const MAX_RESAMPLE_ENTRIES: u128 = 200_000_000;

/// Refuses a model with more pairs than are compared in reasonable time and
/// memory (the pair list, and the matrix format's n x n table), before work.
pub fn check_pair_count(m: &Model) -> Result<()> {
    let n = m.blocks.len() as u128;
    let pairs = n * (n - 1) / 2;
    if pairs > MAX_PAIRS {
        return Err(Error::invalid(format!(
            "model `{}` (first seen at {}) has {n} blocks, {pairs} pairs: more than the {MAX_PAIRS} pairs \
             block-js compares; split the model's blocks",
            m.name, m.first
        )));
    }
    Ok(())
}

/// Refuses a --bootstrap whose resample table would not fit in memory.
pub fn check_bootstrap_size(m: &Model, replicates: usize) -> Result<()> {
    let probes: u128 = m.blocks.iter().map(|d| d.probes as u128).sum();
    let entries = replicates as u128 * probes.max(m.blocks.len() as u128);
    if entries > MAX_RESAMPLE_ENTRIES {
        return Err(Error::usage(format!(
            "--bootstrap {replicates} over the {} blocks ({probes} probes) of model `{}` needs {entries} resample \
             counts in memory (limit {MAX_RESAMPLE_ENTRIES}); ask for fewer replicates",
            m.blocks.len(),
            m.name
        )));
    }
    Ok(())
}

/// Distances between every pair of a model's blocks, their mean, and (with
/// `replicates` > 0) the spread of both over probe resamples. Each pair's record
/// goes to `emit` in pair order as soon as it is final; the returned result
/// holds the mean only (its `distances` is empty).
///
/// The work items are (pair, replicate) with replicate 0 the distance itself;
/// each is computed sequentially by one thread, so the output does not depend
/// on the thread count.
pub fn compare_model(
    m: &Model,
    metric: Metric,
    replicates: usize,
    seed: u64,
    pool: &rayon::ThreadPool,
    mut emit: impl FnMut(Distance) -> Result<()>,
) -> Result<ModelResult> {
    let n = m.blocks.len();
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect();
    let mixtures: Vec<Mixture> = m.blocks.iter().map(|d| record_mixture(d, |_| 1)).collect();
    let counts = resample_counts(m, replicates, seed);
    let per_pair = replicates + 1;

    let show = std::io::stderr().is_terminal();
    let progress = indicatif::ProgressBar::with_draw_target(
        Some((pairs.len() * per_pair) as u64),
        if show { indicatif::ProgressDrawTarget::stderr() } else { indicatif::ProgressDrawTarget::hidden() },
    );
    progress.set_message(format!("model {}", m.name));

    let work = |item: usize| {
        let (i, j) = pairs[item / per_pair];
        let r = item % per_pair;
        let v = if r == 0 {
            distance(&mixtures[i], &mixtures[j], metric)
        } else {
            let c = &counts[r - 1];
            let resampled = |b: usize| record_mixture(&m.blocks[b], |p| c[b].get(&p).copied().unwrap_or(0));
            distance(&resampled(i), &resampled(j), metric)
        };
        progress.inc(1);
        v
    };

    let mut sum = 0.0;
    let mut replicate_sums = vec![0.0; replicates];
    let mut pair_values = Vec::with_capacity(per_pair);
    ordered::for_each_ordered(pool, pairs.len() * per_pair, work, |item, v| {
        let k = item / per_pair;
        let r = item % per_pair;
        if !v.is_finite() {
            let (i, j) = pairs[k];
            return Err(if r == 0 {
                Error::numeric(format!(
                    "distance between `{}` and `{}` of model `{}` is not finite",
                    m.blocks[i].block, m.blocks[j].block, m.name
                ))
            } else {
                Error::numeric(format!(
                    "bootstrap replicate {} of model `{}` gave a non-finite distance",
                    r - 1,
                    m.name
                ))
            });
        }
        pair_values.push(v);
        if pair_values.len() < per_pair {
            return Ok(());
        }
        // Sums run in pair order, as a sequential loop would add them.
        sum += pair_values[0];
        for (total, v) in replicate_sums.iter_mut().zip(&pair_values[1..]) {
            *total += v;
        }
        let uncertainty = (replicates > 0).then(|| {
            let (se, ci90) = summarize(&pair_values[1..]);
            Uncertainty { bootstrap: replicates, se, ci90 }
        });
        let (i, j) = pairs[k];
        let value = pair_values[0];
        pair_values.clear();
        emit(Distance {
            model: m.name.clone(),
            a: m.blocks[i].block.clone(),
            b: m.blocks[j].block.clone(),
            metric: metric.name().to_string(),
            value,
            uncertainty,
        })
    })?;
    progress.finish_and_clear();

    let mean = sum / pairs.len() as f64;
    let mean_unc = (replicates > 0).then(|| {
        let means: Vec<f64> = replicate_sums.iter().map(|s| s / pairs.len() as f64).collect();
        let (se, ci90) = summarize(&means);
        Uncertainty { bootstrap: replicates, se, ci90 }
    });
    let heterogeneity = Heterogeneity {
        model: m.name.clone(),
        metric: metric.name().to_string(),
        value: mean,
        blocks: m.blocks.iter().map(|b| b.block.clone()).collect(),
        pairs: pairs.len(),
        uncertainty: mean_unc,
    };
    Ok(ModelResult { distances: Vec::new(), heterogeneity })
}

/// The probe multiplicities of every bootstrap replicate and block, drawn in
/// the order a sequential loop draws them (replicate by replicate, blocks in
/// input order) from the model's seed. In each replicate every block's probes
/// are resampled once and all pairs use that resample, so the mean's spread
/// includes the correlation between pairs.
fn resample_counts(m: &Model, replicates: usize, seed: u64) -> Vec<Vec<BTreeMap<u32, u32>>> {
    let mut rng = SplitMix::new(rng::derive_seed(seed, &[m.name.as_bytes()]));
    let probe_ids: Vec<Vec<u32>> = m
        .blocks
        .iter()
        .map(|d| {
            let mut ids = d.node_probe.clone();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect();
    (0..replicates).map(|_| probe_ids.iter().map(|ids| resample(ids, &mut rng)).collect()).collect()
}
