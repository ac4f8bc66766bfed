//! quad-sim: GD, blockwise GD and Adam on the block-diagonal quadratics of
//! the paper's Section 3, as `problem`, `tune` and `iterate` records.

#![allow(clippy::neg_cmp_op_on_partial_ord)] // `!(x > 0.0)` also rejects NaN

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Parser;
use rng::{derive_seed, SplitMix};
use quadratic::{cases, optim, theory, Method, OptSpec, Quadratic, RunOptions};
use records::{Density, Error, Iterate, Problem, ProblemBlock, Record, RecordWriter, Result, Run, Spectrum, Tune};

const TOOL: &str = "quad-sim";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    about = "Run GD, blockwise GD and Adam on the paper's block-diagonal quadratics (Section 3)",
    long_about = "Builds L(w) = 1/2 w^T H w with H = diag(H_1..H_L), H_l = Q_l diag(lambda_l) Q_l^T \
(Q_l Haar-random: the Q factor of a Gaussian matrix), h = 0 and a standard Gaussian w0, all from \
--seed, and writes one `problem` record (eigenvalue extremes, condition numbers, Assumption 1 \
constants c1, c2, r and Theorem 2's step), optionally `spectrum` records, then for each \
--optimizer its `iterate` records (t, loss gap, gradient norm, distance to w*).

Cases: 1 and 2 sample each block's eigenvalues from `density` records (--spectra; the paper uses \
GPT2's embedding, 3rd query, 3rd value, 3rd MLP fc blocks for case 1 and ResNet18's 1st-4th \
convolutions for case 2), then shift and scale all blocks together into [1, kappa] so that H has \
condition number exactly kappa. Case 3 (heterogeneous): {1,2,3}, {99,100,101}, {kappa-2,kappa-1,kappa}; \
case 4 (homogeneous): the same nine values dealt round-robin, {1,99,kappa-2}, ... With --blocks / \
--block-dim other than 3 x 3, cases 3-4 use clusters of unit-spaced values at geometrically spaced \
levels from 1 to kappa.

Optimizers (--optimizer NAME, NAME=LR or NAME=grid; repeatable): gd (eta = 2/(mu+L)), bgd \
(eta_l = 1/lambda_max(H_l); LR multiplies it), adam-frozen (beta1 = 0, beta2 = 1: D0 = diag|g0| \
fixed; default step = Theorem 2's eta = min_l c1_l), adam (beta1 = 0, beta2 = --beta2, epsilon 0, \
no bias correction), sgd-momentum and adam-momentum (beta1 = --beta1). Moments start at m0 = g0, \
v0 = g0^2. Optimizers without a step (adam, the momentum ones, or NAME=grid) are tuned over \
--lr-grid: every learning rate tried is a `tune` record and the best (fewest steps to --stop-rel, else \
smallest final loss gap) is run again for its iterates.",
    after_help = "Examples:
  quad-sim --case 3 | theory-check
  quad-sim --case 4 --optimizer gd --optimizer adam-frozen --optimizer adam --every 10
  quad-sim --case 3 --kappa 5000 --emit-spectra --iters 0       # eigenvalues only
  quad-sim --case 1 --spectra gpt2.density.jsonl | theory-check
  quad-sim --spectra my.density.jsonl --spectra-block wte --spectra-block h.0.mlp.c_fc --block-dim 200
  quad-sim --case 3 --blocks 5 --block-dim 20 --optimizer adam=0.05 --optimizer gd"
)]
struct Args {
    /// The paper's case: 1 (Transformer-type spectra), 2 (CNN-type), 3
    /// (heterogeneous), 4 (homogeneous). Without it, --spectra is required.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    case: Option<u8>,

    /// Condition number of the whole H (the paper's v1 text: 2000; a later version: 5000).
    #[arg(long, default_value_t = 2000.0)]
    kappa: f64,

    /// Number of blocks (cases 3-4: default 3; with --spectra: the first N density blocks).
    #[arg(long)]
    blocks: Option<usize>,

    /// Dimension of each block (cases 3-4: default 3; with --spectra: default 100).
    #[arg(long)]
    block_dim: Option<usize>,

    /// `density` records (from slq-density) to sample block spectra from.
    #[arg(long)]
    spectra: Option<PathBuf>,

    /// With --spectra: use this block (name `block` or `model/block`); repeatable, in order.
    #[arg(long = "spectra-block")]
    spectra_blocks: Vec<String>,

