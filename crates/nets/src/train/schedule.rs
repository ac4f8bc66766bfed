//! Learning-rate schedules: constant or cosine, each after an optional
//! linear warm-up.

/// The shape of the learning rate over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Constant,
    /// From the base rate at the end of warm-up down to 0 at step T, half a
    /// cosine.
    Cosine,
}

impl std::str::FromStr for ScheduleKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "constant" => Ok(ScheduleKind::Constant),
            "cosine" => Ok(ScheduleKind::Cosine),
            _ => Err(format!("unknown schedule `{s}` (expected constant or cosine)")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub kind: ScheduleKind,
    /// Updates of linear warm-up: update t (0-based) uses lr (t + 1) / warmup.
    pub warmup: u64,
}

impl Schedule {
    /// The rate of update `t` (0-based) of `total`, for base rate `lr`.
    pub fn at(&self, lr: f64, t: u64, total: u64) -> f64 {
        if t < self.warmup {
            return lr * (t + 1) as f64 / self.warmup as f64;
        }
        match self.kind {
            ScheduleKind::Constant => lr,
            ScheduleKind::Cosine => {
                let span = total.saturating_sub(self.warmup).max(1) as f64;
                let progress = (t - self.warmup) as f64 / span;
                lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_is_linear_then_cosine_halves_at_the_midpoint() {
        let s = Schedule { kind: ScheduleKind::Cosine, warmup: 4 };
        assert_eq!(s.at(1.0, 0, 104), 0.25);
        assert_eq!(s.at(1.0, 3, 104), 1.0);
        assert_eq!(s.at(1.0, 4, 104), 1.0);
        assert!((s.at(1.0, 54, 104) - 0.5).abs() < 1e-15);
        let c = Schedule { kind: ScheduleKind::Constant, warmup: 0 };
        assert_eq!(c.at(0.3, 99, 100), 0.3);
    }
}
