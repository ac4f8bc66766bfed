//! The thread pools reorthogonalization runs on: one per thread count, built
//! the first time a run asks for it and kept for the life of the process.
//!
//! A pool per Lanczos run (as before) started and stopped its threads for
//! every (block, probe), and handing each step's sweep to a pool worker cost
//! the calling thread two context switches a step even when the sweep was
//! too small to split (gpt2-small's blocks: 14-17k switches a run against
//! about 400 for a Python loop doing the same products). Now a run uses a
//! pool only when its sweeps split over threads ([`crate::reorth::splits_over_threads`]),
//! and that pool is this one, shared.

use std::sync::{Arc, Mutex, OnceLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

/// Pools built so far, each with its thread count.
type Pools = Vec<(usize, Arc<ThreadPool>)>;

static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();

/// The process's pool of `threads` threads (built on first use); None when
/// it cannot be built, which changes nothing but speed: the caller then runs
/// on the pool it is in.
pub(crate) fn shared(threads: usize) -> Option<Arc<ThreadPool>> {
    let pools = POOLS.get_or_init(|| Mutex::new(Vec::new()));
    // A poisoned lock only means another thread panicked while holding it;
    // the list itself is always whole.
    let mut pools = pools.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, pool)) = pools.iter().find(|(t, _)| *t == threads) {
        return Some(Arc::clone(pool));
    }
    let pool = Arc::new(ThreadPoolBuilder::new().num_threads(threads).build().ok()?);
    pools.push((threads, Arc::clone(&pool)));
    Some(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pool_per_thread_count_for_the_whole_process() {
        let a = shared(3).unwrap();
        let b = shared(3).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), 3);
        let c = shared(2).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.current_num_threads(), 2);
    }
}