    /// Optimizer: gd, bgd, adam, adam-frozen, sgd-momentum, adam-momentum;
    /// `NAME=LR` fixes the step, `NAME=grid` tunes it. Default: gd, bgd, adam-frozen, adam.
    #[arg(long = "optimizer")]
    optimizers: Vec<String>,

    /// Step for the optimizers given without one that would otherwise be tuned.
    #[arg(long)]
    lr: Option<f64>,

    /// Learning rates to tune over, comma-separated. Default: 1e-4, 10^-3.5, ..., 1
    /// for the Adam variants; the same times 100 / lambda_max for sgd-momentum.
    #[arg(long, value_delimiter = ',')]
    lr_grid: Option<Vec<f64>>,

    /// beta1 of sgd-momentum and adam-momentum.
    #[arg(long, default_value_t = 0.9)]
    beta1: f64,

    /// beta2 of adam and adam-momentum.
    #[arg(long, default_value_t = 0.999)]
    beta2: f64,

    /// Steps per trajectory.
    #[arg(long, default_value_t = 5000)]
    iters: u64,

    /// Write every K-th iterate (and always the first and last).
    #[arg(long, default_value_t = 1)]
    every: u64,

    /// Stop a trajectory once its loss gap is below this fraction of the initial one.
    #[arg(long, default_value_t = 1e-30)]
    stop_rel: f64,

    /// Base seed: rotations, start point and spectrum samples derive from it.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Also write each block's eigenvalues as `spectrum` records (the paper's Figures 6-7).
    #[arg(long)]
    emit_spectra: bool,
}

fn main() {
    let args = Args::parse();
    Error::exit(TOOL, run(&args));
}

/// The requested eigenvalues of every block, their names, and where they came from.
struct Eigen {
    case: String,
    source: String,
    names: Vec<String>,
    values: Vec<Vec<f64>>,
}

fn positive(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::usage(format!("--{name} must be positive and finite, got {v}")))
    }
}

fn eigenvalues(args: &Args) -> Result<Eigen> {
    if !(args.kappa.is_finite() && args.kappa > 1.0) {
        return Err(Error::usage(format!("--kappa must be finite and > 1, got {}", args.kappa)));
    }
    if args.blocks == Some(0) || args.block_dim == Some(0) {
        return Err(Error::usage("--blocks and --block-dim must be at least 1"));
    }
    if args.spectra.is_none() && !args.spectra_blocks.is_empty() {
        return Err(Error::usage("--spectra-block needs --spectra FILE"));
    }
    match (args.case, &args.spectra) {
        (Some(c @ (3 | 4)), None) => {
            let blocks = args.blocks.unwrap_or(3);
            let dim = args.block_dim.unwrap_or(3);
            let clusters = cases::clustered_set(blocks, dim, args.kappa).map_err(Error::usage)?;
            let values = if c == 3 { cases::heterogeneous(&clusters) } else { cases::homogeneous(&clusters) };
            let paper = blocks == 3 && dim == 3;
            Ok(Eigen {
                case: c.to_string(),
                source: format!(
                    "{} ({}), kappa {}",
                    if c == 3 { "heterogeneous clusters" } else { "homogeneous round-robin of the clusters" },
                    if paper { "the paper's values" } else { "generalised: unit-spaced clusters at geometric levels" },
                    args.kappa
                ),
                names: cases::block_names(blocks),
                values,
            })
        }
        (Some(c @ (3 | 4)), Some(_)) => {
            Err(Error::usage(format!("case {c} has fixed eigenvalues: drop --spectra (or drop --case to sample from it)")))
        }
        (Some(c), None) => match default_spectra(c) {
            Some(path) => from_spectra(args, Some(c), &path),
            None => Err(Error::usage(missing_spectra_message(c))),
        },
        (case, Some(path)) => from_spectra(args, case, path),
        (None, None) => Err(Error::usage(
            "give --case 3 or --case 4, or --case 1/2 (or no case) with --spectra FILE of `density` records",
        )),
    }
}

/// The spectra file a case uses when --spectra is not given: made by our own
/// pipeline and shipped in testdata/quad/ (its README has the command). Found
/// through the source tree the binary was built from.
fn default_spectra(case: u8) -> Option<PathBuf> {
    let name = match case {
        1 => "case1-gpt2-small.density.jsonl",
        2 => "case2-resnet18-narrow.density.jsonl",
        _ => return None,
    };
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/quad")).join(name);
    path.exists().then_some(path)
}

