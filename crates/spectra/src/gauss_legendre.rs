//! Gauss-Legendre nodes on [-1, 1], computed once by Newton's method on the
//! Legendre polynomial (accurate to rounding).

use std::sync::OnceLock;

pub const ORDER: usize = 8;

pub fn rule() -> &'static ([f64; ORDER], [f64; ORDER]) {
    static RULE: OnceLock<([f64; ORDER], [f64; ORDER])> = OnceLock::new();
    RULE.get_or_init(|| {
        let n = ORDER;
        let mut x = [0.0; ORDER];
        let mut w = [0.0; ORDER];
        for i in 0..n {
            let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                // Legendre recurrence for P_n(z) and P_{n-1}(z).
                let (mut p0, mut p1) = (1.0, z);
                for k in 2..=n {
                    let p2 = ((2 * k - 1) as f64 * z * p1 - (k - 1) as f64 * p0) / k as f64;
                    p0 = p1;
                    p1 = p2;
                }
                dp = n as f64 * (z * p1 - p0) / (z * z - 1.0);
                let dz = p1 / dp;
                z -= dz;
                if dz.abs() < 1e-16 {
                    break;
                }
            }
            x[i] = z;
            w[i] = 2.0 / ((1.0 - z * z) * dp * dp);
        }
        (x, w)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn integrates_degree_15_polynomials_exactly() {
        let (x, w) = super::rule();
        for k in 0..16 {
            let approx: f64 = x.iter().zip(w).map(|(x, w)| w * x.powi(k)).sum();
            let exact = if k % 2 == 1 { 0.0 } else { 2.0 / (k as f64 + 1.0) };
            assert!((approx - exact).abs() < 1e-14, "k={k}: {approx} vs {exact}");
        }
    }
}
