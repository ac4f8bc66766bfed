//! The checks on a configuration before anything is built, each naming its setting.

use super::ExperimentConfig;
use crate::cases;
use crate::error::{positive, Error, Result};

impl ExperimentConfig {
    pub(super) fn validate(&self) -> Result<()> {
        if self.every == 0 {
            return Err(Error::setting("every", "must be at least 1"));
        }
        if !(self.stop_rel >= 0.0 && self.stop_rel < 1.0) {
            return Err(Error::setting("stop_rel", format!("must be in [0, 1), got {}", self.stop_rel)));
        }
        if let Some(grid) = &self.lr_grid {
            if grid.is_empty() {
                return Err(Error::setting("lr_grid", "is empty"));
            }
            for x in grid {
                positive("lr_grid", *x)?;
            }
        }
        cases::check_kappa(self.kappa)?;
        if self.blocks == Some(0) {
            return Err(Error::setting("blocks", "must be at least 1"));
        }
        if self.block_dim == Some(0) {
            return Err(Error::setting("block_dim", "must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return Err(Error::setting("beta1", format!("must be in [0, 1), got {}", self.beta1)));
        }
        if !(self.beta2 > 0.0 && self.beta2 <= 1.0) {
            return Err(Error::setting("beta2", format!("must be in (0, 1], got {}", self.beta2)));
        }
        if let Some(lr) = self.lr {
            positive("lr", lr)?;
        }
        Ok(())
    }
}
