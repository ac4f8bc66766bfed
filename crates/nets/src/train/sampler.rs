//! The order in which training examples are visited: each epoch a
//! permutation drawn from a seed derived from (seed, epoch), cut into
//! consecutive batches; the last partial batch of an epoch is dropped. With
//! the batch as large as the set, every batch is the whole set in its own
//! order (0, 1, ..., n - 1), so one step can be checked by hand.

use rng::SplitMix;

pub struct Sampler {
    n: usize,
    batch: usize,
    seed: u64,
    epoch: u64,
    order: Vec<usize>,
    pos: usize,
}

impl Sampler {
    /// Batches of `batch` of `n` examples (0 < batch <= n, checked by the caller).
    pub fn new(n: usize, batch: usize, seed: u64) -> Self {
        let mut s = Sampler { n, batch, seed, epoch: 0, order: Vec::new(), pos: 0 };
        s.shuffle();
        s
    }

    fn shuffle(&mut self) {
        self.order = (0..self.n).collect();
        if self.batch >= self.n {
            return;
        }
        let mut rng = SplitMix::new(rng::derive_seed(self.seed, &[b"train-order", &self.epoch.to_le_bytes()]));
        for i in (1..self.n).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            self.order.swap(i, j);
        }
    }

    /// The next batch's example indices.
    pub fn next_batch(&mut self) -> Vec<usize> {
        if self.pos + self.batch > self.n {
            self.epoch += 1;
            self.pos = 0;
            self.shuffle();
        }
        let b = self.order[self.pos..self.pos + self.batch].to_vec();
        self.pos += self.batch;
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_epoch_visits_every_full_batch_once() {
        let mut s = Sampler::new(10, 3, 7);
        let mut seen: Vec<usize> = (0..3).flat_map(|_| s.next_batch()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9, "three batches of an epoch are distinct examples");
        let next = s.next_batch();
        assert_eq!(next.len(), 3);
    }

    #[test]
    fn a_batch_as_large_as_the_set_is_the_set_in_order() {
        let mut s = Sampler::new(5, 5, 1);
        assert_eq!(s.next_batch(), vec![0, 1, 2, 3, 4]);
        assert_eq!(s.next_batch(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_order_depends_on_the_seed_only() {
        let a: Vec<Vec<usize>> = {
            let mut s = Sampler::new(100, 10, 3);
            (0..25).map(|_| s.next_batch()).collect()
        };
        let b: Vec<Vec<usize>> = {
            let mut s = Sampler::new(100, 10, 3);
            (0..25).map(|_| s.next_batch()).collect()
        };
        let c: Vec<Vec<usize>> = {
            let mut s = Sampler::new(100, 10, 4);
            (0..25).map(|_| s.next_batch()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a[0..10], a[10..20], "a new permutation each epoch");
    }
}
