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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_loss_wins_ties_go_to_the_smaller_rate_diverged_never() {
        assert_eq!(best(&[(0.1, Some(0.5)), (0.01, Some(0.3)), (1.0, None)]), Some(1));
        assert_eq!(best(&[(0.1, Some(0.3)), (0.01, Some(0.3))]), Some(1));
        assert_eq!(best(&[(0.01, Some(0.3)), (0.1, Some(0.3))]), Some(0));
        assert_eq!(best(&[(0.1, Some(f64::NAN)), (1.0, None)]), None);
        assert_eq!(best(&[]), None);
    }
}
