//! The memory rule of full reorthogonalization and the ladder that meets a
//! budget. The stored basis holds one vector per step, so a run of m steps
//! on dimension n keeps m x n x 8 bytes in f64 (4 in f32); without
//! reorthogonalization it keeps none (the recurrence's three vectors are
//! not counted: every strategy needs them).

use crate::{BasisPrecision, Options, Reorth};

/// Bytes in a gibibyte.
pub const GIB: f64 = (1u64 << 30) as f64;

/// The memory a Lanczos run's basis takes: `steps` vectors of `dim` entries
/// of `entry_bytes` bytes, and `buffer_bytes` of I/O buffer for a basis on
/// disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisMemory {
    /// Vectors kept in memory: the steps taken (the requested steps capped
    /// at the dimension), fewer with [`Options::basis_rows`], or the one row
    /// read back of a basis on disk.
    pub steps: usize,
    pub dim: usize,
    pub entry_bytes: usize,
    pub buffer_bytes: usize,
}

impl BasisMemory {
    /// The basis of a run with `opts` on an operator of dimension `dim`, or
    /// None when the run stores no basis (no reorthogonalization).
    pub fn of_run(opts: &Options, dim: usize) -> Option<Self> {
        match opts.reorth {
            Reorth::Full | Reorth::Partial
                if opts.basis_on_disk && opts.basis_dir.is_some() && opts.basis_rows.is_none() =>
            {
                // One row read back at a time, through a buffer.
                Some(BasisMemory { steps: 1, dim, entry_bytes: 8, buffer_bytes: crate::disk::buffer_bytes(dim) })
            }
            Reorth::Full | Reorth::Partial => {
                let rows = opts.steps.min(dim).min(opts.basis_rows.unwrap_or(usize::MAX));
                let entry_bytes = opts.basis.entry_bytes();
                (rows > 0).then_some(BasisMemory { steps: rows, dim, entry_bytes, buffer_bytes: 0 })
            }
            Reorth::None => None,
        }
    }

    pub fn bytes(&self) -> f64 {
        (self.steps as f64) * (self.dim as f64) * self.entry_bytes as f64 + self.buffer_bytes as f64
    }

    pub fn gib(&self) -> f64 {
        self.bytes() / GIB
    }

    /// Whether the basis fits in `budget_gib` GiB.
    pub fn fits(&self, budget_gib: f64) -> bool {
        self.bytes() <= budget_gib * GIB
    }
}

/// `opts` moved down the ladder until its basis fits `budget_gib` GiB:
/// full reorthogonalization with an f64 basis; else, when `opts.basis_dir`
/// is set and one f64 vector (and its I/O buffer) fits, the whole f64 basis in a file there
/// (exact, slower); else with an f32 basis, else the first Lanczos vectors
/// that fit in f32 (at least one), else no reorthogonalization (no basis at
/// all, so any budget is met). Options that already fit, or ask for no
/// reorthogonalization, are returned as they are. Why this ladder, and what
/// each rung costs: docs/performance.md.
pub fn within_budget(opts: &Options, dim: usize, budget_gib: f64) -> Options {
    let fits = |o: &Options| BasisMemory::of_run(o, dim).is_none_or(|m| m.fits(budget_gib));
    if fits(opts) {
        return opts.clone();
    }
    let on_disk = Options { basis: BasisPrecision::F64, basis_on_disk: true, ..opts.clone() };
    if opts.basis_dir.is_some() && opts.basis_rows.is_none() && fits(&on_disk) {
        return on_disk;
    }
    let f32_basis = Options { basis: BasisPrecision::F32, ..opts.clone() };
    if fits(&f32_basis) {
        return f32_basis;
    }
    let rows = (budget_gib * GIB / (dim as f64 * 4.0)).floor();
    if rows >= 1.0 {
        return Options { basis: BasisPrecision::F32, basis_rows: Some(rows as usize), ..opts.clone() };
    }
    Options { reorth: Reorth::None, ..opts.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(steps: usize, reorth: Reorth) -> Options {
        Options { steps, reorth, ..Options::default() }
    }

    #[test]
    fn basis_is_steps_times_dim_entries_with_steps_capped_at_the_dimension() {
        let m = BasisMemory::of_run(&opts(100, Reorth::Full), 1000).unwrap();
        assert_eq!(m, BasisMemory { steps: 100, dim: 1000, entry_bytes: 8, buffer_bytes: 0 });
        assert_eq!(m.bytes(), 800_000.0);
        let capped = BasisMemory::of_run(&opts(100, Reorth::Full), 30).unwrap();
        assert_eq!(capped.steps, 30);
        assert_eq!(capped.bytes(), 30.0 * 30.0 * 8.0);
        let f32_basis = Options { basis: BasisPrecision::F32, ..opts(100, Reorth::Full) };
        assert_eq!(BasisMemory::of_run(&f32_basis, 1000).unwrap().bytes(), 400_000.0);
    }

    #[test]
    fn no_reorthogonalization_stores_no_basis() {
        assert_eq!(BasisMemory::of_run(&opts(100, Reorth::None), 1000), None);
    }

    #[test]
    fn budget_is_inclusive_and_in_gibibytes() {
        // 128 steps x 2^20 dim x 8 bytes = exactly 1 GiB.
        let m = BasisMemory { steps: 128, dim: 1 << 20, entry_bytes: 8, buffer_bytes: 0 };
        assert_eq!(m.gib(), 1.0);
        assert!(m.fits(1.0));
        assert!(!m.fits(0.999));
        assert!(BasisMemory { steps: 129, dim: 1 << 20, entry_bytes: 8, buffer_bytes: 0 }.gib() > 1.0);
    }

    #[test]
    fn the_ladder_takes_the_first_rung_that_fits() {
        // 128 x 2^20: 1 GiB in f64, 0.5 GiB in f32.
        let (dim, full) = (1 << 20, opts(128, Reorth::Full));
        let rung = |budget: f64| within_budget(&full, dim, budget).basis_kept(dim).name();
        assert_eq!(rung(1.0), "f64");
        assert_eq!(rung(0.999), "f32");
        assert_eq!(rung(0.5), "f32");
        // 127 f32 vectors of 2^20 entries: 127/256 GiB.
        assert_eq!(rung(127.0 / 256.0), "f32-first-127");
        assert_eq!(rung(0.1), "f32-first-25");
        assert_eq!(rung(1.0 / 256.0), "f32-first-1");
        assert_eq!(rung(0.999 / 256.0), "none");
        assert_eq!(rung(1e-12), "none");
        // Asked-for no reorthogonalization stays so; other settings are kept.
        assert_eq!(within_budget(&opts(128, Reorth::None), dim, 10.0).basis_kept(dim).name(), "none");
        let kept = within_budget(&Options { threads: 3, ..full.clone() }, dim, 0.1);
        assert_eq!((kept.steps, kept.threads), (128, 3));
    }
}
