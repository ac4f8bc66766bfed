//! The optimizers of the experiments by name: parsing, their update rule and
//! the step size the theory prescribes for them.

use crate::error::{Error, Result};
use crate::optim::Method;
use crate::problem::Quadratic;

/// An optimizer of the paper's Section 3 experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimizer {
    /// Gradient descent, eta = 2/(mu+L) by default.
    Gd,
    /// Blockwise GD, eta_l = lr / lambda_max(H_l) (lr = 1 by default).
    Bgd,
    /// Adam with beta1 = 0, beta2 from the configuration.
    Adam,
    /// Adam with beta1 = 0, beta2 = 1: D0 = diag|g0| frozen (Theorem 2).
    AdamFrozen,
    /// Heavy ball in EMA form with beta1 from the configuration.
    SgdMomentum,
    /// Adam with beta1 and beta2 from the configuration.
    AdamMomentum,
}

impl Optimizer {
    /// Every optimizer, in the order error messages list them.
    pub const ALL: [Optimizer; 6] = [
        Optimizer::Gd,
        Optimizer::Bgd,
        Optimizer::Adam,
        Optimizer::AdamFrozen,
        Optimizer::SgdMomentum,
        Optimizer::AdamMomentum,
    ];

    /// The optimizers an experiment runs when none are asked for.
    pub const DEFAULT: [Optimizer; 4] = [Optimizer::Gd, Optimizer::Bgd, Optimizer::AdamFrozen, Optimizer::Adam];

    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Gd => "gd",
            Optimizer::Bgd => "bgd",
            Optimizer::Adam => "adam",
            Optimizer::AdamFrozen => "adam-frozen",
            Optimizer::SgdMomentum => "sgd-momentum",
            Optimizer::AdamMomentum => "adam-momentum",
        }
    }

    /// The optimizer called `name`, if any.
    pub fn from_name(name: &str) -> Option<Optimizer> {
        Optimizer::ALL.into_iter().find(|o| o.name() == name)
    }

    pub fn parse(name: &str) -> Result<Optimizer> {
        Optimizer::from_name(name).ok_or_else(|| Error::UnknownOptimizer(name.to_string()))
    }

    /// An Adam variant (a diagonal preconditioner from the squared gradients).
    pub fn is_adam(self) -> bool {
        matches!(self, Optimizer::Adam | Optimizer::AdamFrozen | Optimizer::AdamMomentum)
    }

    /// Its update rule with the configured betas (used only where it has them).
    pub fn method(self, beta1: f64, beta2: f64) -> Method {
        match self {
            Optimizer::Gd => Method::Gd,
            Optimizer::Bgd => Method::Bgd,
            Optimizer::Adam => Method::Adam { beta1: 0.0, beta2 },
            Optimizer::AdamFrozen => Method::Adam { beta1: 0.0, beta2: 1.0 },
            Optimizer::AdamMomentum => Method::Adam { beta1, beta2 },
            Optimizer::SgdMomentum => Method::SgdMomentum { beta1 },
        }
    }

    /// The step its theorem uses on `p`: GD's 2/(mu+L), blockwise GD's
    /// multiplier 1 (eta_l = 1/lambda_max(H_l)), frozen Adam's Theorem 2
    /// step `eta_adam`; None for the optimizers the theory does not cover.
    pub fn theory_step(self, p: &Quadratic, eta_adam: f64) -> Option<f64> {
        match self {
            Optimizer::Gd => Some(gd_step(p.lambda_min(), p.lambda_max())),
            Optimizer::Bgd => Some(1.0),
            Optimizer::AdamFrozen => Some(eta_adam),
            Optimizer::Adam | Optimizer::SgdMomentum | Optimizer::AdamMomentum => None,
        }
    }
}

/// GD's optimal constant step on a quadratic with eigenvalues in [mu, L]: 2/(mu+L).
pub fn gd_step(mu: f64, l: f64) -> f64 {
    2.0 / (mu + l)
}

/// How an experiment picks an optimizer's step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepRequest {
    /// The theory's step, else the configured default step, else tuned.
    Default,
    /// This step.
    Fixed(f64),
    /// Tuned over the learning-rate grid.
    Grid,
}

/// An optimizer with how its step is chosen: `NAME`, `NAME=LR` or `NAME=grid`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerRequest {
    pub optimizer: Optimizer,
    pub step: StepRequest,
}

impl std::str::FromStr for OptimizerRequest {
    type Err = Error;

    fn from_str(spec: &str) -> Result<OptimizerRequest> {
        let (name, value) = match spec.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (spec, None),
        };
        let optimizer = Optimizer::parse(name)?;
        let step =
            match value {
                None => StepRequest::Default,
                Some("grid") => StepRequest::Grid,
                Some(v) => StepRequest::Fixed(v.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0).ok_or_else(
                    || Error::setting("optimizer", format!("{spec}: `{v}` is not a positive step or `grid`")),
                )?),
            };
        Ok(OptimizerRequest { optimizer, step })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for o in Optimizer::ALL {
            assert_eq!(Optimizer::from_name(o.name()), Some(o));
        }
        assert_eq!(Optimizer::from_name("lbfgs"), None);
    }

    #[test]
    fn requests_parse_steps_and_grids() {
        let r: OptimizerRequest = "adam=0.05".parse().unwrap();
        assert_eq!(r, OptimizerRequest { optimizer: Optimizer::Adam, step: StepRequest::Fixed(0.05) });
        let r: OptimizerRequest = "bgd=grid".parse().unwrap();
        assert_eq!(r.step, StepRequest::Grid);
        let r: OptimizerRequest = "sgd-momentum".parse().unwrap();
        assert_eq!(r, OptimizerRequest { optimizer: Optimizer::SgdMomentum, step: StepRequest::Default });
        assert_eq!("nope".parse::<OptimizerRequest>(), Err(Error::UnknownOptimizer("nope".into())));
        let e = "adam=abc".parse::<OptimizerRequest>().unwrap_err();
        assert!(matches!(e, Error::Setting { setting: "optimizer", .. }), "{e:?}");
        assert!(e.to_string().contains("not a positive step"));
        assert!("adam=-1".parse::<OptimizerRequest>().is_err());
    }

    #[test]
    fn unknown_names_list_every_optimizer() {
        assert_eq!(
            Error::UnknownOptimizer("nope".into()).to_string(),
            "unknown optimizer `nope` (expected gd, bgd, adam, adam-frozen, sgd-momentum, adam-momentum)"
        );
    }

    #[test]
    fn theory_steps() {
        let p = Quadratic::new(vec![crate::Block::diagonal("a", &[1.0, 3.0]).unwrap()]).unwrap();
        assert_eq!(Optimizer::Gd.theory_step(&p, 0.25), Some(0.5));
        assert_eq!(Optimizer::Bgd.theory_step(&p, 0.25), Some(1.0));
        assert_eq!(Optimizer::AdamFrozen.theory_step(&p, 0.25), Some(0.25));
        assert_eq!(Optimizer::Adam.theory_step(&p, 0.25), None);
        assert_eq!(Optimizer::AdamFrozen.method(0.9, 0.999), Method::Adam { beta1: 0.0, beta2: 1.0 });
        assert_eq!(Optimizer::AdamMomentum.method(0.9, 0.999), Method::Adam { beta1: 0.9, beta2: 0.999 });
    }
}
