//! The Lanczos runs of a Hessian dump: the work items (a block for a dense
//! Hessian, or a (block, probe) pair for Lanczos), their split into shards,
//! the seed of each probe, and the runs themselves, one output per item.
//!
//! Each probe's start vector has its own seed derived from (base seed, block
//! name, probe), so any subset of the items (a shard) reproduces the same
//! outputs as the whole.

use lanczos::{lanczos_with_progress, LanczosError, Options, Probe, Tridiagonal};
pub use lanczos_tensor::{Engine, EngineChoice};
use rng::{derive_seed, SplitMix};

use crate::blocks::Block;
use crate::error::{Error, Result};
use crate::hvp::{dense, BlockHessian, HessianBatch};
use crate::net::Net;

/// The K-th of N contiguous shares of the work items (K from 1 to N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// `K/N` with 1 <= K <= N.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("must be K/N with 1 <= K <= N, got `{s}`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) =
            (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Items [lo, hi) of this shard among `total`: contiguous and in order, so
    /// that the shards' outputs concatenated are the unsharded output.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        total * (self.index - 1) / self.count..total * self.index / self.count
    }
}

/// What is computed for each block.
#[derive(Debug, Clone)]
pub enum Task {
    /// The dense block Hessian, one product per coordinate.
    Exact,
    /// `probes` Lanczos runs per block, start vectors drawn from `dist`
    /// with seeds derived from `seed`.
    Lanczos { probes: u32, seed: u64, dist: Probe, options: Options },
}

/// One unit of work: a block (exact; probe 0) or a (block, probe) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Index into the blocks.
    pub block: usize,
    pub probe: u32,
}

/// Every item of `task` over `blocks` blocks, block-major.
pub fn items(blocks: usize, task: &Task) -> Vec<Item> {
    match task {
        Task::Exact => (0..blocks).map(|block| Item { block, probe: 0 }).collect(),
        Task::Lanczos { probes, .. } => {
            (0..blocks).flat_map(|block| (0..*probes).map(move |probe| Item { block, probe })).collect()
        }
    }
}

/// The seed of probe `probe`'s start vector on block `block`.
pub fn probe_seed(seed: u64, block: &str, probe: u32) -> u64 {
    derive_seed(seed, &[block.as_bytes(), &probe.to_le_bytes()])
}

/// Hessian-vector products the items need at most (Lanczos may stop early
/// at an invariant subspace).
pub fn products(blocks: &[Block], items: &[Item], task: &Task) -> u64 {
    items
        .iter()
        .map(|it| {
            let d = blocks[it.block].dim();
            (match task {
                Task::Exact => d,
                Task::Lanczos { options, .. } => options.steps.min(d),
            }) as u64
        })
        .sum()
}

/// The result of one item.
pub enum Output<'a> {
    /// The dense Hessian of `block`, row-major.
    Hessian {
        block: &'a Block,
        values: Vec<f64>,
    },
    Tridiag {
        block: &'a Block,
        probe: u32,
        seed: u64,
        tridiagonal: Tridiagonal,
    },
}

/// What a run reports while it works.
pub enum Progress<'a> {
    /// Work on a block starts.
    Block(&'a Block),
    /// One Hessian-vector product done.
    Product,
}