fn missing_spectra_message(case: u8) -> String {
    let (what, model, blocks) = if case == 1 {
        (
            "GPT2's blockwise Hessian spectra (embedding, 3rd query, 3rd value, 3rd MLP fc)",
            "gpt2",
            "--block wte --block 'h.2.attn.q' --block 'h.2.attn.v' --block 'h.2.mlp.c_fc'",
        )
    } else {
        ("ResNet18's blockwise Hessian spectra (1st-4th convolution layers)", "resnet18", "--block 'conv*' ...")
    };
    format!(
        "case {case} samples eigenvalues from {what}; its default spectra file (testdata/quad/) was not found next to the sources. \
         Make one with our own pipeline and pass it with --spectra, e.g.\n  \
         hvp-dump --model {model} {blocks} | slq-density > testdata/quad/{model}-blocks.density.jsonl\n  \
         quad-sim --case {case} --spectra testdata/quad/{model}-blocks.density.jsonl\n\
         (block names as hvp-dump prints them; --spectra-block NAME picks blocks from a larger file)"
    )
}

fn from_spectra(args: &Args, case: Option<u8>, path: &PathBuf) -> Result<Eigen> {
    let mut found: Vec<(String, Density)> = Vec::new();
    for line in records::open_inputs(std::slice::from_ref(path))? {
        let line = line?;
        if line.kind != "density" {
            continue;
        }
        let d: Density = line.parse()?;
        if d.nodes.is_empty() {
            return Err(line.error(Some("nodes"), "is empty"));
        }
        if d.weights.len() != d.nodes.len() {
            return Err(line.error(
                Some("weights"),
                format!("has {} entries but nodes has {}", d.weights.len(), d.nodes.len()),
            ));
        }
        if let Some(i) = d.nodes.iter().position(|x| !x.is_finite()) {
            return Err(line.error(Some("nodes"), format!("entry {i} is not finite")));
        }
        if let Some(i) = d.weights.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(line.error(Some("weights"), format!("entry {i} is {} (must be finite and >= 0)", d.weights[i])));
        }
        let total: f64 = d.weights.iter().sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(line.error(Some("weights"), format!("sum to {total}, expected 1 (pooled quadrature weights)")));
        }
        let name = format!("{}/{}", d.model, d.block);
        if found.iter().any(|(n, _)| *n == name) {
            return Err(line.error(Some("block"), format!("block `{name}` appears twice in {}", path.display())));
        }
        found.push((name, d));
    }
    if found.is_empty() {
        return Err(Error::invalid(format!("{}: no `density` records", path.display())));
    }
    let chosen: Vec<(String, Density)> = if args.spectra_blocks.is_empty() {
        found
    } else {
        let mut out = Vec::new();
        for want in &args.spectra_blocks {
            let hit = found.iter().find(|(n, d)| *n == *want || d.block == *want).ok_or_else(|| {
                let have: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
                Error::usage(format!(
                    "--spectra-block `{want}` is not in {} (it has: {})",
                    path.display(),
                    have.join(", ")
                ))
            })?;
            out.push(hit.clone());
        }
        out
    };
    let chosen = match args.blocks {
        Some(n) if n > chosen.len() => {
            return Err(Error::usage(format!(
                "--blocks {n} but only {} density blocks are available from {}",
                chosen.len(),
                path.display()
            )))
        }
        Some(n) => chosen[..n].to_vec(),
        None => chosen,
    };
    let dim = args.block_dim.unwrap_or(100);
    let mut rng = SplitMix::new(derive_seed(args.seed, &[b"spectra"]));
    let mut values = Vec::new();
    for (name, d) in &chosen {
        values.push(
            cases::sample_discrete(&d.nodes, &d.weights, dim, &mut rng)
                .map_err(|m| Error::invalid(format!("{}: block `{name}`: {m}", path.display())))?,
        );
    }
    cases::rescale_to_kappa(&mut values, args.kappa)
        .map_err(|m| Error::invalid(format!("{}: {m}", path.display())))?;
    let names: Vec<String> = chosen.iter().map(|(n, _)| n.clone()).collect();
    Ok(Eigen {
        case: case.map_or("custom".to_string(), |c| c.to_string()),
        source: format!(
            "{} eigenvalues per block sampled from the pooled quadrature measure of {} ({}), \
             then shifted and scaled together into [1, {}]",
            dim,
            path.display(),
            names.join(", "),
            args.kappa
        ),
        names,
        values,
    })
}

/// One optimizer as asked on the command line: a fixed step or a grid.
struct Plan {
    name: String,
    method: Method,
    lr: Option<f64>,
}

