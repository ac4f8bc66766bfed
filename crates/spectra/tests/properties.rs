//! Properties of the Gauss rule of any symmetric tridiagonal.

use proptest::prelude::*;
use spectra::quadrature::{gauss_rule, gershgorin};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn weights_are_a_probability_vector_and_nodes_lie_in_gershgorin_bounds(
        (alpha, beta) in (1usize..40).prop_flat_map(|m| (
            prop::collection::vec(-1e3f64..1e3, m),
            prop::collection::vec(0f64..1e3, m - 1),
        ))
    ) {
        let (nodes, weights) = gauss_rule(&alpha, &beta).unwrap();
        prop_assert_eq!(nodes.len(), alpha.len());
        prop_assert!(weights.iter().all(|w| *w >= 0.0));
        prop_assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let (lo, hi) = gershgorin(&alpha, &beta);
        let tol = 1e-12 * (lo.abs().max(hi.abs()) + 1.0);
        prop_assert!(nodes.iter().all(|x| *x >= lo - tol && *x <= hi + tol));
        prop_assert!(nodes.windows(2).all(|w| w[0] <= w[1]), "ascending");
    }
}