/// The items' runs, one [`Output`] per item, in order. Consecutive items on
/// the same block share one operator (and its kept graph).
pub struct Runs<'a, P: FnMut(Progress<'a>)> {
    net: &'a dyn Net,
    blocks: &'a [Block],
    batch: HessianBatch<'a>,
    task: &'a Task,
    items: &'a [Item],
    next: usize,
    op: Option<(usize, BlockHessian<'a>)>,
    progress: P,
    engine: Engine,
}

impl<'a, P: FnMut(Progress<'a>)> Runs<'a, P> {
    /// Runs of `items` of `task` over `blocks` of `net` on `batch`.
    pub fn new(
        net: &'a dyn Net,
        blocks: &'a [Block],
        batch: HessianBatch<'a>,
        task: &'a Task,
        items: &'a [Item],
        progress: P,
    ) -> Self {
        Runs { net, blocks, batch, task, items, next: 0, op: None, progress, engine: Engine::Rust }
    }

    /// Lanczos by `engine` (default: the Rust engine).
    pub fn with_engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }

    fn run(&mut self, item: Item) -> Result<Output<'a>> {
        let block: &'a Block = &self.blocks[item.block];
        let reuse = matches!(self.task, Task::Lanczos { .. }) && matches!(&self.op, Some((b, _)) if *b == item.block);
        if !reuse {
            self.op = None;
            (self.progress)(Progress::Block(block));
            self.op = Some((item.block, BlockHessian::new(self.net, block, self.batch)?));
        }
        let Runs { op, progress, task, engine, .. } = self;
        let (_, op) = op.as_mut().expect("operator set above");
        match task {
            Task::Exact => {
                let values = dense(op, |_| progress(Progress::Product))?;
                Ok(Output::Hessian { block, values })
            }
            Task::Lanczos { seed, dist, options, .. } => {
                let probe = item.probe;
                let seed = probe_seed(*seed, &block.name, probe);
                let start = dist.vector(block.dim(), &mut SplitMix::new(seed));
                let at = |step: usize| format!("block `{}`, probe {probe}, Lanczos step {step}", block.name);
                let product = |_| progress(Progress::Product);
                let tridiagonal = match engine {
                    Engine::Rust => lanczos_with_progress(op, &start, options, product),
                    Engine::Tensor => lanczos_tensor::lanczos_with_progress(op, &start, options, product),
                }
                .map_err(|e| match e {
                    LanczosError::Operator { step, error: Error::Numeric(m) } => {
                        Error::numeric(format!("{}: {m}", at(step)))
                    }
                    LanczosError::Operator { error, .. } => error,
                    LanczosError::NonFinite { step } => {
                        Error::numeric(format!("{}: Hessian-vector product is NaN or Inf", at(step)))
                    }
                    LanczosError::BadStart(m) => Error::numeric(format!("block `{}`, probe {probe}: {m}", block.name)),
                    LanczosError::Basis { step, error } => Error::invalid(format!("{}: {error}", at(step))),
                    LanczosError::BadOptions(m) => Error::invalid(m),
                })?;
                Ok(Output::Tridiag { block, probe, seed, tridiagonal })
            }
        }
    }
}

impl<'a, P: FnMut(Progress<'a>)> Iterator for Runs<'a, P> {
    type Item = Result<Output<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = *self.items.get(self.next)?;
        self.next += 1;
        let what = match self.task {
            Task::Exact => format!("block `{}`", self.blocks[item.block].name),
            Task::Lanczos { .. } => format!("block `{}`, probe {}", self.blocks[item.block].name, item.probe),
        };
        // A failure inside libtorch drops the operator (its graph may be half built).
        let out = crate::contain(&what, || self.run(item));
        if out.is_err() {
            self.op = None;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_k_of_n_and_refuse_the_rest() {
        assert_eq!("3/8".parse::<Shard>(), Ok(Shard { index: 3, count: 8 }));
        assert_eq!(" 1 / 1 ".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert_eq!(e, format!("must be K/N with 1 <= K <= N, got `{bad}`"));
        }
    }

    #[test]
    fn shards_cover_every_item_once_in_order() {
        for total in [0, 1, 5, 7, 20] {
            for count in 1..=9 {
                let ranges: Vec<_> = (1..=count).map(|index| Shard { index, count }.range(total)).collect();
                let joined: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(joined, (0..total).collect::<Vec<_>>(), "{total} items in {count} shards");
            }
        }
        // The unsharded split of 7 items in 3: 2, 2, 3.
        assert_eq!(Shard { index: 3, count: 3 }.range(7), 4..7);
    }

    #[test]
    fn items_are_block_major() {
        let task = Task::Lanczos { probes: 2, seed: 0, dist: Probe::Gaussian, options: Options::default() };
        let it: Vec<(usize, u32)> = items(2, &task).iter().map(|i| (i.block, i.probe)).collect();
        assert_eq!(it, [(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(items(3, &Task::Exact).len(), 3);
    }
}
