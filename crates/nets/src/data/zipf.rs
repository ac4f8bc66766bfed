//! Imbalanced classes: a training set subsampled so that class k (ranked
//! by label, 0..K-1) keeps a count proportional to (k+1)^-s.
//!
//! The rule keeps as many examples as exact proportions allow: with n_k
//! examples of class k available, the binding class j is the one with the
//! least n_k (k+1)^s (the first on ties); it keeps all n_j, and class k
//! keeps floor(n_j ((j+1)/(k+1))^s) (never more than n_k). Which examples
//! a class keeps is drawn with [`choose_distinct`] from the seed, classes in
//! label order; the kept examples stay in file order. s = 0 leaves the set
//! as it is (it is not balanced).

use rng::SplitMix;

use super::batch::choose_distinct;
use super::sources::ImageSet;
use crate::error::{Error, Result, Setting};

/// Whether `s` is a usable exponent: finite and at least 0.
pub fn check(s: f64) -> Result<()> {
    match s.is_finite() && s >= 0.0 {
        true => Ok(()),
        false => Err(Error::out_of_range(Setting::ClassZipf, format!("must be finite and at least 0, got {s}"))),
    }
}

/// Each class's kept count for `available` examples per class (class k at
/// index k), by the rule of this module. Every class needs an example.
pub fn targets(available: &[usize], s: f64) -> Result<Vec<usize>> {
    check(s)?;
    if let Some(k) = available.iter().position(|n| *n == 0) {
        return Err(Error::invalid(format!(
            "class {k} has no training examples: imbalanced classes need every class of 0..{}",
            available.len()
        )));
    }
    if s == 0.0 {
        return Ok(available.to_vec());
    }
    let weight = |k: usize| ((k + 1) as f64).powf(s);
    let mut binding = 0;
    for k in 1..available.len() {
        if (available[k] as f64) * weight(k) < (available[binding] as f64) * weight(binding) {
            binding = k;
        }
    }
    let n = available[binding] as f64;
    Ok((0..available.len())
        .map(|k| match k == binding {
            true => available[binding],
            false => ((n * ((binding + 1) as f64 / (k + 1) as f64).powf(s)).floor() as usize).min(available[k]),
        })
        .collect())
}

/// The indices of `labels` kept (ascending), for `classes` classes (labels
/// 0..classes), exponent `s` and `seed`.
pub fn subset(labels: &[i64], classes: usize, s: f64, seed: u64) -> Result<Vec<usize>> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, l) in labels.iter().enumerate() {
        match usize::try_from(*l).ok().filter(|l| *l < classes) {
            Some(l) => members[l].push(i),
            None => return Err(Error::invalid(format!("label {l} of example {i} is outside 0..{classes}"))),
        }
    }
    let counts: Vec<usize> = members.iter().map(Vec::len).collect();
    let keep = targets(&counts, s)?;
    let mut rng = SplitMix::new(rng::derive_seed(seed, &[b"class-zipf"]));
    let mut kept: Vec<usize> = Vec::new();
    for (of_class, k) in members.iter().zip(keep) {
        kept.extend(choose_distinct(of_class.len(), k, &mut rng).into_iter().map(|i| of_class[i]));
    }
    kept.sort_unstable();
    Ok(kept)
}

/// `set` with only the examples [`subset`] keeps (unchanged for s = 0).
pub(crate) fn imbalanced(set: ImageSet, s: f64, seed: u64) -> Result<ImageSet> {
    if s == 0.0 {
        return Ok(set);
    }
    let kept = subset(&set.labels, set.classes as usize, s, seed)?;
    Ok(set.subset(&kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_closed_form_and_the_binding_class_keeps_all() {
        // s = 1, 4 classes with 100, 60, 90, 10 examples: n_k (k+1) is
        // 100, 120, 270, 40, so class 3 binds (keeps 10) and class k keeps
        // floor(10 * 4 / (k+1)) = 40, 20, 13, 10.
        assert_eq!(targets(&[100, 60, 90, 10], 1.0).unwrap(), [40, 20, 13, 10]);
        // s = 2 with class 1 binding: n_k (k+1)^2 = 50, 20, 90; floor(5 (2/(k+1))^2) = 20, 5, 2.
        assert_eq!(targets(&[50, 5, 10], 2.0).unwrap(), [20, 5, 2]);
        assert_eq!(targets(&[7, 3, 5], 0.0).unwrap(), [7, 3, 5]);
        assert!(targets(&[7, 0, 5], 1.0).is_err());
        for bad in [-0.5, f64::NAN, f64::INFINITY] {
            assert!(targets(&[7, 3], bad).is_err());
        }
    }

    #[test]
    fn the_subset_has_the_target_counts_and_depends_only_on_the_seed() {
        let labels: Vec<i64> = (0..300).map(|i| (i * 7 % 3) as i64).collect();
        let kept = subset(&labels, 3, 1.0, 5).unwrap();
        let mut counts = [0; 3];
        for i in &kept {
            counts[labels[*i] as usize] += 1;
        }
        assert_eq!(counts, [100, 50, 33]);
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "file order");
        assert_eq!(kept, subset(&labels, 3, 1.0, 5).unwrap());
        assert_ne!(kept, subset(&labels, 3, 1.0, 6).unwrap());
        assert_eq!(subset(&labels, 3, 0.0, 5).unwrap(), (0..300).collect::<Vec<_>>());
        assert!(subset(&labels, 2, 1.0, 5).is_err(), "label 2 is outside 0..2");
    }
}
