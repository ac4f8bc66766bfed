//! Items computed in parallel, delivered in index order as soon as each one
//! and all before it are done.
//!
//! Workers of a rayon pool take the next index from a shared counter, so
//! results finish nearly in order and little is held back; the caller's
//! thread reorders and hands them on. Each item is computed by one thread
//! alone, so the results do not depend on the number of threads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Compute `work(0..count)` on `pool` and call `deliver(index, result)` in
/// index order. Stops early (and returns its error) when `deliver` fails.
pub fn for_each_ordered<T, E, W, D>(pool: &rayon::ThreadPool, count: usize, work: W, mut deliver: D) -> Result<(), E>
where
    T: Send,
    W: Fn(usize) -> T + Sync,
    D: FnMut(usize, T) -> Result<(), E>,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|scope| {
        let (next, stop, work) = (&next, &stop, &work);
        scope.spawn(move || {
            pool.scope(|s| {
                for _ in 0..pool.current_num_threads() {
                    let sender = sender.clone();
                    s.spawn(move |_| loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= count || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if sender.send((k, work(k))).is_err() {
                            break;
                        }
                    });
                }
                drop(sender);
            });
        });
        let mut pending: BTreeMap<usize, T> = BTreeMap::new();
        let mut expected = 0;
        let result = (|| {
            for (k, value) in receiver.iter() {
                pending.insert(k, value);
                while let Some(value) = pending.remove(&expected) {
                    deliver(expected, value)?;
                    expected += 1;
                }
            }
            Ok(())
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        // Dropping the receiver ends any worker blocked on a send.
        drop(receiver);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_index_order_for_any_thread_count() {
        for threads in [1, 2, 5] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut seen = Vec::new();
            for_each_ordered(
                &pool,
                200,
                |k| k * k,
                |k, v| -> Result<(), ()> {
                    seen.push((k, v));
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (0..200).map(|k| (k, k * k)).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_failing_delivery_stops_the_work() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let done = AtomicUsize::new(0);
        let r = for_each_ordered(
            &pool,
            1_000_000,
            |k| {
                done.fetch_add(1, Ordering::Relaxed);
                k
            },
            |k, _| if k == 10 { Err(k) } else { Ok(()) },
        );
        assert_eq!(r, Err(10));
        assert!(done.load(Ordering::Relaxed) < 1_000_000);
    }
}
