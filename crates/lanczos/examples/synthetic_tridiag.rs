//! Writes the demo fixture `testdata/demo-tridiag.jsonl`: Lanczos
//! tridiagonals of two synthetic "models" whose block spectra are known by
//! construction, so the demo pipeline runs before any network is involved.
//!
//! * `synthetic-homogeneous`: four blocks whose eigenvalues are independent
//!   draws from one law (a bulk N(0, 0.05^2) plus five outliers in [1, 3]).
//! * `synthetic-heterogeneous`: the same law scaled by 0.01, 1, 30 and 1000,
//!   the orders of magnitude that separate a Transformer's blocks.
//!
//! Each block is a diagonal matrix (a Gaussian probe is rotation invariant,
//! so the Lanczos output has the same law as for any matrix with that
//! spectrum). Run: cargo run -p lanczos --example synthetic_tridiag
//!
//! `--blocks N --dim D --steps M --probes P` make a larger, single-model
//! heterogeneous input for benchmarks (block k scaled by 10^(Dk/(N-1) - 2),
//! D = `--decades`, default 4).

use lanczos::{lanczos, DenseSymmetric, Options, Probe};
use records::{Record, Run, Tridiag};
use rng::{derive_seed, SplitMix};

const SEED: u64 = 2024;

struct Size {
    dim: usize,
    steps: usize,
    probes: u32,
}

fn spectrum(rng: &mut SplitMix, scale: f64, dim: usize) -> Vec<f64> {
    let mut ev: Vec<f64> = (0..dim - 5).map(|_| 0.05 * rng.normal()).collect();
    ev.extend((0..5).map(|_| 1.0 + 2.0 * rng.uniform()));
    ev.iter().map(|x| x * scale).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lines = vec![serde_json::to_string(&Record::Run(Run {
        tool: "synthetic_tridiag".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        args: vec![],
        seed: Some(SEED),
        model: None,
        device: None,
        dtype: None,
        threads: None,
        lr_scale: None,
        lr_scale_rule: None,
        class_zipf: None,
    }))
    .expect("serializes")];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).ok_or(format!("{name} needs a value"))?.parse()?),
            None => Ok(default),
        }
    };
    let size = Size { dim: flag("--dim", 400)?, steps: flag("--steps", 40)?, probes: flag("--probes", 10)? as u32 };
    let decades = flag("--decades", 4)? as f64;
    let models: Vec<(String, Vec<f64>)> = match flag("--blocks", 0)? {
        0 => vec![
            ("synthetic-homogeneous".into(), vec![1.0; 4]),
            ("synthetic-heterogeneous".into(), vec![0.01, 1.0, 30.0, 1000.0]),
        ],
        n => vec![(
            format!("synthetic-{n}-blocks"),
            (0..n).map(|k| 10f64.powf(decades * k as f64 / (n.max(2) - 1) as f64 - 2.0)).collect(),
        )],
    };
    for (model, scales) in &models {
        let model = model.as_str();
        for (b, scale) in scales.iter().enumerate() {
            let block = format!("block{b}");
            let mut rng = SplitMix::new(derive_seed(SEED, &[model.as_bytes(), block.as_bytes()]));
            let mut a = DenseSymmetric::diagonal(&spectrum(&mut rng, *scale, size.dim));
            for probe in 0..size.probes {
                let seed = derive_seed(SEED, &[model.as_bytes(), block.as_bytes(), &probe.to_le_bytes()]);
                let v = Probe::Gaussian.vector(size.dim, &mut SplitMix::new(seed));
                let opts = Options { steps: size.steps, ..Options::default() };
                let t = lanczos(&mut a, &v, &opts)?;
                let rec = Record::Tridiag(Tridiag {
                    model: model.into(),
                    block: block.clone(),
                    dim: size.dim as u64,
                    probe,
                    seed,
                    steps_done: Some(t.alpha.len()),
                    alpha: t.alpha,
                    beta: t.beta,
                    breakdown: t.breakdown,
                    reorth: Some("full".into()),
                    reorth_steps: None,
                    basis: None,
                    engine: None,
                });
                lines.push(serde_json::to_string(&rec).expect("serializes"));
            }
        }
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
