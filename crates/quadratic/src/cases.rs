//! Eigenvalues of the paper's Cases 1-4, and their generalisations.

use rng::SplitMix;

use crate::error::{Error, Result};
use crate::problem::Rotation;

/// The sorted global eigenvalue set that Cases 3 and 4 split among blocks.
///
/// With 3 blocks of 3 (the paper's sizes) this is the paper's set
/// {1,2,3} u {99,100,101} u {kappa-2,kappa-1,kappa} (kappa = 2000 gives the
/// paper's v1 numbers, 5000 its later version's). Otherwise it is `blocks`
/// clusters of `dim` unit-spaced values, the first {1..dim}, the last ending
/// at kappa, the cluster centres geometrically spaced in between. Errors when
/// the clusters would overlap (kappa too small for the sizes asked).
pub fn clustered_set(blocks: usize, dim: usize, kappa: f64) -> Result<Vec<Vec<f64>>> {
    if blocks < 2 {
        return Err(Error::Config("cases 3 and 4 need at least 2 blocks".into()));
    }
    if dim == 0 {
        return Err(Error::setting("block_dim", "must be at least 1"));
    }
    check_kappa(kappa)?;
    let clusters: Vec<Vec<f64>> = if blocks == 3 && dim == 3 {
        vec![vec![1.0, 2.0, 3.0], vec![99.0, 100.0, 101.0], vec![kappa - 2.0, kappa - 1.0, kappa]]
    } else {
        let half = (dim as f64 - 1.0) / 2.0;
        let c0 = 1.0 + half;
        let c1 = kappa - half;
        (0..blocks)
            .map(|l| {
                let c = if l == 0 {
                    c0
                } else if l == blocks - 1 {
                    c1
                } else {
                    c0 * (c1 / c0).powf(l as f64 / (blocks - 1) as f64)
                };
                (0..dim)
                    .map(|j| {
                        if l == 0 {
                            1.0 + j as f64
                        } else if l == blocks - 1 {
                            kappa - (dim - 1 - j) as f64
                        } else {
                            c + j as f64 - half
                        }
                    })
                    .collect()
            })
            .collect()
    };
    for w in clusters.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if !(a[a.len() - 1] < b[0]) || !(a[0] > 0.0) {
            return Err(Error::Config(format!(
                "kappa = {kappa} is too small for {blocks} disjoint clusters of {dim} unit-spaced eigenvalues in [1, kappa]"
            )));
        }
    }
    Ok(clusters)
}

/// Case 3 (heterogeneous): block l gets cluster l.
pub fn heterogeneous(clusters: &[Vec<f64>]) -> Vec<Vec<f64>> {
    clusters.to_vec()
}

/// Case 4 (homogeneous): the sorted set dealt round-robin, so block l gets
/// the l-th value of every cluster ({1,99,1998}, {2,100,1999}, {3,101,2000}).
pub fn homogeneous(clusters: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = clusters.iter().flatten().copied().collect();
    let blocks = clusters.len();
    let mut out = vec![Vec::new(); blocks];
    for (i, x) in all.iter().enumerate() {
        out[i % blocks].push(*x);
    }
    out
}

/// Draw `n` values from the discrete measure sum_i p_i delta(nodes_i)
/// (p = weights / sum(weights)) by inverting its CDF with uniforms.
pub fn sample_discrete(nodes: &[f64], weights: &[f64], n: usize, rng: &mut SplitMix) -> Result<Vec<f64>> {
    if nodes.is_empty() || nodes.len() != weights.len() {
        return Err(Error::Invalid(format!("{} nodes but {} weights", nodes.len(), weights.len())));
    }
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(Error::Invalid(format!("weight {w} is not finite and >= 0")));
    }
    if let Some(x) = nodes.iter().find(|x| !x.is_finite()) {
        return Err(Error::Invalid(format!("node {x} is not finite")));
    }
    let total: f64 = weights.iter().sum();
    if !(total > 0.0) {
        return Err(Error::Invalid("weights sum to 0".into()));
    }
    let mut cdf = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in weights {
        acc += w / total;
        cdf.push(acc);
    }
    Ok((0..n)
        .map(|_| {
            let u = rng.uniform();
            let k = cdf.partition_point(|c| *c <= u).min(nodes.len() - 1);
            nodes[k]
        })
        .collect())
}

/// Shift and scale all blocks' eigenvalues together by one affine map so that
/// the smallest becomes exactly 1 and the largest exactly kappa (so H has
/// condition number exactly kappa and every eigenvalue lies in [1, kappa]).
pub fn rescale_to_kappa(blocks: &mut [Vec<f64>], kappa: f64) -> Result<()> {
    check_kappa(kappa)?;
    let lo = blocks.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let hi = blocks.iter().flatten().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(Error::Invalid("no eigenvalues to rescale".into()));
    }
    if !(hi > lo) {
        return Err(Error::Invalid(format!(
            "all sampled eigenvalues equal {lo}: cannot give them condition number {kappa}"
        )));
    }
    let span = hi - lo;
    for b in blocks.iter_mut() {
        for x in b.iter_mut() {
            *x = if *x == lo {
                1.0
            } else if *x == hi {
                kappa
            } else {
                (1.0 + (kappa - 1.0) * ((*x - lo) / span)).clamp(1.0, kappa)
            };
        }
        b.sort_by(f64::total_cmp);
    }
    Ok(())
}

/// The problem and start point a seed determines: with [`Rotation::Haar`]
/// block l is rotated by the l-th Haar matrix of the stream
/// `derive_seed(seed, ["rotation"])` (with [`Rotation::AxisAligned`] it is
/// diagonal), and w0 is standard Gaussian from `derive_seed(seed, ["w0"])`,
/// the same w0 for either rotation.
pub fn build(
    names: &[String],
    eigenvalues: &[Vec<f64>],
    rotation: Rotation,
    seed: u64,
) -> Result<(crate::Quadratic, Vec<f64>)> {
    let q = match rotation {
        Rotation::Haar => {
            let mut rot = SplitMix::new(rng::derive_seed(seed, &[b"rotation"]));
            crate::Quadratic::rotated(names, eigenvalues, &mut rot)?
        }
        Rotation::AxisAligned => crate::Quadratic::axis_aligned(names, eigenvalues)?,
    };
    let mut r0 = SplitMix::new(rng::derive_seed(seed, &[b"w0"]));
    let w0 = q.gaussian_start(&mut r0);
    Ok((q, w0))
}

/// Block names b1, b2, ... for the synthetic cases.
pub fn block_names(n: usize) -> Vec<String> {
    (1..=n).map(|l| format!("b{l}")).collect()
}

/// The largest condition number accepted: gradients reach kappa |w0_i| and
/// are squared (Adam's v, norms), and 1e150^2 = 1e300 leaves f64 room for
/// sums over 1e8 coordinates; at 1e154 the squares already overflow and the norms of
/// the `problem` record would be Inf.
pub const KAPPA_MAX: f64 = 1e150;

/// The condition number the cases are scaled to: finite, above 1, at most
/// [`KAPPA_MAX`].
pub fn check_kappa(kappa: f64) -> Result<f64> {
    if !(kappa.is_finite() && kappa > 1.0) {
        Err(Error::setting("kappa", format!("must be finite and > 1, got {kappa}")))
    } else if kappa > KAPPA_MAX {
        Err(Error::setting(
            "kappa",
            format!("{kappa:e} is above {KAPPA_MAX:e}: the squared gradients (kappa^2 |w|^2) would overflow f64"),
        ))
    } else {
        Ok(kappa)
    }
}