fn plans(args: &Args, p: &Quadratic, eta_adam: f64) -> Result<Vec<Plan>> {
    let specs: Vec<String> = if args.optimizers.is_empty() {
        ["gd", "bgd", "adam-frozen", "adam"].iter().map(|s| s.to_string()).collect()
    } else {
        args.optimizers.clone()
    };
    if !(0.0..1.0).contains(&args.beta1) {
        return Err(Error::usage(format!("--beta1 must be in [0, 1), got {}", args.beta1)));
    }
    if !(args.beta2 > 0.0 && args.beta2 <= 1.0) {
        return Err(Error::usage(format!("--beta2 must be in (0, 1], got {}", args.beta2)));
    }
    if let Some(lr) = args.lr {
        positive("lr", lr)?;
    }
    let mut out = Vec::new();
    for spec in specs {
        let (name, explicit) = match spec.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (spec.clone(), None),
        };
        let method = match name.as_str() {
            "gd" => Method::Gd,
            "bgd" => Method::Bgd,
            "adam" => Method::Adam { beta1: 0.0, beta2: args.beta2 },
            "adam-frozen" => Method::Adam { beta1: 0.0, beta2: 1.0 },
            "adam-momentum" => Method::Adam { beta1: args.beta1, beta2: args.beta2 },
            "sgd-momentum" => Method::SgdMomentum { beta1: args.beta1 },
            other => {
                return Err(Error::usage(format!(
                    "unknown optimizer `{other}` (expected gd, bgd, adam, adam-frozen, sgd-momentum, adam-momentum)"
                )))
            }
        };
        let theory_lr = match method {
            Method::Gd => Some(2.0 / (p.lambda_min() + p.lambda_max())),
            Method::Bgd => Some(1.0),
            Method::Adam { beta2, .. } if beta2 == 1.0 && name == "adam-frozen" => Some(eta_adam),
            _ => None,
        };
        let lr = match explicit.as_deref() {
            Some("grid") => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| Error::usage(format!("--optimizer {spec}: `{v}` is not a positive step or `grid`")))?,
            ),
            None => theory_lr.or(args.lr),
        };
        out.push(Plan { name, method, lr });
    }
    Ok(out)
}

fn default_grid(method: Method, lambda_max: f64) -> Vec<f64> {
    let base: Vec<f64> = (0..=8).map(|k| 10f64.powf(-4.0 + 0.5 * k as f64)).collect();
    match method {
        Method::SgdMomentum { .. } | Method::Gd | Method::Bgd => base.iter().map(|x| x * 100.0 / lambda_max).collect(),
        Method::Adam { .. } => base,
    }
}

