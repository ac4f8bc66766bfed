//! Spearman's rho and Kendall's tau-b against scipy.stats on random paired
//! samples with and without ties (testdata/rank-scipy.json; the script that
//! wrote it, and its command, are in scripts/study/rank_fixture.py).

use predictors::rank::{kendall_tau_b, spearman};
use serde_json::Value;

#[test]
fn rank_correlations_equal_scipy() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/rank-scipy.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    let floats = |v: &Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
    let mut with_ties = 0;
    for (i, c) in cases.iter().enumerate() {
        let (x, y) = (floats(&c["x"]), floats(&c["y"]));
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        with_ties += usize::from(sorted.windows(2).any(|w| w[0] == w[1]));
        let (rho, tau) = (spearman(&x, &y), kendall_tau_b(&x, &y));
        let (want_rho, want_tau) = (c["spearman"].as_f64().unwrap(), c["kendall_tau_b"].as_f64().unwrap());
        assert!((rho - want_rho).abs() < 1e-12, "case {i}: rho {rho} against scipy's {want_rho}");
        assert!((tau - want_tau).abs() < 1e-12, "case {i}: tau {tau} against scipy's {want_tau}");
    }
    assert!(with_ties >= 4, "the fixture exercises ties ({with_ties} cases)");
}
