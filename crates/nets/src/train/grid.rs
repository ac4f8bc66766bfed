//! Choosing a learning rate from a grid: the lowest held-out loss at the
//! end of the run; ties go to the smaller rate; runs that diverged (or
//! ended with a non-finite loss) are never chosen.

/// The rule, in words, as the `best` record states it.
pub const RULE: &str = "lowest final held-out loss; ties to the smaller rate; diverged runs excluded";

/// Index of the winner among `(lr, final held-out loss)` (None: diverged),
/// or None when every run diverged.
pub fn best(runs: &[(f64, Option<f64>)]) -> Option<usize> {
    let mut win: Option<usize> = None;
    for (i, (lr, loss)) in runs.iter().enumerate() {
        let Some(l) = loss.filter(|l| l.is_finite()) else { continue };
        let better = match win {
            None => true,
            Some(w) => {
                let (wlr, wl) = (runs[w].0, runs[w].1.unwrap_or(f64::INFINITY));
                l < wl || (l == wl && *lr < wlr)
            }
        };
        if better {
            win = Some(i);
        }
    }
    win
}

/// Where a grid's winner sits among the rates tried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Some rate tried is smaller and some larger than the winner's: the
    /// optimum is bracketed.
    Interior,
    /// The winner is the smallest rate tried (or every rate diverged).
    LowEdge,
    /// The winner is the largest rate tried.
    HighEdge,
}

impl Placement {
    pub fn name(self) -> &'static str {
        match self {
            Placement::Interior => "interior",
            Placement::LowEdge => "low-edge",
            Placement::HighEdge => "high-edge",
        }
    }
}

/// Where the winner of `runs` sits. A diverged larger rate counts as a rate
/// tried above it; a diverged smaller rate does not count below it: a run
/// that blows up below a rate that trains says the starting point is
/// fragile, not that smaller rates do worse, so the grid goes on down.
pub fn placement(runs: &[(f64, Option<f64>)]) -> Placement {
    let Some(w) = best(runs) else { return Placement::LowEdge };
    let lr = runs[w].0;
    let below = runs.iter().any(|(r, l)| *r < lr && l.is_some());
    let above = runs.iter().any(|(r, _)| *r > lr);
    match (below, above) {
        (true, true) => Placement::Interior,
        (false, _) => Placement::LowEdge,
        (true, false) => Placement::HighEdge,
    }
}

/// The next rate to try so that the winner of `runs` becomes interior: one
/// grid step beyond the edge it sits on, the step being the ratio of the two
/// rates nearest that edge (10 with a single rate). None when the winner is
/// already interior.
pub fn extension(runs: &[(f64, Option<f64>)]) -> Option<f64> {
    let mut rates: Vec<f64> = runs.iter().map(|(r, _)| *r).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let (lo, hi) = (*rates.first()?, *rates.last()?);
    let step = |a: f64, b: f64| if a > 0.0 && b > a { b / a } else { 10.0 };
    match placement(runs) {
        Placement::Interior => None,
        Placement::LowEdge => Some(lo / step(lo, *rates.get(1).unwrap_or(&lo))),
        Placement::HighEdge => Some(hi * step(rates[rates.len().saturating_sub(2)], hi)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_steps_past_the_edge_the_winner_sits_on() {
        // Winner at the top: one step of the top ratio above.
        let up = [(1e-3, Some(0.5)), (1e-2, Some(0.4)), (1e-1, Some(0.3))];
        assert_eq!(placement(&up), Placement::HighEdge);
        assert!((extension(&up).unwrap() - 1.0).abs() < 1e-15);
        // Winner at the bottom, half-decade grid: a half decade below.
        let down = [(1e-3, Some(0.3)), (1e-3 * 10f64.sqrt(), Some(0.4))];
        assert_eq!(placement(&down), Placement::LowEdge);
        assert!((extension(&down).unwrap() - 1e-3 / 10f64.sqrt()).abs() < 1e-18);
        // Bracketed: nothing to add. A diverged larger rate brackets too.
        assert_eq!(extension(&[(1e-3, Some(0.5)), (1e-2, Some(0.3)), (1e-1, Some(0.4))]), None);
        assert_eq!(extension(&[(1e-3, Some(0.5)), (1e-2, Some(0.3)), (1e-1, None)]), None);
        // Only diverged rates below the winner: go on down, one step below the lowest.
        let fragile = [(1e-3, None), (1e-2, None), (1e-1, Some(2.3)), (1.0, None)];
        assert_eq!(placement(&fragile), Placement::LowEdge);
        assert!((extension(&fragile).unwrap() - 1e-4).abs() < 1e-19);
        // Everything diverged: go down. One rate: a decade.
        assert!((extension(&[(1e-1, None), (1.0, None)]).unwrap() - 1e-2).abs() < 1e-17);
        assert!((extension(&[(1e-2, Some(0.3))]).unwrap() - 1e-3).abs() < 1e-18);
        assert_eq!(extension(&[]), None);
    }

    #[test]
    fn lowest_loss_wins_ties_go_to_the_smaller_rate_diverged_never() {
        assert_eq!(best(&[(0.1, Some(0.5)), (0.01, Some(0.3)), (1.0, None)]), Some(1));
        assert_eq!(best(&[(0.1, Some(0.3)), (0.01, Some(0.3))]), Some(1));
        assert_eq!(best(&[(0.01, Some(0.3)), (0.1, Some(0.3))]), Some(0));
        assert_eq!(best(&[(0.1, Some(f64::NAN)), (1.0, None)]), None);
        assert_eq!(best(&[]), None);
    }
}
