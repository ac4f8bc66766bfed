//! The heaviness of the class-frequency tail of the training targets
//! (Kunstner et al. 2024: under GD a class's loss falls like 1 / (pi_k t),
//! so rare classes are where SGD lags a sign-like method).

use rng::SplitMix;

use crate::{Error, Result};

/// The share of the training targets that fall in the rarest half of the
/// classes that occur at all (the floor(K/2) classes with the fewest
/// targets, K the number of classes with at least one). Balanced classes
/// give about 1/2 for even K; a heavy tail gives a small share. Classes
/// that never occur (BERT's special tokens) are not counted: they are not
/// classes of this data.
pub fn rarest_half_share(counts: &[u64]) -> Result<f64> {
    let mut seen: Vec<u64> = counts.iter().copied().filter(|c| *c > 0).collect();
    if seen.len() < 2 {
        return Err(Error::undefined(format!("class tail: needs at least two classes that occur, got {}", seen.len())));
    }
    seen.sort_unstable();
    let total: u64 = seen.iter().sum();
    let rare: u64 = seen[..seen.len() / 2].iter().sum();
    Ok(rare as f64 / total as f64)
}

/// A bootstrap resample of the targets: as many draws as there are,
/// each class with probability count / total; returns the new counts.
pub fn resample_counts(counts: &[u64], rng: &mut SplitMix) -> Vec<u64> {
    let total: u64 = counts.iter().sum();
    let mut cumulative = Vec::with_capacity(counts.len());
    let mut acc = 0u64;
    for c in counts {
        acc += c;
        cumulative.push(acc);
    }
    let mut out = vec![0u64; counts.len()];
    for _ in 0..total {
        let r = rng.below(total);
        // The first class whose cumulative count exceeds r.
        let k = cumulative.partition_point(|c| *c <= r);
        out[k] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_of_the_rarest_half() {
        assert_eq!(rarest_half_share(&[10, 10, 10, 10]).unwrap(), 0.5);
        // Zipf-like 8, 4, 2, 1 (+ a class that never occurs): rarest two hold 3 of 15.
        assert!((rarest_half_share(&[8, 0, 4, 2, 1]).unwrap() - 3.0 / 15.0).abs() < 1e-15);
        // Odd K: floor(3/2) = 1 class.
        assert!((rarest_half_share(&[5, 3, 2]).unwrap() - 0.2).abs() < 1e-15);
        assert!(rarest_half_share(&[7, 0]).is_err());
    }

    #[test]
    fn resampling_keeps_the_total_and_never_invents_classes() {
        let mut rng = SplitMix::new(7);
        let r = resample_counts(&[50, 0, 30, 20], &mut rng);
        assert_eq!(r.iter().sum::<u64>(), 100);
        assert_eq!(r[1], 0);
        assert_ne!(r, vec![50, 0, 30, 20], "a resample of 100 draws is almost surely different");
    }
}
