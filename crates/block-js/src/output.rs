//! The CSV and matrix formats of a model's distances.

use cli::Result;
use records::Uncertainty;

use crate::compare::{Model, ModelResult};

/// A model's distances and mean as CSV rows (with the header when asked).
pub fn csv_rows(result: &ModelResult, header: bool) -> Result<String> {
    let names = ["kind", "model", "a", "b", "metric", "value", "se", "ci90_lo", "ci90_hi"];
    let unc = |u: &Option<Uncertainty>| match u {
        Some(u) => [u.se.to_string(), u.ci90[0].to_string(), u.ci90[1].to_string()],
        None => [String::new(), String::new(), String::new()],
    };
    let mut rows: Vec<[String; 9]> = Vec::with_capacity(result.distances.len() + 1);
    for d in &result.distances {
        let [se, lo, hi] = unc(&d.uncertainty);
        rows.push([
            "distance".into(),
            d.model.clone(),
            d.a.clone(),
            d.b.clone(),
            d.metric.clone(),
            d.value.to_string(),
            se,
            lo,
            hi,
        ]);
    }
    let h = &result.heterogeneity;
    let [se, lo, hi] = unc(&h.uncertainty);
    rows.push([
        "heterogeneity".into(),
        h.model.clone(),
        String::new(),
        String::new(),
        h.metric.clone(),
        h.value.to_string(),
        se,
        lo,
        hi,
    ]);
    cli::csv_text(header.then_some(&names[..]), rows)
}

/// A symmetric distance matrix with block names as row and column headers,
/// whitespace-separated; models separated by two blank lines (gnuplot `index`).
pub fn matrix_text(m: &Model, result: &ModelResult) -> String {
    let n = m.blocks.len();
    // Distances come in pair order (0,1), (0,2), ..., (1,2), ...
    let mut d = vec![vec![0.0; n]; n];
    let pairs = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)));
    for ((i, j), dist) in pairs.zip(&result.distances) {
        d[i][j] = dist.value;
        d[j][i] = dist.value;
    }
    let mut s =
        format!("# model {} metric {} mean {}\n", m.name, result.heterogeneity.metric, result.heterogeneity.value);
    s.push_str("block");
    for b in &m.blocks {
        s.push(' ');
        s.push_str(&b.block.replace(char::is_whitespace, "_"));
    }
    s.push('\n');
    for (i, b) in m.blocks.iter().enumerate() {
        s.push_str(&b.block.replace(char::is_whitespace, "_"));
        for v in &d[i] {
            s.push(' ');
            s.push_str(&v.to_string());
        }
        s.push('\n');
    }
    s.push_str("\n\n");
    s
}
