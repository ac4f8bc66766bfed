//! Case 3 over random rotations and start points: the distributions of
//! Assumption 1's r and of kappa(D0_l^-1 H_l)/kappa_l against the paper's
//! statements, and Theorem 2 at every step of every draw, with the bounds that
//! hold in its place (docs/theorem2.md) on the same steps.

use records::{Distribution, Record};
use rng::derive_seed;

use super::{check, Config};
use crate::error::{Error, Result};
use crate::optimizer::{self, OptSpec, RunOptions};
use crate::{cases, stats, theory};
use crate::{Optimizer, Rotation};

/// The paper's average kappa(D0_l^-1 H_l)/kappa_l for the blocks of Case 3.
pub const PAPER_KAPPA_RATIOS: [f64; 3] = [3.9, 14.1, 4.2];

/// What the draws showed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draws {
    /// r of each usable draw.
    pub r: Vec<f64>,
    /// kappa(D0_l^-1 H_l)/kappa_l of each usable draw, per block.
    pub kappa_ratios: Vec<Vec<f64>>,
    /// Draws with a step above Theorem 2's bound.
    pub theorem2_failures: usize,
    /// Draws whose exact worst contraction exceeds Theorem 2's bound.
    pub exact_above: usize,
    /// Draws with a step above the corrected bound max_l (1-1/(R kappa_l)).
    pub corrected_failures: usize,
    /// Draws with a step above the tight bound max_l (1 - eta/(c2_l kappa_l))^2.
    pub tight_failures: usize,
    /// Draws whose exact worst contraction exceeds the corrected / the tight bound.
    pub corrected_exact_above: usize,
    pub tight_exact_above: usize,
    /// Draws skipped because the gradient at w0 had a zero coordinate.
    pub skipped: usize,
}

/// Draw `config.trials` problems of Case 3 (calling `progress(i)` before
/// draw i) and collect what the claims are judged on.
pub fn draw(config: &Config, mut progress: impl FnMut(usize)) -> Result<Draws> {
    config.validate()?;
    let clusters = cases::clustered_set(3, 3, config.mc_kappa)?;
    let eig = cases::heterogeneous(&clusters);
    let names = cases::block_names(3);
    let mut out = Draws { kappa_ratios: vec![Vec::new(); 3], ..Draws::default() };
    for i in 0..config.trials {
        progress(i);
        let seed = derive_seed(config.seed, &[b"trial", &(i as u64).to_le_bytes()]);
        let (p, w0) = cases::build(&names, &eig, Rotation::Haar, seed)?;
        let mut g0 = vec![0.0; p.dim()];
        p.grad(&w0, &mut g0);
        let Ok(a1) = theory::assumption1(&p, &g0) else {
            out.skipped += 1;
            continue;
        };
        out.r.push(a1.r);
        let d0: Vec<f64> = g0.iter().map(|x| x.abs()).collect();
        for (l, b) in p.blocks.iter().enumerate() {
            let k = theory::kappa_precond(b, &d0[p.range(l)])?;
            out.kappa_ratios[l].push(k / b.kappa());
        }
        let kappas: Vec<f64> = p.blocks.iter().map(|b| b.kappa()).collect();
        let bound = theory::theorem2_rate(&kappas, a1.r);
        let corrected = theory::theorem2_corrected(&a1.c1, &a1.c2, &kappas);
        let above = |rate: f64, x: f64| x > rate * (1.0 + config.tol);
        let exact = theory::preconditioned_loss_rate(&p, &d0, a1.eta)?;
        out.exact_above += above(bound, exact) as usize;
        out.corrected_exact_above += above(corrected.rho_r, exact) as usize;
        out.tight_exact_above += above(corrected.rho2, exact) as usize;
        let frozen = Optimizer::AdamFrozen;
        let spec = OptSpec { name: frozen.name().into(), method: frozen.method(0.0, 1.0), lr: a1.eta };
        let (traj, _) = optimizer::trajectory(&p, &w0, &spec, &RunOptions { iters: config.mc_iters, stop_rel: 1e-30 });
        let fails = |rate: f64| traj.windows(2).any(|w| w[1].loss_gap > w[0].loss_gap * rate * (1.0 + config.tol));
        out.theorem2_failures += fails(bound) as usize;
        out.corrected_failures += fails(corrected.rho_r) as usize;
        out.tight_failures += fails(corrected.rho2) as usize;
    }
    if out.r.is_empty() {
        return Err(Error::Numeric("every Monte-Carlo draw had a zero gradient coordinate".into()));
    }
    Ok(out)
}

