//! Divergences against closed forms and an independent numerical integral.

use spectra::divergence::{distance, js_divergence, skl_floored, Metric};
use spectra::mixture::Mixture;

const LN2: f64 = std::f64::consts::LN_2;

fn gauss(mu: f64, sigma: f64) -> Mixture {
    Mixture::new(&[mu], &[1.0], sigma)
}

#[test]
fn identical_densities_are_at_distance_zero() {
    let p = Mixture::new(&[0.0, 1.0, 50.0], &[0.2, 0.5, 0.3], 0.01);
    assert!(js_divergence(&p, &p.clone()) < 1e-15);
    assert!(skl_floored(&p, &p.clone(), 1e-30) < 1e-15);
}

#[test]
fn disjoint_supports_give_the_js_bound() {
    let p = Mixture::new(&[0.0, 0.1], &[0.5, 0.5], 1e-3);
    let q = Mixture::new(&[5.0], &[1.0], 1e-3);
    let d = distance(&p, &q, Metric::Js { base2: false });
    assert!((d - LN2.sqrt()).abs() < 1e-12, "{d}");
    let d2 = distance(&p, &q, Metric::Js { base2: true });
    assert!((d2 - 1.0).abs() < 1e-12, "{d2}");
}

#[test]
fn js_is_symmetric() {
    let p = Mixture::new(&[0.0, 0.3, 2.0], &[0.3, 0.3, 0.4], 0.2);
    let q = Mixture::new(&[0.1, 1.0], &[0.5, 0.5], 0.05);
    let a = js_divergence(&p, &q);
    let b = js_divergence(&q, &p);
    assert!((a - b).abs() < 1e-14, "{a} vs {b}");
}

/// Composite Simpson on a uniform grid over [-20, 20]: an independent route.
fn simpson_js(p: &dyn Fn(f64) -> f64, q: &dyn Fn(f64) -> f64) -> f64 {
    let n = 400_000;
    let (a, b) = (-20.0, 20.0);
    let h = (b - a) / n as f64;
    let f = |x: f64| {
        let (pv, qv) = (p(x), q(x));
        let m = 0.5 * (pv + qv);
        let t = |u: f64| if u > 0.0 { u * (u / m).ln() } else { 0.0 };
        if m > 0.0 {
            0.5 * (t(pv) + t(qv))
        } else {
            0.0
        }
    };
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

#[test]
fn js_of_two_gaussians_matches_direct_integration() {
    let pdf = |mu: f64, s: f64| {
        move |x: f64| (-(x - mu) * (x - mu) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
    };
    for (mu2, s1, s2) in [(1.0, 1.0, 0.5), (0.3, 0.7, 0.7), (4.0, 1.0, 2.0)] {
        let exact = simpson_js(&pdf(0.0, s1), &pdf(mu2, s2));
        let got = js_divergence(&gauss(0.0, s1), &gauss(mu2, s2));
        assert!((got - exact).abs() < 1e-6, "mu2={mu2}: {got} vs {exact}");
    }
}

#[test]
fn mass_orders_of_magnitude_apart_is_not_missed() {
    // p: half its mass at 0, half at 1e4; q: all at 0. sigma = 1e-3.
    // A uniform grid of 1000 points over [0, 1e4] steps 10 over each peak
    // of width 0.001 and would see nothing. Closed form of the divergence:
    // where both live, p = g/2 and q = g; at 1e4 only p = g/2 lives.
    let p = Mixture::new(&[0.0, 1e4], &[0.5, 0.5], 1e-3);
    let q = Mixture::new(&[0.0], &[1.0], 1e-3);
    let exact = 0.25 * (2.0f64 / 3.0).ln() + 0.5 * (4.0f64 / 3.0).ln() + 0.25 * LN2;
    let got = js_divergence(&p, &q);
    assert!((got - exact).abs() < 1e-10, "{got} vs {exact}");
}

#[test]
fn floored_skl_matches_the_gaussian_closed_form_and_stays_finite() {
    // KL(N(a,s^2)||N(b,s^2)) = (a-b)^2 / (2 s^2), so the symmetric sum is (a-b)^2/s^2.
    let got = skl_floored(&gauss(0.0, 0.5), &gauss(1.0, 0.5), 1e-300);
    assert!((got - 4.0).abs() < 1e-6, "{got}");
    // Disjoint supports: finite, about 2 ln(1/floor) plus entropy terms.
    let far = skl_floored(&gauss(0.0, 1e-3), &gauss(1e6, 1e-3), 1e-30);
    assert!(far.is_finite() && far > 2.0 * 1e30f64.ln(), "{far}");
}

#[test]
fn no_nan_when_densities_underflow() {
    // sigma so small that exp underflows between nodes; the JS must stay in range.
    let p = Mixture::new(&[0.0, 1e-12, 1.0], &[0.3, 0.3, 0.4], 1e-9);
    let q = Mixture::new(&[0.5, 1.0 + 1e-9], &[0.5, 0.5], 1e-7);
    for metric in [Metric::Js { base2: false }, Metric::SklFloored { floor: 1e-30 }] {
        let d = distance(&p, &q, metric);
        assert!(d.is_finite() && d >= 0.0, "{metric:?}: {d}");
    }
}
