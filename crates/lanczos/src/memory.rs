//! The memory rule of full reorthogonalization: the stored basis holds one
//! f64 vector per step, so a run of m steps on dimension n keeps m x n x 8
//! bytes. Callers check it against a budget before starting long work.

use crate::{Options, Reorth};

/// Bytes in a gibibyte.
pub const GIB: f64 = (1u64 << 30) as f64;

/// The basis a Lanczos run stores: `steps` vectors of `dim` f64s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisMemory {
    /// Steps actually taken (the requested steps capped at the dimension).
    pub steps: usize,
    pub dim: usize,
}

impl BasisMemory {
    /// The basis of a run with `opts` on an operator of dimension `dim`, or
    /// None when the run stores no basis (no reorthogonalization).
    pub fn of_run(opts: &Options, dim: usize) -> Option<Self> {
        match opts.reorth {
            Reorth::Full => Some(BasisMemory { steps: opts.steps.min(dim), dim }),
            Reorth::None => None,
        }
    }

    pub fn bytes(&self) -> f64 {
        (self.steps as f64) * (self.dim as f64) * 8.0
    }

    pub fn gib(&self) -> f64 {
        self.bytes() / GIB
    }

    /// Whether the basis fits in `budget_gib` GiB.
    pub fn fits(&self, budget_gib: f64) -> bool {
        self.bytes() <= budget_gib * GIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(steps: usize, reorth: Reorth) -> Options {
        Options { steps, reorth, ..Options::default() }
    }

    #[test]
    fn basis_is_steps_times_dim_f64s_with_steps_capped_at_the_dimension() {
        let m = BasisMemory::of_run(&opts(100, Reorth::Full), 1000).unwrap();
        assert_eq!(m, BasisMemory { steps: 100, dim: 1000 });
        assert_eq!(m.bytes(), 800_000.0);
        let capped = BasisMemory::of_run(&opts(100, Reorth::Full), 30).unwrap();
        assert_eq!(capped.steps, 30);
        assert_eq!(capped.bytes(), 30.0 * 30.0 * 8.0);
    }

    #[test]
    fn no_reorthogonalization_stores_no_basis() {
        assert_eq!(BasisMemory::of_run(&opts(100, Reorth::None), 1000), None);
    }

    #[test]
    fn budget_is_inclusive_and_in_gibibytes() {
        // 128 steps x 2^20 dim x 8 bytes = exactly 1 GiB.
        let m = BasisMemory { steps: 128, dim: 1 << 20 };
        assert_eq!(m.gib(), 1.0);
        assert!(m.fits(1.0));
        assert!(!m.fits(0.999));
        assert!(BasisMemory { steps: 129, dim: 1 << 20 }.gib() > 1.0);
    }
}