fn run(args: &Args) -> Result<()> {
    if args.every == 0 {
        return Err(Error::usage("--every must be at least 1"));
    }
    if !(args.stop_rel >= 0.0 && args.stop_rel < 1.0) {
        return Err(Error::usage(format!("--stop-rel must be in [0, 1), got {}", args.stop_rel)));
    }
    if let Some(g) = &args.lr_grid {
        if g.is_empty() {
            return Err(Error::usage("--lr-grid is empty"));
        }
        for x in g {
            positive("lr-grid", *x)?;
        }
    }
    let eig = eigenvalues(args)?;
    let (p, w0) = cases::build(&eig.names, &eig.values, args.seed).map_err(Error::invalid)?;
    let mut g0 = vec![0.0; p.dim()];
    p.grad(&w0, &mut g0);
    let a1 = theory::assumption1(&p, &g0).map_err(Error::numeric)?;
    let plans = plans(args, &p, a1.eta)?;
    let problem_id = format!("case{}-seed{}", eig.case, args.seed);

    let mut blocks = Vec::new();
    for (l, b) in p.blocks.iter().enumerate() {
        let d0: Vec<f64> = g0[p.range(l)].iter().map(|x| x.abs()).collect();
        let kp = theory::kappa_precond(b, &d0).map_err(Error::numeric)?;
        blocks.push(ProblemBlock {
            name: b.name.clone(),
            dim: b.dim(),
            lambda_min: b.lambda_min(),
            lambda_max: b.lambda_max(),
            kappa: b.kappa(),
            c1: a1.c1[l],
            c2: a1.c2[l],
            kappa_precond: kp,
        });
    }
    let loss0 = Quadratic::loss_from_grad(&w0, &g0);
    let problem = Problem {
        problem: problem_id.clone(),
        case: eig.case.clone(),
        source: eig.source.clone(),
        seed: args.seed,
        dim: p.dim(),
        kappa: p.kappa(),
        lambda_min: p.lambda_min(),
        lambda_max: p.lambda_max(),
        loss0,
        grad0_norm: g0.iter().map(|x| x * x).sum::<f64>().sqrt(),
        r: a1.r,
        eta_adam: a1.eta,
        rotation: "haar-qr".into(),
        blocks,
    };

    let mut out = RecordWriter::stdout();
    out.write(&Record::Run(Run::for_tool(TOOL, Some(args.seed))))?;
    out.write(&Record::Problem(problem))?;
    if args.emit_spectra {
        for b in &p.blocks {
            out.write(&Record::Spectrum(Spectrum {
                problem: problem_id.clone(),
                block: b.name.clone(),
                source: eig.source.clone(),
                eigenvalues: b.eigenvalues.clone(),
            }))?;
        }
    }
    let progress = std::io::stderr().is_terminal();
    let opts = RunOptions { iters: args.iters, stop_rel: args.stop_rel };
    for plan in &plans {
        let lr = match plan.lr {
            Some(lr) => lr,
            None => {
                let grid = args.lr_grid.clone().unwrap_or_else(|| default_grid(plan.method, p.lambda_max()));
                tune(&p, &w0, plan, &grid, &opts, &problem_id, &mut out, progress)?
            }
        };
        if progress {
            eprintln!("{TOOL}: {} lr {lr}", plan.name);
        }
        let spec = OptSpec { name: plan.name.clone(), method: plan.method, lr };
        let (beta1, beta2) = spec.betas();
        optim::run(&p, &w0, &spec, &opts, |s| {
            if s.t % args.every == 0 || s.last {
                out.write(&Record::Iterate(Iterate {
                    problem: problem_id.clone(),
                    optimizer: plan.name.clone(),
                    lr,
                    beta1,
                    beta2,
                    t: s.t,
                    loss_gap: s.loss_gap,
                    grad_norm: s.grad_norm,
                    dist: s.dist,
                    stopped: s.stopped.map(|x| x.name().to_string()),
                }))?;
            }
            Ok::<(), Error>(())
        })?;
    }
    Ok(())
}

/// Run every step size of the grid, write a `tune` record for each and
/// return the best: among runs that reached --stop-rel the fewest steps,
/// otherwise the smallest final loss gap; diverged runs rank last.
#[allow(clippy::too_many_arguments)]
fn tune(
    p: &Quadratic,
    w0: &[f64],
    plan: &Plan,
    grid: &[f64],
    opts: &RunOptions,
    problem_id: &str,
    out: &mut RecordWriter<std::io::Stdout>,
    progress: bool,
) -> Result<f64> {
    let mut results = Vec::new();
    for &lr in grid {
        if progress {
            eprintln!("{TOOL}: tuning {} lr {lr}", plan.name);
        }
        let spec = OptSpec { name: plan.name.clone(), method: plan.method, lr };
        let s = optim::run::<std::convert::Infallible>(p, w0, &spec, opts, |_| Ok(())).unwrap_or_else(|e| match e {});
        results.push((lr, s));
    }
    // Diverged runs last; runs that reached --stop-rel first, fastest first;
    // the rest by final loss gap.
    let rank = |s: &optim::Summary| {
        let converged = s.stopped == Some(optim::Stop::Converged);
        (s.stopped == Some(optim::Stop::Diverged), !converged, if converged { s.steps } else { 0 }, s.final_rel_gap())
    };
    let best = results
        .iter()
        .enumerate()
        .min_by(|a, b| {
            let (ka, kb) = (rank(&a.1 .1), rank(&b.1 .1));
            ka.0.cmp(&kb.0).then(ka.1.cmp(&kb.1)).then(ka.2.cmp(&kb.2)).then(ka.3.total_cmp(&kb.3))
        })
        .map(|(i, _)| i)
        .ok_or_else(|| Error::usage("--lr-grid is empty"))?;
    if results[best].1.stopped == Some(optim::Stop::Diverged) {
        return Err(Error::invalid(format!("{}: every learning rate of the grid diverged", plan.name)));
    }
    for (i, (lr, s)) in results.iter().enumerate() {
        out.write(&Record::Tune(Tune {
            problem: problem_id.to_string(),
            optimizer: plan.name.clone(),
            lr: *lr,
            final_rel_gap: s.final_rel_gap(),
            steps: s.steps,
            stopped: s.stopped.map(|x| x.name().to_string()),
            chosen: i == best,
        }))?;
    }
    Ok(results[best].0)
}
