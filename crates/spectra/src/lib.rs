//! Stochastic Lanczos quadrature from tridiagonals to densities, and
//! divergences between the densities of parameter blocks.
//!
//! * [`quadrature`]: nodes and weights of the Gauss rule of a tridiagonal.
//! * [`density`]: pooling probes into a [`records::Density`] (sigma
//!   conventions, axis, grid).
//! * [`mixture`]: a density as a weighted sum of Gaussians, evaluated exactly.
//! * [`divergence`]: Jensen-Shannon distance and the floored symmetric KL,
//!   integrated where the mass is.
//! * [`bootstrap`]: standard errors by resampling probes.
//! * [`stats`]: quantiles and medians of samples.
//!
//! Errors are [`Error`], the crate's one error type.

// `!(x > 0.0)` is deliberate throughout: it is also true for NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod bootstrap;
pub mod density;
pub mod divergence;
pub mod error;
mod gauss_legendre;
pub mod mixture;
pub mod quadrature;
pub mod stats;

pub use error::{Error, Result};