/// The `distribution` record of a non-empty sample.
fn distribution(name: &str, statement: &str, x: &[f64], paper: Option<f64>) -> Option<Distribution> {
    let q = stats::summarize(x)?;
    Some(Distribution {
        name: name.into(),
        statement: statement.into(),
        trials: x.len(),
        mean: q.mean,
        min: q.min,
        q05: q.q05,
        q25: q.q25,
        median: q.median,
        q75: q.q75,
        q95: q.q95,
        max: q.max,
        paper,
    })
}

/// The Monte-Carlo records: r's distribution and check, each block's
/// kappa-ratio distribution and check, and Theorem 2 over all draws.
pub fn monte_carlo(config: &Config, progress: impl FnMut(usize)) -> Result<Vec<Record>> {
    let d = draw(config, progress)?;
    let n = d.r.len();
    let empty = || Error::Numeric("a Monte-Carlo sample is empty".into());
    let mut out = Vec::new();
    let skip_note = if d.skipped > 0 {
        format!("; {} draws skipped (a zero gradient coordinate)", d.skipped)
    } else {
        String::new()
    };
    out.push(Record::Distribution(
        distribution(
            "r",
            "Assumption 1's r = max_l (c2_l/c1_l)^2 over random draws of Case 3 (Haar Q_l, Gaussian w0)",
            &d.r,
            None,
        )
        .ok_or_else(empty)?,
    ));
    let frac = d.r.iter().filter(|r| **r <= 100.0).count() as f64 / n as f64;
    out.push(Record::Check(check(
        "mc-r",
        "Case 3 with Haar-random Q_l (theory-check's own draws, whatever the input's rotation): r <= 100 with \
         probability at least 2/3 (the paper's statement)",
        None,
        None,
        Some(2.0 / 3.0),
        Some(frac),
        Some(frac >= 2.0 / 3.0),
        format!(
            "observed = fraction of {n} draws with r <= 100, kappa {}; with r read as max_l c2_l/c1_l (unsquared), the fraction \
             with it <= 100 is {}{skip_note}",
            config.mc_kappa,
            d.r.iter().filter(|r| **r <= 1e4).count() as f64 / n as f64
        ),
    )));
    let eig = cases::heterogeneous(&cases::clustered_set(3, 3, config.mc_kappa)?);
    for (l, (x, paper)) in d.kappa_ratios.iter().zip(PAPER_KAPPA_RATIOS).enumerate() {
        let block = format!("b{}", l + 1);
        let dist = distribution(
            &format!("kappa_ratio.{block}"),
            &format!("kappa(D0_l^-1 H_l) / kappa_l for block {block} of Case 3 (eigenvalues {:?})", eig[l]),
            x,
            Some(paper),
        )
        .ok_or_else(empty)?;
        let (mean, median) = (dist.mean, dist.median);
        out.push(Record::Distribution(dist));
        out.push(Record::Check(check(
            &format!("mc-kappa-ratio-{block}"),
            &format!(
                "Case 3 with Haar-random Q_l (theory-check's own draws, whatever the input's rotation): the average \
                 of kappa(D0_l^-1 H_l)/kappa_l is {paper} for block {block} (the paper's figure); holds if our mean \
                 is within 25%"
            ),
            None,
            None,
            Some(paper),
            Some(mean),
            Some((mean - paper).abs() <= 0.25 * paper),
            format!(
                "observed = mean over {n} draws (median {median}). With a Gaussian w0 the population mean is infinite \
                 (min_i |g0_i| has positive density at 0, so E[1/min_i |g0_i|] diverges): sample means do not settle; \
                 compare the `distribution` record's quantiles{skip_note}"
            ),
        )));
    }
    let mut c = check(
        "mc-theorem2",
        "Theorem 2 holds at every step of Adam (beta2 = 1, eta = min_l c1_l) on every random draw of Case 3",
        None,
        Some(Optimizer::AdamFrozen.name()),
        Some(0.0),
        Some(d.theorem2_failures as f64),
        Some(d.theorem2_failures == 0),
        format!(
            "observed = draws with at least one step above max_l (1-1/(r kappa_l)) in {} steps; in {} of {n} draws the exact \
             worst factor max (1 - eta x)^2 over eigenvalues x of D0^-1 H exceeds the theorem's bound",
            config.mc_iters, d.exact_above
        ),
    );
    c.steps_checked = Some(n as u64);
    c.violations = Some(d.theorem2_failures as u64);
    out.push(Record::Check(c));
    for (claim, statement, failures, exact_above) in [
        (
            "mc-theorem2-corrected",
            "Theorem 2 corrected (docs/theorem2.md): at every step of Adam (beta2 = 1, eta = min_l c1_l) on every random \
             draw of Case 3 the loss gap contracts by at most max_l (1-1/(R kappa_l)), R = (max_l c2_l / min_l c1_l)^2",
            d.corrected_failures,
            d.corrected_exact_above,
        ),
        (
            "mc-theorem2-tight",
            "Theorem 2, tight form (docs/theorem2.md): at every step of Adam (beta2 = 1, eta = min_l c1_l) on every \
             random draw of Case 3 the loss gap contracts by at most max_l (1 - eta/(c2_l kappa_l))^2",
            d.tight_failures,
            d.tight_exact_above,
        ),
    ] {
        let mut c = check(
            claim,
            statement,
            None,
            Some(Optimizer::AdamFrozen.name()),
            Some(0.0),
            Some(failures as f64),
            Some(failures == 0),
            format!(
                "observed = draws with at least one step above the bound in {} steps (the same trajectories as \
                 mc-theorem2); in {exact_above} of {n} draws the exact worst factor exceeds the bound",
                config.mc_iters
            ),
        );
        c.steps_checked = Some(n as u64);
        c.violations = Some(failures as u64);
        out.push(Record::Check(c));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::tests::config;
    use super::*;

    #[test]
    fn draws_are_reproducible_and_ratios_at_least_one() {
        let c = Config { trials: 20, mc_iters: 50, ..config() };
        let a = draw(&c, |_| {}).unwrap();
        assert_eq!(a, draw(&c, |_| {}).unwrap(), "same seed, same draws");
        assert_eq!(a.r.len() + a.skipped, 20);
        // r = max (c2/c1)^2 >= 1, and a diagonal preconditioner cannot
        // bring kappa(D^-1 H) below 1 of course; block 1 has kappa_l = 3.
        assert!(a.r.iter().all(|r| *r >= 1.0));
        assert!(a.kappa_ratios.iter().flatten().all(|k| *k >= 1.0 / 3.0 - 1e-12));
        assert_ne!(a, draw(&Config { seed: 1, ..c.clone() }, |_| {}).unwrap());
    }

    #[test]
    fn records_follow_the_draws() {
        let c = Config { trials: 30, mc_iters: 50, ..config() };
        let d = draw(&c, |_| {}).unwrap();
        let recs = monte_carlo(&c, |_| {}).unwrap();
        assert_eq!(recs.len(), 2 + 2 * 3 + 3);
        let Record::Distribution(r) = &recs[0] else { panic!("first record is r's distribution") };
        let mut sorted = d.r.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!((r.trials, r.min, r.max), (d.r.len(), sorted[0], sorted[sorted.len() - 1]));
        let Record::Check(t2) = &recs[8] else { panic!("then the Theorem 2 check") };
        assert_eq!((t2.claim.as_str(), t2.violations), ("mc-theorem2", Some(d.theorem2_failures as u64)));
        let claims: Vec<&str> =
            recs[9..].iter().map(|r| if let Record::Check(c) = r { c.claim.as_str() } else { "" }).collect();
        assert_eq!(claims, ["mc-theorem2-corrected", "mc-theorem2-tight"]);
    }

    /// docs/theorem2.md: on seed 1 the paper's bound breaks on one draw (503);
    /// the corrected and tight bounds hold at every step of every draw.
    #[test]
    fn corrected_bounds_hold_on_the_draws_of_seed_1() {
        let c = Config { trials: 1000, mc_iters: 300, seed: 1, ..config() };
        let d = draw(&c, |_| {}).unwrap();
        assert_eq!(d.r.len() + d.skipped, 1000);
        assert_eq!((d.corrected_failures, d.corrected_exact_above), (0, 0));
        assert_eq!((d.tight_failures, d.tight_exact_above), (0, 0));
        assert_eq!((d.theorem2_failures, d.exact_above), (1, 1), "the paper's bound: draw 503");
    }

    #[test]
    fn bad_settings_are_refused() {
        let e = draw(&Config { mc_kappa: 50.0, ..config() }, |_| {}).unwrap_err();
        assert!(matches!(e, Error::Setting { setting: "mc_kappa", .. }), "{e:?}");
    }
}
