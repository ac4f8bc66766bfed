//! Times whole Lanczos runs with full reorthogonalization on a cheap diagonal
//! operator, so that reorthogonalization dominates: the previous scalar
//! modified Gram-Schmidt loop (a private copy below) against the library's
//! vectorized, chunked MGS (second sweep when needed) on 1 and 2 threads. Default size: fc1.weight of the paper's MLP.
//!
//! Run: cargo run --release -p lanczos --example reorth_bench [-- --dim N --steps M --reps R]
//! Prints one line per variant: median, min and max wall time over R runs.

use std::time::Instant;

use lanczos::{lanczos, Diagonal, Options, Probe, SymmetricOperator};
use rng::SplitMix;

/// The library's loop before MGS by chunks: one scalar dot and one axpy per stored
/// vector, twice per step. Returns alpha (for a sanity comparison).
fn lanczos_scalar_mgs(op: &mut Diagonal, start: &[f64], m: usize) -> Vec<f64> {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let axpy = |alpha: f64, x: &[f64], y: &mut [f64]| y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += alpha * xi);
    let n = start.len();
    let s = dot(start, start).sqrt();
    let mut q: Vec<f64> = start.iter().map(|x| x / s).collect();
    let mut q_prev = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let (mut alpha, mut beta): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for j in 0..m {
        op.apply(&q, &mut w).expect("infallible");
        let a = dot(&q, &w);
        axpy(-a, &q, &mut w);
        if j > 0 {
            axpy(-beta[j - 1], &q_prev, &mut w);
        }
        alpha.push(a);
        basis.push(q.clone());
        for _ in 0..2 {
            for b in &basis {
                let c = dot(b, &w);
                axpy(-c, b, &mut w);
            }
        }
        let b = dot(&w, &w).sqrt();
        beta.push(b);
        std::mem::swap(&mut q_prev, &mut q);
        q.iter_mut().zip(&w).for_each(|(qi, wi)| *qi = wi / b);
    }
    alpha
}

/// CPU seconds (all threads) used by this process so far, from /proc (Linux;
/// 0 elsewhere). On a machine shared with other jobs, wall time measures the
/// share of the CPU this process got as much as the code.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `f` `reps` times; prints median/min/max wall time and median CPU time.
fn time<T>(name: &str, reps: usize, mut f: impl FnMut() -> T) -> T {
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let mut out = None;
    for _ in 0..reps {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        out = Some(f());
        wall.push(t0.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c0);
    }
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    println!(
        "{name:<24} wall median {:7.3} s (min {:.3}, max {:.3}), cpu median {:7.2} s, {reps} runs",
        wall[reps / 2],
        wall[0],
        wall[reps - 1],
        cpu[reps / 2]
    );
    out.expect("reps >= 1")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).ok_or(format!("{name} needs a value"))?.parse()?),
            None => Ok(default),
        }
    };
    let (n, m, reps) = (flag("--dim", 235_200)?, flag("--steps", 100)?, flag("--reps", 3)?.max(1));
    println!("diagonal operator, dim {n}, {m} steps, full reorthogonalization");
    let mut op = Diagonal((0..n).map(|i| ((i * 7919) % n) as f64 / n as f64).collect());
    let start = Probe::Gaussian.vector(n, &mut SplitMix::new(1));

    let old_alpha = time("scalar MGS (previous)", reps, || lanczos_scalar_mgs(&mut op, &start, m));
    for threads in [1, 2] {
        let opts = Options { steps: m, threads, ..Options::default() };
        let t = time(&format!("chunked MGS, {threads} thread(s)"), reps, || lanczos(&mut op, &start, &opts))?;
        let diff = t.alpha.iter().zip(&old_alpha).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        println!("{:<24} max |alpha - alpha_previous| = {diff:.2e}", "");
    }
    Ok(())
}
