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

use lanczos::{derive_seed, lanczos, DenseSymmetric, Options, Probe, SplitMix};
use records::{Record, Run, Tridiag};

const DIM: usize = 400;
const STEPS: usize = 40;
const PROBES: u32 = 10;
const SEED: u64 = 2024;

fn spectrum(rng: &mut SplitMix, scale: f64) -> Vec<f64> {
    let mut ev: Vec<f64> = (0..DIM - 5).map(|_| 0.05 * rng.normal()).collect();
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
    }))
    .expect("serializes")];
    let models: [(&str, [f64; 4]); 2] =
        [("synthetic-homogeneous", [1.0, 1.0, 1.0, 1.0]), ("synthetic-heterogeneous", [0.01, 1.0, 30.0, 1000.0])];
    for (model, scales) in models {
        for (b, scale) in scales.iter().enumerate() {
            let block = format!("block{b}");
            let mut rng = SplitMix::new(derive_seed(SEED, &[model.as_bytes(), block.as_bytes()]));
            let mut a = DenseSymmetric::diagonal(&spectrum(&mut rng, *scale));
            for probe in 0..PROBES {
                let seed = derive_seed(SEED, &[model.as_bytes(), block.as_bytes(), &probe.to_le_bytes()]);
                let v = Probe::Gaussian.vector(DIM, &mut SplitMix::new(seed));
                let opts = Options { steps: STEPS, ..Options::default() };
                let t = lanczos(&mut a, &v, &opts)?;
                let rec = Record::Tridiag(Tridiag {
                    model: model.into(),
                    block: block.clone(),
                    dim: DIM as u64,
                    probe,
                    seed,
                    steps_done: Some(t.alpha.len()),
                    alpha: t.alpha,
                    beta: t.beta,
                    breakdown: t.breakdown,
                    reorth: Some("full".into()),
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
