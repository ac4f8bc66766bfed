use rng::SplitMix;

/// Distribution of Lanczos start vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Gaussian,
    /// Entries +1 or -1 with equal probability.
    Rademacher,
}

impl Probe {
    pub fn name(self) -> &'static str {
        match self {
            Probe::Gaussian => "gaussian",
            Probe::Rademacher => "rademacher",
        }
    }

    /// A start vector of length `n` (not normalized; Lanczos normalizes).
    pub fn vector(self, n: usize, rng: &mut SplitMix) -> Vec<f64> {
        match self {
            Probe::Gaussian => (0..n).map(|_| rng.normal()).collect(),
            Probe::Rademacher => (0..n).map(|_| if rng.next_u64() >> 63 == 1 { 1.0 } else { -1.0 }).collect(),
        }
    }
}

impl std::str::FromStr for Probe {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gaussian" => Ok(Probe::Gaussian),
            "rademacher" => Ok(Probe::Rademacher),
            _ => Err(format!("unknown probe distribution `{s}` (expected `gaussian` or `rademacher`)")),
        }
    }
}
